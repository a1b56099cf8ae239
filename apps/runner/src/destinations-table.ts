import {
  markdownCell,
  markdownTable,
  withGeneratedSection,
  type AnyDestinationPlugin,
  type Capabilities,
  type EventKind,
} from '@ferry/core';

export const DESTINATIONS_TABLE_START =
  "<!-- destinations-table:start (generated from each plugin's capabilities: npm run docs:destinations) -->";
export const DESTINATIONS_TABLE_END = '<!-- destinations-table:end -->';

const UNDESCRIBED = 'not described (`capabilities.summary`)';

/**
 * The README's destinations table, one row per registered plugin, from its declared capabilities: what the
 * fields say (negative revenue, transfers, the sandbox policy, optional kinds) and the plugin's own `summary`
 * for what they cannot (currency, attributes, identity). A new plugin's row appears by registering it.
 */
export function destinationsTable(plugins: readonly AnyDestinationPlugin[]): string {
  const rows = plugins.map(({ id, capabilities }) => {
    const { summary } = capabilities;
    return [
      `[\`${id}\`](libs/destinations/${id}/README.md)`,
      summary?.revenue ?? UNDESCRIBED,
      capabilities.negativeRevenue ? 'sent negative' : 'sent as 0',
      sandboxCell(capabilities),
      summary?.attributes ?? UNDESCRIBED,
      capabilities.transfers ? 'sent' : 'not sent',
      optionalKinds(capabilities) || 'none',
      summary?.identity ?? UNDESCRIBED,
    ].map((cell) => markdownCell(cell));
  });
  return markdownTable(['plugin', 'revenue', 'negative revenue', 'sandbox', 'attributes', 'transfers', 'optional kinds', 'identity'], rows);
}

function sandboxCell({ sandbox, summary }: Capabilities): string {
  if (sandbox === 'drop') return 'not sent';
  if (sandbox === 'forward') return 'sent like production';
  return summary?.sandbox ?? 'separate credentials';
}

function optionalKinds({ kinds }: Capabilities): string {
  return Object.entries(kinds)
    .filter(([, support]) => support?.optional)
    .map(([kind]) => kind as EventKind)
    .join(', ');
}

/** `readme` with its destinations table replaced by `table`; an error when the markers are missing. */
export function withDestinationsTable(readme: string, table: string): string {
  return withGeneratedSection(readme, DESTINATIONS_TABLE_START, DESTINATIONS_TABLE_END, table);
}

import { z } from 'zod';
import { portOf, type AdminDeps } from './deps';
import { routeFor, type Answer } from './route';

/** Sources: each configured source, where its webhooks arrive, and what became of them. */

const count = z.number().int().nonnegative();

export const sourceView = z
  .object({
    id: z.string().describe('Its id in the config: the `source` of its events.'),
    plugin: z.string().describe('The source plugin that reads its webhooks.'),
    webhookPath: z.string().describe('Where it takes webhooks on the runner: `POST` this path.'),
    counts: z.object({
      stored: count.describe('Events it received that the store holds (by every runner, until retention or erasure removes them).'),
      duplicate: count
        .nullable()
        .describe('Webhooks this runner answered `duplicate` since it started; null where no webhooks are taken (the command line).'),
      rejected: count
        .nullable()
        .describe('Webhooks this runner refused (credentials, body) since it started; null where no webhooks are taken.'),
    }),
  })
  .meta({ id: 'SourceView', description: 'A configured source: its webhook path and the webhooks it took.' });

export type SourceView = Answer<typeof sourceView>;

/** Where a source instance takes webhooks (SPEC §13). */
export const webhookPath = (sourceId: string) => `/webhooks/${encodeURIComponent(sourceId)}`;

export class SourceAdmin {
  constructor(private readonly deps: AdminDeps) {}

  async list(): Promise<SourceView[]> {
    const stored = new Map((await portOf(this.deps, 'log').countBySource()).map((row) => [row.source, row.count]));
    const webhooks = this.deps.webhookCounts?.();
    return (this.deps.sources ?? []).map((source) => ({
      id: source.id,
      plugin: source.plugin.id,
      webhookPath: webhookPath(source.id),
      counts: {
        stored: stored.get(source.id) ?? 0,
        duplicate: webhooks ? (webhooks.get(source.id)?.duplicate ?? 0) : null,
        rejected: webhooks ? (webhooks.get(source.id)?.rejected ?? 0) : null,
      },
    }));
  }
}

const route = routeFor<SourceAdmin>();

export const listSources = route({
  id: 'listSources',
  method: 'GET',
  path: '/sources',
  summary: 'Each configured source: its plugin, its webhook path, and its webhooks stored, duplicate and rejected',
  response: z.object({ sources: z.array(sourceView) }),
  handle: async (sources) => ({ sources: await sources.list() }),
});

export const SOURCE_ROUTES = [listSources];

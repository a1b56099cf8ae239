import { readFileSync } from 'node:fs';
import path from 'node:path';
import { clevertapPlugin } from '@ferry/clevertap';
import { sourcePlugins } from './plugins';
import { ConfigError, configJsonSchema, parseConfig, type ConfigPlugins } from './config';

/**
 * Every number an operator sets has a lowest and a highest value, stated in the README and named by the
 * error: an extreme value must not pass (a 1e12 ms request timeout would switch the slowloris guard off).
 */
const plugins: ConfigPlugins = { destinations: [clevertapPlugin], sources: sourcePlugins };
const README = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

type Bounds = { lowest: number; highest: number };

/** The parts of a JSON Schema node walked here. */
interface SchemaNode {
  readonly anyOf?: readonly { type?: string; minimum?: number; exclusiveMinimum?: number; maximum?: number }[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly items?: SchemaNode;
  readonly oneOf?: readonly SchemaNode[];
}

/** Every number in the config's JSON Schema, by its README key (`destinations[].timeoutMs`), with its bounds. */
function schemaNumbers(): Map<string, Partial<Bounds>> {
  const found = new Map<string, Partial<Bounds>>();
  const visit = (node: SchemaNode, key: string): void => {
    const number = node.anyOf?.find((option) => option.type === 'integer' || option.type === 'number');
    if (number) found.set(key, { lowest: number.minimum ?? number.exclusiveMinimum, highest: number.maximum });
    for (const [name, child] of Object.entries(node.properties ?? {})) visit(child, key ? `${key}.${name}` : name);
    if (node.items) visit(node.items, `${key}[]`);
    for (const option of node.oneOf ?? []) visit(option, key);
  };
  visit(configJsonSchema(plugins) as SchemaNode, '');
  return found;
}

/** The README's configuration table's numeric ranges: `| \`key\` | default | lowest – highest | …`. */
function documentedBounds(): Map<string, Bounds> {
  const start = README.indexOf('| key | default | allowed |');
  expect(start).toBeGreaterThan(-1);
  const rows = README.slice(start)
    .split('\n\n')[0]
    .split('\n')
    .map((line) => /^\| `([A-Za-z.[\]]+)` \| [^|]* \| ([\d.]+) – ([\d.]+) \|/.exec(line))
    .filter((row): row is RegExpExecArray => row !== null);
  return new Map(rows.map((row) => [row[1], { lowest: Number(row[2]), highest: Number(row[3]) }]));
}

/** A config setting `key` to `value`; a destination key goes on the one CleverTap destination. */
function configWith(key: string, value: number): Record<string, unknown> {
  const [section, ...rest] = key.split('.');
  if (section === 'destinations[]') {
    return { destinations: [{ id: 'ct', plugin: 'clevertap', settings: { accountId: 'ACC', passcode: 'k3J9x-2qLm' }, [rest[0]]: value }] };
  }
  return { [section]: { [rest[0]]: value } };
}

/** The messages of the problems at `key` (destinations at index 0). */
function problemsAt(key: string, value: number): string[] {
  try {
    parseConfig(configWith(key, value), plugins, {});
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const at = key.replace('[]', '[0]');
    return error.issues.filter((issue) => issue.path === at).map((issue) => issue.message);
  }
}

const documented = [...documentedBounds()];

describe('the bounds of every number in the config', () => {
  it('are in the schema for every numeric key, and the README lists exactly those', () => {
    const inSchema = schemaNumbers();
    for (const [key, bounds] of inSchema) {
      expect({ key, hasLowest: bounds.lowest !== undefined, hasHighest: bounds.highest !== undefined }).toEqual({
        key,
        hasLowest: true,
        hasHighest: true,
      });
    }
    // The plugin's concurrency limit is in the schema; the README gives it per plugin (config-table.spec.ts).
    const expected = Object.fromEntries([...inSchema].filter(([key]) => key !== 'destinations[].concurrency'));
    expect(Object.fromEntries(documented)).toEqual(expected);
  });

  it.each(documented)('%s: refuses a value below its lowest or above its highest, naming the bound', (key, { lowest, highest }) => {
    const step = Number.isInteger(lowest) && Number.isInteger(highest) ? 1 : lowest / 2;
    expect(problemsAt(key, lowest - step)).toEqual([`must be at least ${lowest}`]);
    expect(problemsAt(key, highest + step)).toEqual([`must be at most ${highest}`]);
    for (const value of [lowest, highest]) {
      expect({ value, problems: problemsAt(key, value).filter((message) => /must be at (least|most) /.test(message)) }).toEqual({
        value,
        problems: [],
      });
    }
  });

  it('refuses the 1e12 ms request timeout that would switch the slowloris guard off', () => {
    expect(problemsAt('server.requestTimeoutMs', 1e12)).toEqual(['must be at most 300000']);
  });
});

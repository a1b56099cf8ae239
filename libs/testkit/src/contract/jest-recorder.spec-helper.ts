// A contract suite registers Jest blocks; its specs record what it registers with stand-in globals, then run
// the recording, so the wiring (skips, report, network guard) is seen from outside.

export type Hook = () => unknown;
export interface Block {
  readonly title: string;
  readonly blocks: Block[];
  readonly tests: { title: string; fn: Hook; skipped: boolean }[];
  readonly hooks: Record<'beforeAll' | 'afterAll' | 'beforeEach' | 'afterEach', Hook[]>;
}

const newBlock = (title: string): Block => ({
  title,
  blocks: [],
  tests: [],
  hooks: { beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] },
});
const JEST_GLOBALS = ['describe', 'it', 'beforeAll', 'afterAll', 'beforeEach', 'afterEach'] as const;

export function record(register: () => void): Block {
  const root = newBlock('(root)');
  let current = root;
  const globals = globalThis as unknown as Record<string, unknown>;
  const saved = JEST_GLOBALS.map((name) => globals[name]);
  const it = (title: string, fn: Hook) => void current.tests.push({ title, fn, skipped: false });
  it.skip = (title: string, fn: Hook) => void current.tests.push({ title, fn, skipped: true });
  Object.assign(globals, {
    describe(title: string, body: () => void) {
      const parent = current;
      current = newBlock(title);
      parent.blocks.push(current);
      body();
      current = parent;
    },
    it,
    ...Object.fromEntries(
      (['beforeAll', 'afterAll', 'beforeEach', 'afterEach'] as const).map((hook) => [hook, (fn: Hook) => current.hooks[hook].push(fn)]),
    ),
  });
  try {
    register();
  } finally {
    JEST_GLOBALS.forEach((name, index) => (globals[name] = saved[index]));
  }
  return root;
}

export interface Result {
  readonly title: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly error?: string;
}

/** Runs a recording the way Jest would: hooks around every test, a failing afterEach fails its test. */
export function run(block: Block, eachHooks: { before: Hook[]; after: Hook[] } = { before: [], after: [] }, path = ''): Result[] {
  const results: Result[] = [];
  const before = [...eachHooks.before, ...block.hooks.beforeEach];
  const after = [...block.hooks.afterEach, ...eachHooks.after];
  block.hooks.beforeAll.forEach((hook) => hook());
  for (const test of block.tests) {
    const title = `${path}${test.title}`;
    if (test.skipped) {
      results.push({ title, status: 'skipped' });
      continue;
    }
    let error: string | undefined;
    for (const step of [...before, test.fn, ...after]) {
      try {
        step();
      } catch (thrown) {
        error ??= thrown instanceof Error ? thrown.message : String(thrown);
      }
    }
    results.push({ title, status: error === undefined ? 'passed' : 'failed', error });
  }
  for (const inner of block.blocks) results.push(...run(inner, { before, after }, `${path}${inner.title} › `));
  block.hooks.afterAll.forEach((hook) => hook());
  return results;
}

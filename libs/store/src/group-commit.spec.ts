import { GroupCommit } from './group-commit';

/** A commit function that records each group and finishes only when the test says so. */
function controlledCommit() {
  const groups: string[][] = [];
  const finishers: (() => void)[] = [];
  const commit = async (items: readonly string[]) => {
    groups.push([...items]);
    if (items.includes('bad')) throw new Error('bad item');
    await new Promise<void>((resolve) => finishers.push(resolve));
    return items.map((item) => `${item}:ok`);
  };
  /** Resolves once a commit is in flight, waiting to be finished. */
  const inFlight = async () => {
    while (finishers.length === 0) await new Promise((resolve) => setImmediate(resolve));
  };
  /** Lets the oldest commit in flight finish. */
  const finishNext = async () => {
    await inFlight();
    finishers.shift()!();
  };
  return { groups, commit, inFlight, finishNext };
}

const reachable = async () => true;

describe('GroupCommit', () => {
  it('commits the calls of one turn together, and calls arriving during a commit in the next', async () => {
    const { groups, commit, inFlight, finishNext } = controlledCommit();
    const group = new GroupCommit(commit, 100, reachable, 1_000);
    const first = [group.submit('a'), group.submit('b')];
    await inFlight();
    const second = [group.submit('c'), group.submit('d')];
    await finishNext();
    await finishNext();
    await expect(Promise.all(first)).resolves.toEqual(['a:ok', 'b:ok']);
    await expect(Promise.all(second)).resolves.toEqual(['c:ok', 'd:ok']);
    expect(groups).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('keeps groups within the size limit', async () => {
    const { groups, commit, finishNext } = controlledCommit();
    const group = new GroupCommit(commit, 2, reachable, 1_000);
    const results = Promise.all(['a', 'b', 'c'].map((item) => group.submit(item)));
    await finishNext();
    await finishNext();
    await expect(results).resolves.toEqual(['a:ok', 'b:ok', 'c:ok']);
    expect(groups).toEqual([['a', 'b'], ['c']]);
  });

  it('retries a failed group one item at a time, so only the bad item fails', async () => {
    const { groups, commit, finishNext } = controlledCommit();
    const group = new GroupCommit(commit, 100, reachable, 1_000);
    const results = Promise.allSettled(['a', 'bad', 'c'].map((item) => group.submit(item)));
    await finishNext();
    await finishNext();
    expect(await results).toEqual([
      { status: 'fulfilled', value: 'a:ok' },
      { status: 'rejected', reason: new Error('bad item') },
      { status: 'fulfilled', value: 'c:ok' },
    ]);
    expect(groups).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('fails every item at once, without retrying each, when the database is unreachable', async () => {
    const { groups, commit } = controlledCommit();
    const group = new GroupCommit(commit, 100, async () => false, 1_000);
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((item) => group.submit(item)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(groups).toEqual([['a', 'bad', 'c']]);
  });

  it('never strands a call made while the previous commit is settling', async () => {
    const group = new GroupCommit(async (items: readonly number[]) => items.map((n) => n * 2), 100, reachable, 1_000);
    // The window between a drain's last look at the queue and its end is a few microtasks wide: probe each.
    for (let ticks = 0; ticks < 10; ticks++) {
      await group.submit(1);
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      expect(await group.submit(ticks)).toBe(ticks * 2);
    }
  });

  it('settles what was submitted before close, and refuses what comes after', async () => {
    const { commit, finishNext } = controlledCommit();
    const group = new GroupCommit(commit, 100, reachable, 1_000);
    const submitted = group.submit('a');
    const closed = group.close();
    await finishNext();
    await closed;
    await expect(submitted).resolves.toBe('a:ok');
    await expect(group.submit('b')).rejects.toThrow('store is closed');
  });

  it('refuses items beyond the waiting bound while a commit is in flight, and takes them again once it finishes', async () => {
    const { groups, commit, inFlight, finishNext } = controlledCommit();
    const group = new GroupCommit(commit, 100, reachable, 2);
    const first = group.submit('a');
    await inFlight();
    const waiting = [group.submit('b'), group.submit('c')];
    await expect(group.submit('d')).rejects.toThrow('store busy: 2 items already wait for a commit');
    await finishNext();
    await expect(first).resolves.toBe('a:ok');
    await inFlight();
    const later = group.submit('e');
    await finishNext();
    await finishNext();
    await expect(Promise.all([...waiting, later])).resolves.toEqual(['b:ok', 'c:ok', 'e:ok']);
    expect(groups).toEqual([['a'], ['b', 'c'], ['e']]);
  });
});

import { EventEmitter } from 'node:events';
import { request } from 'undici';
import { FAKE_CLEVERTAP_USAGE, parseFakeCleverTapArgs, runFakeCleverTapCli } from './cli';
import { startFakeCleverTap } from './server';

const PASSCODE = 'cli-secret-passcode-42';

/** Captures output lines; `line(pattern)` resolves with the first line (past or future) that matches. */
function capture() {
  const lines: string[] = [];
  const waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const push = (line: string) => {
    lines.push(line);
    for (const waiter of waiting.filter((w) => w.pattern.test(line))) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  };
  const line = (pattern: RegExp) =>
    new Promise<string>((resolve) => {
      const seen = lines.find((l) => pattern.test(l));
      if (seen) resolve(seen);
      else waiting.push({ pattern, resolve });
    });
  return { lines, line, output: { out: push, err: push } };
}

describe('parseFakeCleverTapArgs', () => {
  it('reads every flag, gathering several passcodes per account', () => {
    const args = [
      '--port',
      '0',
      '--account',
      'A:p1',
      '--account',
      'A:p2:with-colon',
      '--account=B:p3',
      '--latency-ms',
      '50',
      '--max-concurrent',
      '3',
    ];
    expect(parseFakeCleverTapArgs(args)).toEqual({
      kind: 'run',
      options: { port: 0, accounts: { A: ['p1', 'p2:with-colon'], B: ['p3'] }, latencyMs: 50, maxConcurrent: 3 },
    });
  });

  it('listens on 9999 unless told otherwise', () => {
    expect(parseFakeCleverTapArgs(['--account', 'A:p'])).toMatchObject({ kind: 'run', options: { port: 9999 } });
  });

  it.each([
    [['--account', 'A:p', '--port', 'abc'], '--port'],
    [['--account', 'A:p', '--port', '70000'], '--port'],
    [['--account', 'A:p', '--port'], '--port'],
    [['--account', 'A:p', '--latency-ms', '1.5'], '--latency-ms'],
    [['--account', 'A:p', '--max-concurrent', '0'], '--max-concurrent'],
    [['--account', 'A:p', '--bogus'], '--bogus'],
    [[], '--account'],
    [['--account', `A${PASSCODE}`], '--account'],
    [['--account', `:${PASSCODE}`], '--account'],
    [['--account', 'A:'], '--account'],
    [['--acount', `A:${PASSCODE}`], '--acount'],
    [['--account', 'A', PASSCODE], 'argument'],
  ])('refuses %j naming %s, without repeating a passcode', (argv, flag) => {
    const result = parseFakeCleverTapArgs(argv);
    expect(result).toEqual({ kind: 'error', message: expect.stringContaining(flag) });
    expect(JSON.stringify(result)).not.toContain(PASSCODE);
  });
});

describe('runFakeCleverTapCli', () => {
  it('exits 2 with the flag and the usage on bad flags', async () => {
    const { lines, output } = capture();
    expect(await runFakeCleverTapCli(['--port', 'x', '--account', 'A:p'], output, new EventEmitter())).toBe(2);
    expect(lines).toEqual([expect.stringMatching(/^fake-clevertap: --port/), FAKE_CLEVERTAP_USAGE]);
  });

  it('prints the usage for --help and exits 0', async () => {
    const { lines, output } = capture();
    expect(await runFakeCleverTapCli(['--help'], output, new EventEmitter())).toBe(0);
    expect(lines).toEqual([FAKE_CLEVERTAP_USAGE]);
  });

  it('exits 1 when it cannot listen', async () => {
    const taken = await startFakeCleverTap();
    try {
      const { lines, output } = capture();
      const signals = new EventEmitter();
      const port = new URL(taken.url).port;
      expect(await runFakeCleverTapCli(['--port', port, '--account', 'A:p'], output, signals)).toBe(1);
      expect(lines).toEqual([expect.stringMatching(/^fake-clevertap: cannot start: .*EADDRINUSE/)]);
      expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0);
    } finally {
      await taken.close();
    }
  });

  it.each(['SIGINT', 'SIGTERM'])('prints its URL, logs each request without the passcode, and stops on %s', async (signal) => {
    const { lines, line, output } = capture();
    const signals = new EventEmitter();
    const exit = runFakeCleverTapCli(['--port', '0', '--account', `ACC-1:${PASSCODE}`], output, signals);
    const url = (await line(/listening on/)).replace(/^.*listening on /, '');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const res = await request(`${url}/1/upload`, {
      method: 'POST',
      headers: { 'x-clevertap-account-id': 'ACC-1', 'x-clevertap-passcode': PASSCODE, 'content-type': 'application/json' },
      body: JSON.stringify({ d: [{ type: 'event', evtName: 'rc_renewal_event', identity: 'u1', evtData: {} }] }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(await line(/POST \/1\/upload/)).toMatch(/^\S+Z POST \/1\/upload account=ACC-1 records=1 → 200$/);

    signals.emit(signal);
    expect(await exit).toBe(0);
    expect(lines.at(-1)).toBe(`fake CleverTap stopped (${signal})`);
    expect(lines.join('\n')).not.toContain(PASSCODE);
    expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0);
    await expect(request(`${url}/1/upload`, { method: 'POST' })).rejects.toThrow();
  });
});

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLogger, formatLogLine, prettyLogStream } from './logging';
import { captureLogs, tempDir, testConfig, waitFor, type TempDir } from './testing/harness';
import { Child, MAIN } from './testing/processes';

describe('readable logs', () => {
  it('show time, level and message first and keep every other field', () => {
    const record = {
      level: 50,
      time: '2025-03-01T12:00:00.000Z',
      service: 'ferry',
      msg: 'delivery failed',
      destinationId: 'clevertap-main',
      attempt: 3,
      retrying: true,
      nothing: null,
      error: 'connect ECONNREFUSED 127.0.0.1:9',
      detail: { status: 503, body: 'busy' },
    };
    expect(formatLogLine(JSON.stringify(record))).toBe(
      '2025-03-01T12:00:00.000Z ERROR delivery failed  service=ferry destinationId=clevertap-main attempt=3 retrying=true ' +
        'nothing=null error="connect ECONNREFUSED 127.0.0.1:9" detail={"status":503,"body":"busy"}',
    );
  });

  it('pass through what is not a JSON object, and show an unknown level as it is', () => {
    expect(formatLogLine('plain text')).toBe('plain text');
    expect(formatLogLine('[1,2]')).toBe('[1,2]');
    expect(formatLogLine('{"level":35,"msg":"custom"}')).toBe('35    custom');
  });

  it('come out of the logger with secrets still redacted', () => {
    const logs = captureLogs();
    const logger = createLogger({ level: 'info', secrets: ['passcode-0123456789'], stream: prettyLogStream(logs.stream) });
    logger.info({ destinationId: 'd1', note: 'sent with passcode-0123456789' }, 'sent');
    const text = logs.text();
    expect(text).toMatch(/^\S+ INFO  sent {2}service=ferry destinationId=d1 note="sent with \[redacted\]"\n$/);
    expect(text).not.toContain('passcode-0123456789');
  });
});

describe('the runner process logs', () => {
  let dir: TempDir;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => dir.remove());

  const runUntilListening = async (...flags: string[]) => {
    const config = path.join(dir.path, 'ferry.config.json');
    await writeFile(config, JSON.stringify(testConfig(dir.path)));
    const child = new Child(MAIN, ['--config', config, ...flags], dir.path);
    await waitFor('the runner to say it listens', () => child.stdout.includes('ferry runner listening'));
    child.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    return child.stdout.split('\n').filter(Boolean);
  };

  it('as JSON lines when stdout is not a terminal', async () => {
    const lines = await runUntilListening();
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('as readable lines with --pretty, every field kept', async () => {
    const lines = await runUntilListening('--pretty');
    const listening = lines.find((line) => line.includes('ferry runner listening'));
    expect(listening).toMatch(
      /^\S+ INFO  ferry runner listening on http:\/\/127\.0\.0\.1:\d+ {2}service=ferry url=http:\/\/127\.0\.0\.1:\d+ /,
    );
    expect(listening).toContain('store=sqlite');
    for (const line of lines) expect(line.startsWith('{')).toBe(false);
  });

  it('refuses --pretty with --json', async () => {
    const child = new Child(MAIN, ['--pretty', '--json'], dir.path);
    expect((await child.exited).code).toBe(2);
    expect(child.stderr).toContain('--pretty and --json exclude each other');
  });
});

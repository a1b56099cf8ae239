import { TOKENS, type AnyDestinationPlugin, type Clock } from '@ferry/core';
import { clevertapPlugin } from '@ferry/clevertap';
import { webhookBody } from '@ferry/testkit';
import { ConfigError, type RunnerConfig } from './config';
import { createRunnerContainer } from './container';
import { closeHttp, startTestRunner, tempDir, testConfig, type TempDir } from './testing/harness';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());
afterAll(() => closeHttp());

describe('the runner container', () => {
  it('offers every plugin module by multi-injection, and names them for an unknown plugin', () => {
    const container = createRunnerContainer({ destinations: [{ id: 'a', plugin: 'mixpanel' }] }, {});
    expect(() => container.get<RunnerConfig>(TOKENS.Config)).toThrow(
      new ConfigError([{ path: 'destinations[0].plugin', message: 'unknown plugin "mixpanel"; known plugins: clevertap, amplitude' }]),
    );
  });

  it('takes a plugin bound beside the offered ones', () => {
    const acme: AnyDestinationPlugin = { ...clevertapPlugin, id: 'acme', displayName: 'Acme' };
    const container = createRunnerContainer({ destinations: [{ id: 'a', plugin: 'acme', settings: { accountId: 'ACC' } }] }, {});
    container.bind<AnyDestinationPlugin>(TOKENS.DestinationPlugin).toConstantValue(acme);
    expect(container.get<RunnerConfig>(TOKENS.Config).destinations[0].plugin).toBe(acme);
  });

  it('runs on the services bound in it: a rebound clock stamps what the runner stores', async () => {
    const fixedClock: Clock = { now: () => Date.UTC(2031, 0, 2) };
    const t = await startTestRunner(testConfig(dir.path), {
      configure: (container) => container.rebind<Clock>(TOKENS.Clock).toConstantValue(fixedClock),
    });
    try {
      const answer = await t.postWebhook(webhookBody('renewal'));
      expect(answer.status).toBe(200);
      expect((await t.runner.store.getEvent(answer.json.id))?.receivedAtMs).toBe(Date.UTC(2031, 0, 2));
    } finally {
      await t.runner.close();
    }
  });
});

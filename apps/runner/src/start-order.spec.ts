import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TOKENS, token, type Transport } from '@ferry/core';
import { composeStore, UndiciTransport } from '@ferry/engine';
import { openStore } from '@ferry/store';
import { RUNNER_TOKENS } from './container';
import { createRunner } from './runner';
import { ServiceContainer } from './service-container';
import { START_ORDER, startInOrder, type StartStep } from './start-order';
import { storeLockFor } from './store-lock';
import { captureLogs, closeHttp, tempDir, testConfig, type TempDir } from './testing/harness';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());
afterAll(() => closeHttp());

describe('the start order', () => {
  it('stops retention, dispatcher, alerts, server, store, transport, then the lock: the reverse of how they start', () => {
    expect(START_ORDER.map((step) => step.name).reverse()).toEqual([
      'retention',
      'dispatcher',
      'alerts',
      'server',
      'store',
      'transport',
      'store lock',
    ]);
  });
});

describe('startInOrder', () => {
  const Part = token<string>('test.Part');

  /** Steps over one bound service, each recording its start and stop in `log`; `fail` names what throws. */
  function recordedSteps(log: string[], names: readonly string[], fail: { start?: string; stop?: string } = {}): StartStep[] {
    return names.map((name) => ({
      name,
      uses: { part: Part },
      start: () => {
        log.push(`start ${name}`);
        if (fail.start === name) throw new Error(`${name} did not start`);
      },
      stop: () => {
        log.push(`stop ${name}`);
        if (fail.stop === name) throw new Error(`${name} did not stop`);
      },
    }));
  }

  function services(): ServiceContainer {
    const container = new ServiceContainer();
    container.bindValue(Part, 'part');
    return container;
  }

  it('starts in order and stops in reverse', async () => {
    const log: string[] = [];
    const stop = await startInOrder(services(), recordedSteps(log, ['a', 'b', 'c']));
    await stop();
    expect(log).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('undoes what started, in reverse, when a step fails, that step included, and throws its failure', async () => {
    const log: string[] = [];
    await expect(startInOrder(services(), recordedSteps(log, ['a', 'b', 'c', 'd'], { start: 'c' }))).rejects.toThrow('c did not start');
    expect(log).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('stops every step even when one fails to, and throws the first failure', async () => {
    const log: string[] = [];
    const stop = await startInOrder(services(), recordedSteps(log, ['a', 'b', 'c'], { stop: 'b' }));
    await expect(stop()).rejects.toThrow('b did not stop');
    expect(log.slice(3)).toEqual(['stop c', 'stop b', 'stop a']);
  });
});

describe('a runner', () => {
  /** Replaces the lock, the store and the transport with the real ones, each recording when it is released. */
  function recordReleases(log: string[]) {
    return (services: ServiceContainer) => {
      services.replaceFactory(RUNNER_TOKENS.StoreLock, { config: RUNNER_TOKENS.Config }, ({ config }) => {
        const lock = storeLockFor(config.store.url);
        return { acquire: () => lock.acquire(), release: () => (log.push('lock released'), lock.release()) };
      });
      services.replaceFactory(TOKENS.Store, { config: RUNNER_TOKENS.Config }, async ({ config }) => {
        const store = composeStore(await openStore(config.store.url));
        const close = store.close.bind(store);
        store.close = () => (log.push('store closed'), close());
        return store;
      });
      services.replaceFactory(TOKENS.Transport, {}, (): Transport => {
        const transport = new UndiciTransport();
        return {
          send: (request, timeoutMs) => transport.send(request, timeoutMs),
          close: () => (log.push('transport closed'), transport.close()),
        };
      });
      services.replaceValue(RUNNER_TOKENS.LogStream, captureLogs().stream);
    };
  }

  it('stops in the start order reversed, closing the store before the transport and releasing the lock last', async () => {
    const log: string[] = [];
    const runner = await createRunner(testConfig(dir.path), { configure: recordReleases(log) });
    await runner.close();
    expect(log).toEqual(['store closed', 'transport closed', 'lock released']);
  });

  it('that cannot listen undoes its start: the store closes and the lock is released, so another runner can start on the file', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (busy.address() as AddressInfo).port;
      const log: string[] = [];
      await expect(createRunner(testConfig(dir.path, { server: { port } }), { configure: recordReleases(log) })).rejects.toThrow(
        /failed to start: .*EADDRINUSE/,
      );
      expect(log).toEqual(['store closed', 'transport closed', 'lock released']);
      const next = await createRunner(testConfig(dir.path), { configure: recordReleases([]) });
      await next.close();
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});

import type { DestinationPlugin } from '@ferry/core';
import { describeDestinationContract } from './describe';
import { CONTRACT_SUITES, planSuites, type ContractSuite, type DestinationContractOptions } from './options';
import { record, run } from './jest-recorder.spec-helper';
import { sampleOptions, samplePlugin, type SampleSettings } from './sample-destination.spec-helper';

// The wiring of describeDestinationContract (skips, report, network guard), seen from outside through a recording.

/** Skips every suite but `only`, with a reason. */
const onlySuite = (only: ContractSuite) =>
  Object.fromEntries(CONTRACT_SUITES.filter((suite) => suite !== only).map((suite) => [suite, `not under test: ${suite}`]));

describe('describeDestinationContract', () => {
  it('registers one block per suite, in order, under the plugin id', () => {
    const [contract] = record(() => describeDestinationContract(samplePlugin, sampleOptions)).blocks;
    expect(contract.title).toBe('sample destination contract');
    expect(contract.blocks.map((block) => block.title)).toEqual([...CONTRACT_SUITES]);
    for (const block of contract.blocks) expect(block.tests.length).toBeGreaterThan(0);
  });

  it('registers a skipped suite as one skipped test carrying its reason, and the report prints every reason', () => {
    const skip = { ...onlySuite('settings'), batching: 'Sample takes one delivery at a time' };
    const [contract] = record(() => describeDestinationContract(samplePlugin, { ...sampleOptions, skip })).blocks;
    const batching = contract.blocks.find((block) => block.title === 'batching');
    expect(batching?.tests).toEqual([expect.objectContaining({ title: 'skipped: Sample takes one delivery at a time', skipped: true })]);

    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const results = run(contract);
      expect(results.filter((r) => r.status === 'failed')).toEqual([]);
      expect(results.filter((r) => r.status === 'skipped')).toHaveLength(CONTRACT_SUITES.length - 1);
      expect(log).toHaveBeenCalledTimes(1);
      const report = String(log.mock.calls[0][0]);
      expect(report).toContain(`sample destination contract: ${CONTRACT_SUITES.length - 1} suite(s) skipped`);
      expect(report).toContain('batching: Sample takes one delivery at a time');
      expect(report).toContain('responses: not under test: responses');
    } finally {
      log.mockRestore();
    }
  });

  it('refuses a skip without a written reason, or of a suite that does not exist, before registering anything', () => {
    for (const skip of [{ batching: '' }, { batching: '   ' }, { batching: undefined as unknown as string }]) {
      expect(() => record(() => describeDestinationContract(samplePlugin, { ...sampleOptions, skip }))).toThrow(
        'skip.batching: a suite is skipped only with a written reason',
      );
    }
    const unknown = { ...sampleOptions, skip: { batches: 'typo' } } as unknown as DestinationContractOptions;
    expect(() => record(() => describeDestinationContract(samplePlugin, unknown))).toThrow(
      /skip\.batches: no such suite \(the suites are settings, /,
    );
  });

  it('skips the subscription-state suite, saying why, for a plugin that declares no state; refuses state options for it', () => {
    const stateless: DestinationPlugin<SampleSettings> = {
      ...samplePlugin,
      capabilities: { ...samplePlugin.capabilities, subscriptionState: undefined },
    };
    const { subscriptionState: _given, ...options } = sampleOptions;
    const [contract] = record(() => describeDestinationContract(stateless, options)).blocks;
    expect(contract.blocks.find((block) => block.title === 'subscription-state')?.tests).toEqual([
      expect.objectContaining({ title: 'skipped: the plugin does not declare capabilities.subscriptionState', skipped: true }),
    ]);
    expect(() => record(() => describeDestinationContract(stateless, sampleOptions))).toThrow(
      'options.subscriptionState is given, but the plugin does not declare capabilities.subscriptionState',
    );
  });

  it('fails the test during which the plugin reached for the network, and restores the network afterwards', () => {
    const originalFetch = globalThis.fetch;
    const chatty: DestinationPlugin<SampleSettings> = {
      ...samplePlugin,
      buildRequests(batch, settings) {
        // Fire and forget, error swallowed: only the guard can notice. Loopback, so nothing leaves the machine.
        fetch('http://127.0.0.1:9/track').catch(() => undefined);
        return samplePlugin.buildRequests(batch, settings);
      },
    };
    const [contract] = record(() => describeDestinationContract(chatty, { ...sampleOptions, skip: onlySuite('requests') })).blocks;
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const failed = run(contract).filter((r) => r.status === 'failed');
      expect(failed.length).toBeGreaterThan(0);
      for (const result of failed)
        expect(result.error).toMatch(/^the plugin reached for the network: fetch http:\/\/127\.0\.0\.1:9\/track/);
    } finally {
      log.mockRestore();
    }
    expect(globalThis.fetch).toBe(originalFetch);
  });
});

describe('planSuites', () => {
  it('runs every suite by default and keeps each skip reason, trimmed', () => {
    expect([...planSuites()]).toEqual(CONTRACT_SUITES.map((suite) => [suite, undefined]));
    expect(planSuites({ responses: '  not implemented yet ' }).get('responses')).toBe('not implemented yet');
  });
  it('skips subscription-state for a plugin that declares no state, keeping a written skip reason first', () => {
    expect(planSuites({}, { subscriptionState: true }).get('subscription-state')).toBeUndefined();
    expect(planSuites({}, {}).get('subscription-state')).toBe('the plugin does not declare capabilities.subscriptionState');
    expect(planSuites({ 'subscription-state': 'later' }, {}).get('subscription-state')).toBe('later');
  });
});

import type { AnyDestinationPlugin, DestinationPlugin } from '@ferry/core';
import { connectionCheckChecks, erasureChecks } from './account-suites';
import { capabilitiesChecks } from './capabilities-suite';
import { offlineInEachTest } from './network-guard';
import { planSuites, type ContractSuite, type DestinationContractOptions } from './options';
import { batchingChecks, requestsChecks } from './request-suites';
import { partialResponsesChecks, responsesChecks } from './response-suites';
import { secretsChecks, settingsChecks } from './settings-suites';
import { subscriptionStateChecks } from './state-suite';
import type { ContractCheck } from './support';

const SUITES: Record<ContractSuite, (plugin: AnyDestinationPlugin, options: DestinationContractOptions) => ContractCheck[]> = {
  settings: settingsChecks,
  secrets: secretsChecks,
  capabilities: capabilitiesChecks,
  requests: requestsChecks,
  batching: batchingChecks,
  responses: responsesChecks,
  'partial-responses': partialResponsesChecks,
  'subscription-state': subscriptionStateChecks,
  erasure: erasureChecks,
  'connection-check': connectionCheckChecks,
};

/**
 * The standard suites every destination plugin passes, in one line of its spec:
 * `describeDestinationContract(myPlugin, { settings, invalidSettings, responses })`.
 * The shared fixture library drives them, and the network is off while they run. A suite is skipped
 * only with a written reason; the skipped test's title and the closing report print it. A plugin declaring
 * `capabilities.subscriptionState` also gives `subscriptionState`: how to turn state on and read it back.
 */
export function describeDestinationContract<S>(plugin: DestinationPlugin<S>, options: DestinationContractOptions): void {
  const plan = planSuites(options.skip, plugin.capabilities, plugin);
  if (options.subscriptionState !== undefined && plugin.capabilities.subscriptionState !== true) {
    throw new Error('options.subscriptionState is given, but the plugin does not declare capabilities.subscriptionState');
  }
  describe(`${plugin.id} destination contract`, () => {
    offlineInEachTest();

    for (const [suite, reason] of plan) {
      describe(suite, () => {
        if (reason !== undefined) {
          it.skip(`skipped: ${reason}`, () => undefined);
          return;
        }
        for (const check of SUITES[suite](plugin, options)) it(check.title, () => check.run());
      });
    }

    const skipped = [...plan].filter(([, reason]) => reason !== undefined);
    if (skipped.length > 0) {
      afterAll(() => {
        const lines = skipped.map(([suite, reason]) => `  ${suite}: ${reason}`);
        console.log(`${plugin.id} destination contract: ${skipped.length} suite(s) skipped\n${lines.join('\n')}`);
      });
    }
  });
}

import type { AnySourcePlugin, SourcePlugin } from '@ferry/core';
import { offlineInEachTest } from '../contract/network-guard';
import type { ContractCheck } from '../contract/support';
import { SOURCE_CONTRACT_SUITES, type AnySourceContractOptions, type SourceContractOptions, type SourceContractSuite } from './options';
import { authenticationChecks, parsingChecks, robustnessChecks, settingsChecks, storageChecks } from './suites';

const SUITES: Record<SourceContractSuite, (plugin: AnySourcePlugin, options: AnySourceContractOptions) => ContractCheck[]> = {
  settings: settingsChecks,
  authentication: authenticationChecks,
  parsing: parsingChecks,
  robustness: robustnessChecks,
  storage: storageChecks,
};

/**
 * The standard suites every source plugin passes (SPEC §13), in one line of its spec:
 * `describeSourceContract(mySource, { credentialHeaders: (settings) => ({ authorization: settings.authorization }) })`.
 * They drive the plugin from its own `exampleSettings` and `exampleWebhook` (plus `validBodies`), so they
 * assume nothing about its wire format; the network is off while they run.
 */
export function describeSourceContract<S>(plugin: SourcePlugin<S>, options: SourceContractOptions<S> = {}): void {
  describe(`${plugin.id} source contract`, () => {
    offlineInEachTest();

    for (const suite of SOURCE_CONTRACT_SUITES) {
      describe(suite, () => {
        for (const check of SUITES[suite](plugin, options)) it(check.title, () => check.run());
      });
    }
  });
}

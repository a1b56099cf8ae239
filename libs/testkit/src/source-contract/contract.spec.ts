import { revenueCatSource } from '@ferry/revenuecat';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fixtures } from '../fixtures';
import { describeSourceContract } from './describe';
import { sampleSource, sampleSourceHeaders } from './sample-source.spec-helper';

// The whole suite against sources that keep the contract: a sample shaped unlike RevenueCat, and RevenueCat.
describeSourceContract(sampleSource, {
  credentialHeaders: sampleSourceHeaders,
  validBodies: [
    { notification: { uuid: 'n-2', kind: 'TEST', sandbox: true, signedAt: '2026-01-02T03:04:05Z', subject: { account: null } } },
  ],
  invalidBodies: [
    { title: 'no notification.uuid', body: { notification: { kind: 'RENEWED', subject: {} } }, paths: ['notification.uuid'] },
  ],
});

// RevenueCat's contract spec lives here, not in libs/sources/revenuecat: the testkit's fixtures are RevenueCat
// webhooks, so the testkit depends on that library, and a spec there importing the testkit would make a cycle
// (revenuecat:build → testkit:build → revenuecat:build). Its extra bodies: every fixture of the shared catalogue
// and RevenueCat's own published samples, when they are beside the clone (see real-samples.spec.ts there).
const SAMPLES = process.env.FERRY_REAL_SAMPLES ?? path.resolve(__dirname, '../../../../../shared/real-samples/revenuecat-webhooks');
const realSamples = existsSync(SAMPLES)
  ? readdirSync(SAMPLES)
      .filter((name) => name.endsWith('.json'))
      .map((name) => JSON.parse(readFileSync(path.join(SAMPLES, name), 'utf-8')) as unknown)
  : [];

describeSourceContract(revenueCatSource, {
  credentialHeaders: (settings) => (settings.authorization === undefined ? {} : { authorization: settings.authorization }),
  validBodies: [...fixtures.map((fixture) => fixture.webhook), ...realSamples],
  invalidBodies: [
    { title: 'no event', body: { api_version: '1.0' }, paths: ['event'] },
    { title: 'event.type missing', body: { event: { id: 'e-1', event_timestamp_ms: 1 } }, paths: ['event.type'] },
    {
      title: 'a fractional event_timestamp_ms',
      body: { event: { id: 'e-1', type: 'RENEWAL', event_timestamp_ms: 1.5 } },
      paths: ['event.event_timestamp_ms'],
    },
  ],
});

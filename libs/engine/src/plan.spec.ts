import { REDACTED, secretForms, type Planned, type RequestContext } from '@ferry/core';
import { planDeliveries, previewDeliveries, PREVIEW_DELIVERY_ID, secretValues } from './index';
import { makeEvent, testDestination, testPlugin } from './testing/test-plugin';

const apiKey = 'sk_live_"quoted"/and&more';
const main = testDestination('main', { url: 'http://127.0.0.1:9', apiKey });
const unconfigured = testDestination('unconfigured', { url: 'http://127.0.0.1:9', apiKey: '' });
const AT_NOON = { nowMs: Date.UTC(2025, 2, 1, 12) };

describe('planDeliveries', () => {
  it('plans pending for a sendable event, skipped with "rule: reason", paused when config is missing', () => {
    expect(planDeliveries(makeEvent(), [main, unconfigured])).toEqual([
      { destinationId: 'main', state: 'pending' },
      { destinationId: 'unconfigured', state: 'paused', reason: 'missing configuration: apiKey' },
    ]);
    expect(planDeliveries(makeEvent({ type: 'TRANSFER', kind: null }), [main])).toEqual([
      { destinationId: 'main', state: 'skipped', reason: 'transfer_not_supported: this destination takes no transfer events' },
    ]);
    expect(planDeliveries(makeEvent({ attributes: { optOut: 'yes' } }), [main])).toEqual([
      { destinationId: 'main', state: 'skipped', reason: 'opted_out: the user opted out' },
    ]);
  });

  it('plans paused for a paused destination, but a skip still wins', () => {
    const paused = new Set(['main']);
    expect(planDeliveries(makeEvent(), [main], paused)).toEqual([
      { destinationId: 'main', state: 'paused', reason: 'the destination is paused' },
    ]);
    expect(planDeliveries(makeEvent({ environment: 'SANDBOX' }), [main], paused)[0].state).toBe('skipped');
  });

  it('keeps the event pending when the plugin filter throws, so ingest never fails on a plugin bug', () => {
    const broken = testDestination(
      'broken',
      { url: 'http://127.0.0.1:9', apiKey },
      {
        plugin: {
          ...testPlugin(),
          filter: () => {
            throw new Error('boom');
          },
        },
      },
    );
    expect(planDeliveries(makeEvent(), [broken])).toEqual([{ destinationId: 'broken', state: 'pending' }]);
  });
});

describe('previewDeliveries', () => {
  it('shows the exact requests the plugin builds, with every secret value redacted in url, headers and body', () => {
    const event = makeEvent({ attributes: { plan: 'gold', bio: 'far more than twenty characters' } });
    const [preview] = previewDeliveries(event, [main], AT_NOON);
    if (preview.status !== 'send') throw new Error(`expected send, got ${preview.status}`);
    expect(preview).toMatchObject({ destinationId: 'main', plugin: 'test' });
    expect(preview.requests).toHaveLength(1);
    const [request] = preview.requests;
    expect(request.deliveryIds).toEqual([PREVIEW_DELIVERY_ID]);
    expect(request.headers['x-api-key']).toBe(REDACTED);
    expect(request.url).toBe(`http://127.0.0.1:9/track?account=main&key=${REDACTED}`);
    expect(JSON.parse(request.body)).toEqual({
      auth: REDACTED,
      items: [{ delivery: PREVIEW_DELIVERY_ID, event: event.id, name: 'renewal', user: event.appUserId, attributes: { plan: 'gold' } }],
    });
    expect(preview.warnings).toEqual([`attribute "bio" of ${PREVIEW_DELIVERY_ID} left out: longer than 20 characters`]);

    const text = JSON.stringify(preview);
    for (const form of [apiKey, JSON.stringify(apiKey).slice(1, -1), encodeURIComponent(apiKey)]) expect(text).not.toContain(form);
  });

  it('builds at the time it is given, with the webhook body it is given, as the dispatcher would send them', () => {
    const seen: { batch: readonly Planned[]; context?: RequestContext }[] = [];
    const plugin = testPlugin();
    const recording = testDestination(
      'recording',
      { url: 'http://127.0.0.1:9', apiKey },
      {
        plugin: {
          ...plugin,
          buildRequests: (batch, settings, context) => {
            seen.push({ batch, context });
            return plugin.buildRequests(batch, settings, context);
          },
        },
      },
    );
    previewDeliveries(makeEvent(), [recording], { ...AT_NOON, webhookBody: '{"event": {}}' });
    previewDeliveries(makeEvent(), [recording], AT_NOON);
    expect(seen.map(({ batch, context }) => [batch[0].webhookBody, context])).toEqual([
      ['{"event": {}}', AT_NOON],
      [undefined, AT_NOON],
    ]);
  });

  it('says why an event is skipped and what a destination lacks, sending nothing', () => {
    expect(previewDeliveries(makeEvent({ environment: 'SANDBOX' }), [main, unconfigured], AT_NOON)).toEqual([
      {
        destinationId: 'main',
        plugin: 'test',
        status: 'skip',
        rule: 'sandbox_not_sent',
        reason: 'this destination takes no sandbox events',
      },
      {
        destinationId: 'unconfigured',
        plugin: 'test',
        status: 'skip',
        rule: 'sandbox_not_sent',
        reason: 'this destination takes no sandbox events',
      },
    ]);
    expect(previewDeliveries(makeEvent(), [unconfigured], AT_NOON)).toEqual([
      { destinationId: 'unconfigured', plugin: 'test', status: 'paused', missing: ['apiKey'] },
    ]);
  });
});

describe('secretValues', () => {
  it('collects every non-empty string under the secret settings, in every form text may echo it (secretForms)', () => {
    const destination = {
      ...testDestination('nested', { url: 'http://127.0.0.1:9', apiKey: 'a b"c' }),
      plugin: { ...testPlugin(), secrets: ['apiKey', 'sandbox', 'absent'] },
    };
    const settings = { url: 'http://127.0.0.1:9', apiKey: 'a b"c', sandbox: { accountId: 'acct-42', passcode: 'pc-nested-9', note: '' } };
    const values = secretValues({ ...destination, settings });
    expect(new Set(values)).toEqual(new Set(secretForms(['a b"c', 'acct-42', 'pc-nested-9'])));
    expect(values).toEqual(expect.arrayContaining(['a b"c', 'a b\\"c', 'a%20b%22c', 'acct-42', 'pc-nested-9']));
  });
});

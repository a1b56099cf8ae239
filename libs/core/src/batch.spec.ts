import { byEnvironment, jsonArrayBodies, jsonArraysBodies, type Planned, type SubscriptionEvent } from './index';

const planned = (deliveryId: string, environment: 'PRODUCTION' | 'SANDBOX'): Planned => ({
  deliveryId,
  event: { environment } as SubscriptionEvent,
});

describe('byEnvironment', () => {
  it('groups in order of first appearance, each group in batch order', () => {
    const groups = byEnvironment([
      planned('s1', 'SANDBOX'),
      planned('p1', 'PRODUCTION'),
      planned('s2', 'SANDBOX'),
      planned('p2', 'PRODUCTION'),
    ]);
    expect(groups.map(([environment, batch]) => [environment, batch.map((p) => p.deliveryId)])).toEqual([
      ['SANDBOX', ['s1', 's2']],
      ['PRODUCTION', ['p1', 'p2']],
    ]);
    expect(byEnvironment([])).toEqual([]);
  });
});

describe('jsonArrayBodies', () => {
  const envelope = { head: '{"d":', tail: '}' };
  const item = (id: string, bytes: number) => ({ id, json: JSON.stringify('x'.repeat(bytes - 2)) }); // the quotes count
  const ids = (bodies: { items: { id: string }[] }[]) => bodies.map((body) => body.items.map((i) => i.id));

  it('writes each body around its items, in order', () => {
    const bodies = jsonArrayBodies(
      [
        { id: 'a', json: '{"n":1}' },
        { id: 'b', json: '[2]' },
      ],
      { maxItems: 10 },
      envelope,
    );
    expect(bodies).toEqual([
      {
        items: [
          { id: 'a', json: '{"n":1}' },
          { id: 'b', json: '[2]' },
        ],
        body: '{"d":[{"n":1},[2]]}',
      },
    ]);
  });

  it('starts a new body at maxItems', () => {
    const items = ['a', 'b', 'c', 'd', 'e'].map((id) => item(id, 10));
    expect(ids(jsonArrayBodies(items, { maxItems: 2 }, envelope))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('counts the whole body to the byte: an item that ends it at maxBytes joins, one byte more does not', () => {
    const envelopeBytes = Buffer.byteLength('{"d":[]}');
    const maxBytes = envelopeBytes + 10 + 1 + 20; // two items and the comma between them
    const fits = jsonArrayBodies([item('a', 10), item('b', 20)], { maxItems: 10, maxBytes }, envelope);
    expect(fits.map((body) => Buffer.byteLength(body.body))).toEqual([maxBytes]);
    expect(ids(jsonArrayBodies([item('a', 10), item('b', 21)], { maxItems: 10, maxBytes }, envelope))).toEqual([['a'], ['b']]);
  });

  it('counts bytes, not characters', () => {
    const accents = { id: 'é', json: JSON.stringify('é'.repeat(10)) }; // 22 bytes, 12 characters
    const maxBytes = Buffer.byteLength('{"d":[]}') + 22 + 1 + 12;
    expect(ids(jsonArrayBodies([accents, item('a', 12)], { maxItems: 10, maxBytes }, envelope))).toEqual([['é', 'a']]);
    expect(ids(jsonArrayBodies([accents, item('a', 13)], { maxItems: 10, maxBytes }, envelope))).toEqual([['é'], ['a']]);
  });

  it('sends an item over maxBytes alone, keeping order around it', () => {
    const bodies = jsonArrayBodies([item('a', 5), item('huge', 500), item('b', 5)], { maxItems: 10, maxBytes: 100 }, envelope);
    expect(ids(bodies)).toEqual([['a'], ['huge'], ['b']]);
  });

  it('gives no body for no items', () => {
    expect(jsonArrayBodies([], { maxItems: 10 }, envelope)).toEqual([]);
  });
});

describe('jsonArraysBodies', () => {
  const names = ['attributes', 'events', 'purchases'];
  const item = (id: string, arrays: Record<string, string[]>) => ({ id, arrays });
  const ids = (bodies: { items: { id: string }[] }[]) => bodies.map((body) => body.items.map((i) => i.id));

  it('writes the arrays in the given order, leaving out empty ones, with the records listed array by array', () => {
    const a = item('a', { events: ['{"e":1}'], attributes: ['{"x":1}'] });
    const b = item('b', { purchases: ['{"p":2}'], attributes: ['{"x":2}'] });
    const [body] = jsonArraysBodies([a, b], { maxItems: 10 }, names);
    expect(body.body).toBe('{"attributes":[{"x":1},{"x":2}],"events":[{"e":1}],"purchases":[{"p":2}]}');
    expect(body.records.map((r) => [r.item.id, r.array])).toEqual([
      ['a', 'attributes'],
      ['b', 'attributes'],
      ['a', 'events'],
      ['b', 'purchases'],
    ]);
    expect(jsonArraysBodies([item('c', { events: ['1'] })], { maxItems: 10 }, names)[0].body).toBe('{"events":[1]}');
  });

  it('counts the records of every array against one maxItems, never splitting an item', () => {
    const items = ['a', 'b', 'c', 'd', 'e'].map((id) => item(id, { attributes: ['1'], events: ['2'] }));
    const bodies = jsonArraysBodies(items, { maxItems: 5 }, names);
    expect(ids(bodies)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(bodies.map((body) => body.records.length)).toEqual([4, 4, 2]);
  });

  it('keeps each body within maxBytes, and sends an item alone over it by itself', () => {
    const big = (id: string) => item(id, { events: [JSON.stringify('x'.repeat(50))] });
    const bodies = jsonArraysBodies(
      [big('a'), big('b'), big('c'), item('huge', { events: [JSON.stringify('y'.repeat(500))] })],
      { maxItems: 75, maxBytes: 150 },
      names,
    );
    expect(ids(bodies)).toEqual([['a', 'b'], ['c'], ['huge']]);
    for (const body of bodies.slice(0, 2)) expect(Buffer.byteLength(body.body)).toBeLessThanOrEqual(150);
  });

  it('refuses an array it was not told of', () => {
    expect(() => jsonArraysBodies([item('a', { profiles: ['1'] })], { maxItems: 5 }, names)).toThrow('"profiles"');
  });
});

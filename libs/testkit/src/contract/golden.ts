import type { DestinationPlugin, Planned } from '@ferry/core';
import { fixtureEvent, fixtures, type FixtureName } from '../fixtures';
import { KIT_REQUEST_CONTEXT } from './support';

/** What one fixture must come to: the rule that skips it, or what it sends, in the spec's own terms. */
export type GoldenExpectation<T> = { readonly skip: string } | { readonly send: T };

/** A delivery of a sent fixture, as the golden requests are asked for. */
export interface GoldenSend<T> {
  readonly deliveryId: string;
  readonly send: T;
}

export interface GoldenCatalogue<S, T> {
  /** The settings every expectation was written for, parsed. */
  readonly settings: S;
  /** Every fixture of the shared catalogue, written by hand from the destination's documentation. */
  readonly expected: Readonly<Record<FixtureName, GoldenExpectation<T>>>;
  /** Where a sent fixture goes, for the test title (`the sandbox account`). */
  where(send: T): string;
  /** The requests a batch of these sends must build at `KIT_REQUEST_CONTEXT`, in order, each body as parsed JSON. */
  requests(sends: readonly GoldenSend<T>[]): unknown[];
}

/**
 * Registers a destination's golden tests: the expectations cover every fixture; a skipped fixture is
 * skipped with its rule and a reason; a sent one builds exactly its requests alone, and the whole
 * catalogue in one batch builds exactly the requests of all of them, in catalogue order.
 */
export function describeGoldenCatalogue<S, T>(plugin: DestinationPlugin<S>, golden: GoldenCatalogue<S, T>): void {
  const { settings, expected } = golden;
  const deliveryId = (name: FixtureName) => `golden-${name}`;
  const built = (batch: readonly Planned[]) =>
    plugin
      .buildRequests(batch, settings, KIT_REQUEST_CONTEXT)
      .map((request) => ({ ...request, body: JSON.parse(request.body) as unknown }));

  describe('golden requests for the fixture catalogue', () => {
    it('covers every fixture', () => {
      expect(Object.keys(expected).sort()).toEqual(fixtures.map((f) => f.name).sort());
    });

    describe.each(fixtures.map((f) => f.name))('%s', (name) => {
      const want = expected[name];
      if (want === undefined) return; // named by 'covers every fixture'
      if ('skip' in want) {
        it(`is skipped: ${want.skip}`, () => {
          const skip = plugin.filter(fixtureEvent(name), settings);
          expect(skip?.rule).toBe(want.skip);
          expect(skip?.reason).toEqual(expect.any(String));
        });
        return;
      }
      it(`is sent to ${golden.where(want.send)} exactly as written`, () => {
        const event = fixtureEvent(name);
        expect(plugin.filter(event, settings)).toBeUndefined();
        expect(built([{ deliveryId: deliveryId(name), event }])).toStrictEqual(
          golden.requests([{ deliveryId: deliveryId(name), send: want.send }]),
        );
      });
    });

    it('sends the whole catalogue in one batch exactly as written, in catalogue order', () => {
      const sent = fixtures.flatMap(({ name }) => {
        const want = expected[name];
        return want !== undefined && 'send' in want ? [{ name, send: want.send }] : [];
      });
      const batch = sent.map(({ name }) => ({ deliveryId: deliveryId(name), event: fixtureEvent(name) }));
      expect(built(batch)).toStrictEqual(golden.requests(sent.map(({ name, send }) => ({ deliveryId: deliveryId(name), send }))));
    });
  });
}

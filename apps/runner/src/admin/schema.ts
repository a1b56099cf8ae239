import { z } from 'zod';
import { DELIVERY_STATES, DELIVERY_TRANSITIONS, isEpochMs } from '@ferry/core';
import { INSTANCE_ID, INSTANCE_ID_RULE } from '../input';

/**
 * Building blocks of the admin routes' schemas. A schema with an `id` becomes a named schema of the
 * OpenAPI document (and a named type of the console's generated admin-api.ts).
 */

/** A type with every property and array read-only, so the store's readonly rows and zod's mutable outputs compare. */
export type DeepReadonly<T> = T extends (infer Item)[]
  ? readonly DeepReadonly<Item>[]
  : T extends readonly (infer Item)[]
    ? readonly DeepReadonly<Item>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/**
 * A schema of a type declared elsewhere (core's rows, the engine's preview): it compiles only while the
 * schema describes exactly that type, so the API's schema cannot drift from what the code answers.
 */
export function mirrors<T>() {
  return <S extends z.ZodType>(
    schema: S & (Same<DeepReadonly<z.output<S>>, DeepReadonly<T>> extends true ? unknown : { 'the schema differs from the type': T }),
  ): S => schema;
}

const TIME_MESSAGE = 'expected an ISO 8601 time or milliseconds since the epoch, within the range of a date';

/** An ISO 8601 time or milliseconds since the epoch (a number, or digits in a query string or flag). */
export const time = z
  .union([z.number(), z.string()], { error: TIME_MESSAGE })
  .transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    // The stores keep times as BIGINT milliseconds: anything beyond a date could not be compared with them.
    if (!isEpochMs(ms)) {
      ctx.addIssue({ code: 'custom', message: TIME_MESSAGE });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'An ISO 8601 time, or milliseconds since the epoch.' });

/** Core's delivery states: the transition table's, never a copy. */
export const deliveryState = z.enum(DELIVERY_STATES).meta({ id: 'DeliveryState', description: "A delivery's state." });

/** The states an operator may replay from: the `replay` transition's. */
export const replayableState = z
  .enum(DELIVERY_TRANSITIONS.replay.from)
  .meta({ id: 'ReplayableState', description: 'A state a delivery can be replayed from.' });

/** Counts per delivery state, every state present. */
export const countsByState = z
  .record(deliveryState, z.number().int().nonnegative())
  .meta({ id: 'CountsByState', description: 'Deliveries per state.' });

/** Every refusal: 400 names each wrong field in `issues`; 401, 403, 404 and 409 say why in `error`. */
export const errorAnswer = z
  .object({
    error: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() }).meta({ id: 'FieldIssue' })).optional(),
  })
  .meta({ id: 'ErrorAnswer', description: 'Why the request was refused.' });

/** A path parameter: any non-empty text (an id). */
export const idParam = z.string().min(1);

/**
 * A source instance's id, as the config allows it (letters, digits, `_ - .`, at most 64 characters): anything
 * else names no source and is refused; a well-formed id no source has simply matches nothing.
 */
export const sourceId = z
  .string()
  .regex(INSTANCE_ID, `a source id: ${INSTANCE_ID_RULE}`)
  .meta({ description: 'A source id, as in the config.' });

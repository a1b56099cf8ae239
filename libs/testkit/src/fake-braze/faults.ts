import { z } from 'zod';
import { commonFaultSchemas, type CommonFault } from '../fake-http/faults';
import { FakeInputError, parseOneOrMany } from '../fake-http/input';

/**
 * A scripted misbehaviour for the next `POST /users/track`, in place of the normal answer: the common faults (a
 * `status` takes nothing unless `afterStore`: whether Braze processed part of a failed request is undocumented)
 * and Braze's 429 on cue.
 */
export type FakeBrazeFault =
  | CommonFault
  /**
   * Answer 429 `Rate Limited` with `X-RateLimit-Limit`, `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset` (now +
   * `resetInSeconds`, default 1), plus `X-RateLimit-Retry-After` when `retryAfterSeconds` is given.
   */
  | { type: 'rate-limit'; resetInSeconds?: number; retryAfterSeconds?: number };

/** Bad input to the fake Braze's own API (options, faults), with the path of every wrong field. */
export class FakeBrazeInputError extends FakeInputError {}

const faultSchema: z.ZodType<FakeBrazeFault> = z.discriminatedUnion('type', [
  ...commonFaultSchemas,
  z.strictObject({
    type: z.literal('rate-limit'),
    resetInSeconds: z.int().min(0).max(3600).optional(),
    retryAfterSeconds: z.int().min(0).max(3600).optional(),
  }),
]);

/** Validates one fault or a list of them. */
export function parseBrazeFaults(input: unknown): FakeBrazeFault[] {
  return parseOneOrMany(faultSchema, input, (issues) => new FakeBrazeInputError('fault', issues));
}

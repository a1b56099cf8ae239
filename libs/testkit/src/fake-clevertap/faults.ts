import { z } from 'zod';
import { commonFaultSchemas, type CommonFault, type FaultChance } from '../fake-http/faults';
import { FakeInputError, parseInput, parseOneOrMany } from '../fake-http/input';

/**
 * A scripted misbehaviour, used in place of the normal answer to one upload request: the common faults
 * (a status, by default answered without storing; a delay; a hang; a reset before or after storing), a 200
 * whose body is not JSON, as a captive portal or proxy may send, and a 200 that lists valid records of one
 * type (or all) as unprocessed with a CleverTap code (555, its "try again", by default) and takes the rest.
 */
export type FakeFault = CommonFault | { type: 'non-json-200' } | UnprocessedFault;

export interface UnprocessedFault {
  readonly type: 'unprocessed';
  readonly code?: number;
  /** Which records the answer lists as unprocessed: `event` or `profile` records, or all. Default all. */
  readonly records?: 'event' | 'profile' | 'all';
}

/** Chance (0–1) that an upload request meets each fault; they are exclusive, so the sum is at most 1. */
export interface RandomFaultRates {
  status5xx?: number;
  status429?: number;
  hang?: number;
  resetAfterStore?: number;
}

/** Bad input to the fake CleverTap's own API (options, faults, rates), with the path of every wrong field. */
export class FakeCleverTapInputError extends FakeInputError {}

const faultSchema: z.ZodType<FakeFault> = z.discriminatedUnion('type', [
  ...commonFaultSchemas,
  z.strictObject({ type: z.literal('non-json-200') }),
  z.strictObject({
    type: z.literal('unprocessed'),
    code: z.int().min(500).max(599).optional(),
    records: z.enum(['event', 'profile', 'all']).optional(),
  }),
]);

const rate = z.number().min(0).max(1).optional();
const ratesSchema = z
  .strictObject({ status5xx: rate, status429: rate, hang: rate, resetAfterStore: rate })
  .refine((rates) => Object.values(rates).reduce((sum: number, r) => sum + (r ?? 0), 0) <= 1, 'rates must add up to at most 1');

/** Validates one fault or a list of them. */
export function parseFaults(input: unknown): FakeFault[] {
  return parseOneOrMany(faultSchema, input, (issues) => new FakeCleverTapInputError('fault', issues));
}

/** Validates rates and turns them into the chance of each fault. */
export function faultChances(rates: RandomFaultRates): FaultChance<FakeFault>[] {
  const valid = parseInput(ratesSchema, rates, (issues) => new FakeCleverTapInputError('fault rates', issues));
  return [
    [valid.status5xx ?? 0, { type: 'status', status: 503 }],
    [valid.status429 ?? 0, { type: 'status', status: 429 }],
    [valid.hang ?? 0, { type: 'hang' }],
    [valid.resetAfterStore ?? 0, { type: 'reset-after-store' }],
  ];
}

import { z } from 'zod';
import { commonFaultSchemas, type CommonFault } from '../fake-http/faults';
import { FakeInputError, parseOneOrMany } from '../fake-http/input';

/**
 * A scripted misbehaviour for the next upload request (`POST /2/httpapi` or `/batch`), in place of the normal
 * answer: the common faults (a `status` of 500, 502 or 504 takes the events first by default, as Amplitude's may
 * have done), and Amplitude's throttling on cue.
 */
export type FakeAmplitudeFault =
  | CommonFault
  /** Answer 429 naming these ids, whatever the rate. */
  | { type: 'throttle'; users?: string[]; devices?: string[]; dailyQuotaUsers?: string[]; dailyQuotaDevices?: string[] };

/** Bad input to the fake Amplitude's own API (options, faults), with the path of every wrong field. */
export class FakeAmplitudeInputError extends FakeInputError {}

const ids = z.array(z.string().min(1)).optional();

const faultSchema: z.ZodType<FakeAmplitudeFault> = z.discriminatedUnion('type', [
  ...commonFaultSchemas,
  z.strictObject({ type: z.literal('throttle'), users: ids, devices: ids, dailyQuotaUsers: ids, dailyQuotaDevices: ids }),
]);

/** Validates one fault or a list of them. */
export function parseAmplitudeFaults(input: unknown): FakeAmplitudeFault[] {
  return parseOneOrMany(faultSchema, input, (issues) => new FakeAmplitudeInputError('fault', issues));
}

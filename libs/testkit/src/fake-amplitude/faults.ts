import { z } from 'zod';
import { FakeInputError, headerName, headerText, parseOneOrMany } from '../fake-http/input';

/** A scripted misbehaviour for the next upload request (`POST /2/httpapi` or `/batch`), in place of the normal answer. */
export type FakeAmplitudeFault =
  /**
   * Answer `status` (with Amplitude's `{"code","error"}` body unless `body` is given). With `afterStore` the
   * events are taken first, as a 500, 502 or 504 may have done: that is the default for those three.
   */
  | { type: 'status'; status: number; body?: string; headers?: Record<string, string>; afterStore?: boolean }
  /** Answer 429 naming these ids, whatever the rate: Amplitude's throttling, on cue. */
  | { type: 'throttle'; users?: string[]; devices?: string[]; dailyQuotaUsers?: string[]; dailyQuotaDevices?: string[] }
  /** Wait, then answer normally (for client timeouts). */
  | { type: 'delay'; ms: number }
  /** Never answer: the client's timeout or close() ends it. */
  | { type: 'hang' }
  /** Drop the connection without taking anything. */
  | { type: 'reset-before-store' }
  /** Take the events, then drop the connection: the client cannot know they landed. */
  | { type: 'reset-after-store' };

/** Bad input to the fake Amplitude's own API (options, faults), with the path of every wrong field. */
export class FakeAmplitudeInputError extends FakeInputError {}

const ids = z.array(z.string().min(1)).optional();

const faultSchema: z.ZodType<FakeAmplitudeFault> = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('status'),
    status: z.int().min(200).max(599),
    body: z.string().optional(),
    headers: z.record(headerName, headerText).optional(),
    afterStore: z.boolean().optional(),
  }),
  z.strictObject({ type: z.literal('throttle'), users: ids, devices: ids, dailyQuotaUsers: ids, dailyQuotaDevices: ids }),
  z.strictObject({ type: z.literal('delay'), ms: z.int().min(0).max(600_000) }),
  z.strictObject({ type: z.literal('hang') }),
  z.strictObject({ type: z.literal('reset-before-store') }),
  z.strictObject({ type: z.literal('reset-after-store') }),
]);

/** Validates one fault or a list of them. */
export function parseAmplitudeFaults(input: unknown): FakeAmplitudeFault[] {
  return parseOneOrMany(faultSchema, input, (issues) => new FakeAmplitudeInputError('fault', issues));
}

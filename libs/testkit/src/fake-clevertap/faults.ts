import { z } from 'zod';
import { issuesFromZod } from '@ferry/core';
import { FakeInputError, headerName, headerText, parseOneOrMany } from '../fake-http/input';

/** A scripted misbehaviour, used in place of the normal answer to one upload request. */
export type FakeFault =
  | { type: 'status'; status: number; body?: string; contentType?: string; headers?: Record<string, string> }
  | { type: 'hang' }
  | { type: 'reset-after-store' }
  | { type: 'reset-before-store' }
  | { type: 'non-json-200' };

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
  z.strictObject({
    type: z.literal('status'),
    status: z.int().min(200).max(599),
    body: z.string().optional(),
    contentType: headerText.min(1).optional(),
    headers: z.record(headerName, headerText).optional(),
  }),
  z.strictObject({ type: z.literal('hang') }),
  z.strictObject({ type: z.literal('reset-after-store') }),
  z.strictObject({ type: z.literal('reset-before-store') }),
  z.strictObject({ type: z.literal('non-json-200') }),
]);

const rate = z.number().min(0).max(1).optional();
const ratesSchema = z
  .strictObject({ status5xx: rate, status429: rate, hang: rate, resetAfterStore: rate })
  .refine((rates) => Object.values(rates).reduce((sum: number, r) => sum + (r ?? 0), 0) <= 1, 'rates must add up to at most 1');

/** Validates one fault or a list of them. */
export function parseFaults(input: unknown): FakeFault[] {
  return parseOneOrMany(faultSchema, input, (issues) => new FakeCleverTapInputError('fault', issues));
}

/** Decides the fault, if any, for each upload request: scripted ones first (FIFO), then random ones. */
export class FaultPlan {
  private scripted: FakeFault[] = [];
  private random?: { rates: RandomFaultRates; draw: () => number };

  script(faults: readonly FakeFault[]): void {
    this.scripted.push(...faults);
  }

  randomly(rates: RandomFaultRates, draw: () => number): void {
    const result = ratesSchema.safeParse(rates);
    if (!result.success) throw new FakeCleverTapInputError('fault rates', issuesFromZod(result.error.issues));
    this.random = { rates: result.data, draw };
  }

  next(): FakeFault | undefined {
    const scripted = this.scripted.shift();
    if (scripted || !this.random) return scripted;
    const { rates, draw } = this.random;
    let threshold = draw();
    const candidates: [number | undefined, FakeFault][] = [
      [rates.status5xx, { type: 'status', status: 503 }],
      [rates.status429, { type: 'status', status: 429 }],
      [rates.hang, { type: 'hang' }],
      [rates.resetAfterStore, { type: 'reset-after-store' }],
    ];
    for (const [chance = 0, fault] of candidates) {
      if (threshold < chance) return fault;
      threshold -= chance;
    }
    return undefined;
  }

  clear(): void {
    this.scripted = [];
    this.random = undefined;
  }
}

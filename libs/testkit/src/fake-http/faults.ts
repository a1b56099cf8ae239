import { z } from 'zod';
import { headerName, headerText } from './input';

/** The misbehaviours every fake plays in place of its normal answer to an upload; each fake may add its own. */
export type CommonFault =
  /**
   * Answer `status`, in the fake's error envelope unless `body` is given. With `afterStore` the records are
   * taken first; without it, the fake decides by status (Amplitude's 500, 502 and 504 may have taken them).
   */
  | {
      type: 'status';
      status: number;
      body?: string;
      contentType?: string;
      headers?: Record<string, string>;
      afterStore?: boolean;
    }
  /** Wait, then answer normally (for client timeouts). */
  | { type: 'delay'; ms: number }
  /** Never answer: the client's timeout or close() ends it. */
  | { type: 'hang' }
  /** Drop the connection without taking anything. */
  | { type: 'reset-before-store' }
  /** Take the records, then drop the connection: the client cannot know they landed. */
  | { type: 'reset-after-store' };

export type StatusFault = Extract<CommonFault, { type: 'status' }>;

/** Schemas of the common faults, to list in a fake's `z.discriminatedUnion('type', …)` next to its own. */
export const commonFaultSchemas = [
  z.strictObject({
    type: z.literal('status'),
    status: z.int().min(200).max(599),
    body: z.string().optional(),
    contentType: headerText.min(1).optional(),
    headers: z.record(headerName, headerText).optional(),
    afterStore: z.boolean().optional(),
  }),
  z.strictObject({ type: z.literal('delay'), ms: z.int().min(0).max(600_000) }),
  z.strictObject({ type: z.literal('hang') }),
  z.strictObject({ type: z.literal('reset-before-store') }),
  z.strictObject({ type: z.literal('reset-after-store') }),
] as const;

const COMMON_TYPES: ReadonlySet<string> = new Set(commonFaultSchemas.map((schema) => schema.shape.type.value));

export function isCommonFault(fault: { readonly type: string }): fault is CommonFault {
  return COMMON_TYPES.has(fault.type);
}

/** A fault and the chance (0–1) that an upload without a scripted fault meets it. */
export type FaultChance<F> = readonly [chance: number, fault: F];

/** Decides the fault, if any, for each upload request: scripted ones first (FIFO), then random ones. */
export class FaultPlan<F> {
  private scripted: F[] = [];
  private random?: { chances: readonly FaultChance<F>[]; draw: () => number };

  script(faults: readonly F[]): void {
    this.scripted.push(...faults);
  }

  /** Replaces earlier chances; they are exclusive, so they should add up to at most 1. */
  randomly(chances: readonly FaultChance<F>[], draw: () => number): void {
    this.random = { chances, draw };
  }

  next(): F | undefined {
    const scripted = this.scripted.shift();
    if (scripted !== undefined || !this.random) return scripted;
    const { chances, draw } = this.random;
    let threshold = draw();
    for (const [chance, fault] of chances) {
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

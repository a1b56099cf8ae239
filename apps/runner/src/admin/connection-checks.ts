import { z } from 'zod';
import { CHECK_NOT_SUPPORTED, redactText, systemClock, type Clock, type Transport } from '@ferry/core';
import { missingConfigOf, secretValues, type DestinationInstance } from '@ferry/engine';
import type { Answer } from './route';

/** Connection checks (SPEC §15): a request that changes nothing at the destination tells whether it takes the credentials. */

export const connectionCheckAnswer = z
  .object({
    ok: z
      .boolean()
      .nullable()
      .describe(
        'true: the destination accepted the credentials; false: it refused them, or the configuration lacks them; ' +
          'null: its answer could not tell (network error, timeout, 5xx, 429), its plugin has no such request, or the check lacks a setting of its own.',
      ),
    status: z.number().int().nullable().describe("The destination's HTTP status; null when none came back or nothing was sent."),
    reason: z.string().describe("Why, in the destination's words where it gave some; secrets redacted."),
  })
  .meta({ id: 'ConnectionCheck', description: "A destination's verdict on its configured credentials." });

export type ConnectionCheckAnswer = Answer<typeof connectionCheckAnswer>;

/**
 * A verdict is reused this long after it came back, and a check asked while one is in flight waits for
 * that one: a button pressed over and over, or a script in a loop, sends the destination at most one
 * check per destination every few seconds. The config only changes with a restart, so the verdict holds.
 */
export const CHECK_REUSE_MS = 2_000;

/** Longest reason answered: a destination's error page is cut, as delivery errors are. */
const MAX_REASON_CHARS = 500;

interface Flight {
  readonly answer: Promise<ConnectionCheckAnswer>;
  /** When the answer came back; undefined while the check is in flight. */
  doneAtMs?: number;
}

/** Runs destinations' connection checks with a transport, one at a time per destination. */
export class ConnectionChecks {
  private readonly flights = new Map<string, Flight>();

  constructor(
    private readonly transport: Transport | undefined,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The destination's verdict: sent now, or the one in flight or just returned (see CHECK_REUSE_MS). */
  check(destination: DestinationInstance): Promise<ConnectionCheckAnswer> {
    const previous = this.flights.get(destination.id);
    if (previous && (previous.doneAtMs === undefined || this.clock.now() - previous.doneAtMs < CHECK_REUSE_MS)) return previous.answer;
    const flight: Flight = {
      answer: this.run(destination).finally(() => {
        flight.doneAtMs = this.clock.now();
      }),
    };
    this.flights.set(destination.id, flight);
    return flight.answer;
  }

  private async run(destination: DestinationInstance): Promise<ConnectionCheckAnswer> {
    const hook = destination.plugin.connectionCheck;
    if (!hook) return { ...CHECK_NOT_SUPPORTED, status: null };
    // Sending without the credentials could only be refused: say what is missing instead.
    const missing = missingConfigOf(destination);
    if (missing.length > 0) return { ok: false, status: null, reason: `missing configuration: ${missing.join(', ')}` };
    // What only the check needs (Amplitude's secretKey): the credentials cannot be told good or bad without it.
    const unchecked = hook.missingConfig?.(destination.settings) ?? [];
    if (unchecked.length > 0) return { ok: null, status: null, reason: `cannot check: ${unchecked.join('; ')}` };
    if (!this.transport) throw new Error('connection checks need a transport');
    const redact = (text: string) => redactText(text, secretValues(destination)).slice(0, MAX_REASON_CHARS);
    try {
      const result = await this.transport.send(hook.request(destination.settings), destination.timeoutMs);
      const verdict = hook.readAnswer(result, destination.settings);
      return { ok: verdict.ok, status: result.kind === 'response' ? result.status : null, reason: redact(verdict.reason) };
    } catch (error) {
      // A plugin's hook is pure and should not throw; if it does, the operator sees why rather than a 500.
      return { ok: null, status: null, reason: redact(`the ${destination.plugin.id} plugin failed to check: ${(error as Error).message}`) };
    }
  }
}

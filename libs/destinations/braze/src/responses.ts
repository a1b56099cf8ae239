import type { Outcome } from '@ferry/core';

/**
 * One outcome per delivery of a request, whatever came back. A stub until Braze's answers are
 * known: core's standardFailureOutcomes answers every non-2xx, and parseJsonSafely reads a body that may be anything.
 */
export function parseResponse(): Outcome[] {
  throw new Error('braze: parseResponse is not implemented yet');
}

import type { DeliveryRequest } from '@ferry/core';

/**
 * The requests for a batch of deliveries that passed the filter. A stub until Braze's API is
 * wired in: core's byEnvironment, jsonArrayBodies and urlUnder do the shared parts (see the Amplitude plugin).
 */
export function buildRequests(): DeliveryRequest[] {
  throw new Error('braze: buildRequests is not implemented yet');
}

import { z } from 'zod';
import {
  EVENT_KINDS,
  type AttemptRow,
  type BodyRecord,
  type DeliveryRequest,
  type DeliveryRow,
  type Environment,
  type EventRow,
  type OutcomeType,
} from '@ferry/core';
import { deliveryState, mirrors } from './schema';

/** What the store keeps, as the admin API shows it: each schema mirrors core's type and fails to compile if they part. */

export const eventKind = z.enum(EVENT_KINDS).meta({ id: 'EventKind', description: 'What the event means for a subscription.' });
export const environment = mirrors<Environment>()(z.enum(['PRODUCTION', 'SANDBOX']).meta({ id: 'Environment' }));

export const eventRow = mirrors<EventRow>()(
  z
    .object({
      id: z.string(),
      source: z.string().describe('The source that received it.'),
      type: z.string().describe("The source's event type, as received."),
      kind: eventKind.nullable().describe('Null when no destination delivers the type as a subscription event.'),
      userId: z.string().nullable(),
      productId: z.string().nullable().describe('The product it is about; null when it names none, or stored before Ferry kept products.'),
      environment,
      timestampMs: z.number().describe('When it happened.'),
      receivedAtMs: z.number(),
    })
    .meta({ id: 'EventRow', description: 'A stored event.' }),
);

export const deliveryRow = mirrors<DeliveryRow>()(
  z
    .object({
      id: z.string(),
      eventId: z.string(),
      destinationId: z.string(),
      state: deliveryState,
      attempts: z.number().int().nonnegative(),
      nextAttemptAtMs: z.number().nullable().describe('When a pending delivery is tried next.'),
      leaseUntilMs: z.number().nullable().describe('When the lease of an in-flight delivery expires.'),
      lastStatus: z.number().nullable().describe('The HTTP status of the last attempt.'),
      lastError: z.string().nullable(),
      deliveredAtMs: z.number().nullable(),
      createdAtMs: z.number(),
      updatedAtMs: z.number(),
    })
    .meta({ id: 'DeliveryRow', description: 'One event to one destination.' }),
);

const outcome = mirrors<OutcomeType>()(z.enum(['delivered', 'retry', 'rejected', 'auth_failed']).meta({ id: 'Outcome' }));

export const attempt = mirrors<AttemptRow>()(
  z
    .object({
      deliveryId: z.string(),
      number: z.number().int().positive(),
      startedAtMs: z.number(),
      durationMs: z.number(),
      status: z.number().nullable().describe('The HTTP status, null when no answer came.'),
      outcome,
      error: z.string().nullable(),
    })
    .meta({ id: 'Attempt', description: 'One request that carried the delivery.' }),
);

const bodyRecord = mirrors<BodyRecord>()(
  z
    .object({
      deliveryId: z.string(),
      part: z.string().describe('What the record is (`event`, `profile`, …).'),
      decides: z.boolean().describe("Whether the destination's answer for this record decides the delivery's outcome."),
    })
    .meta({ id: 'BodyRecord' }),
);

export const deliveryRequest = mirrors<DeliveryRequest>()(
  z
    .object({
      method: z.enum(['POST', 'PUT']),
      url: z.string(),
      headers: z.record(z.string(), z.string()).describe('Secret values are redacted.'),
      body: z.string(),
      deliveryIds: z.array(z.string()),
      records: z.array(bodyRecord).optional().describe("The body's records in body order, when a delivery may have several."),
      concurrencyKey: z.string(),
      warnings: z.array(z.string()).optional(),
    })
    .meta({ id: 'DeliveryRequest', description: 'An HTTP request a destination plugin builds, secrets redacted.' }),
);

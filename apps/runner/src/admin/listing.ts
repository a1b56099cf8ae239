import { z } from 'zod';
import { MAX_ID_LENGTH, type ListFilter } from '@ferry/core';
import { numeric } from '../input';
import { eventKind } from './records';
import { deliveryState, sourceId, time } from './schema';

/** The filters and paging that list events and deliveries, newest first. */

const MAX_LIMIT = 500;
const DEFAULT_LIMIT = 50;

export const listQuery = z
  .object({
    state: deliveryState.optional().describe('Only those with a delivery in this state.'),
    destination: z.string().min(1).optional().describe('Only those with a delivery to this destination.'),
    user: z.string().min(1).optional().describe('Only events of this app user id.'),
    userPrefix: z
      .string()
      .min(1)
      .max(MAX_ID_LENGTH)
      .optional()
      .describe('Only events whose app user id starts with this (exactly: `%` and `_` are plain characters). Not with `user`.'),
    product: z
      .string()
      .min(1)
      .optional()
      .describe('Only events of this product id, exactly (events stored before Ferry kept products have none).'),
    kind: eventKind.optional().describe('Only events of this kind.'),
    type: z.string().min(1).optional().describe('Only events of this type, as the source names it.'),
    source: sourceId.optional().describe('Only events received through this source (its id in the config).'),
    since: time.optional().describe('Received at or after this time.'),
    until: time.optional().describe('Received before this time.'),
    limit: numeric(z.number().int().min(1).max(MAX_LIMIT).optional()).describe(`At most this many (default ${DEFAULT_LIMIT}).`),
    before: z.string().min(1).optional().describe("The previous page's `next`: the page after it."),
  })
  .strict()
  .superRefine((query, ctx) => {
    if (query.user !== undefined && query.userPrefix !== undefined)
      ctx.addIssue({ code: 'custom', path: ['userPrefix'], message: 'give user or userPrefix, not both' });
  });

export type ListQuery = z.output<typeof listQuery>;

/** The store's filter for a listing; a filter named alike in the query and the store passes as it is. */
export function listFilter(query: ListQuery): ListFilter & { limit: number } {
  const { destination, user, product, since, until, limit, ...same } = query;
  return {
    ...same,
    destinationId: destination,
    userId: user,
    productId: product,
    sinceMs: since,
    untilMs: until,
    limit: limit ?? DEFAULT_LIMIT,
  };
}

/** One page of a newest-first listing; `next` is the `before` cursor of the following page, if there may be one. */
export function pageOf<T extends { readonly id: string }>(items: readonly T[], limit: number): { items: readonly T[]; next?: string } {
  return items.length === limit ? { items, next: items[items.length - 1].id } : { items };
}

/** The `next` of a listing's answer. */
export const nextCursor = z.string().optional().describe('Pass as `before` for the next page; absent on the last one.');

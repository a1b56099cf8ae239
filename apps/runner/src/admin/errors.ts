import type { z } from 'zod';
import { StoreInputError, type FieldIssue } from '@ferry/core';
import { fieldIssues } from '../input';

/** Input an operator got wrong (a query parameter, a replay selector, a webhook to preview), with each field's path: 400. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly issues: readonly FieldIssue[],
  ) {
    super(message);
    this.name = 'InputError';
  }
}

/** What the request names does not exist (an event, a destination, a replay job): 404. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The request cannot be done in the state things are in (resuming a destination that lacks configuration): 409. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** Parses what an operator sent; an absent body or query counts as empty. Throws an InputError naming each field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  throw new InputError(`invalid ${what}`, fieldIssues(parsed.error.issues, 'unknown parameter'));
}

/** A query the store refuses for its input (a `before` naming no row) is the operator's mistake, answered as such. */
export async function queryStore<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    if (!(error instanceof StoreInputError)) throw error;
    throw new InputError('invalid query', [{ path: error.field ?? '(query)', message: error.message }]);
  }
}

import { z } from 'zod';
import { issuesFromZod, type FieldIssue } from '@ferry/core';

/** Bad input to a fake's own API (options, faults, rates), with the path of every wrong field. */
export class FakeInputError extends Error {
  constructor(
    what: string,
    readonly issues: readonly FieldIssue[],
  ) {
    super(`Invalid ${what}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
    this.name = new.target.name;
  }
}

// Node refuses to write a header with an invalid name or a line break in its value.
export const headerName = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'not a valid HTTP header name');
export const headerText = z.string().regex(/^[^\r\n]*$/, 'must not contain line breaks');

export const callback = <T>() => z.custom<T>((value) => typeof value === 'function', 'must be a function');

/** The options every fake takes: where it listens, how long it waits before answering an upload, its clock. */
export const commonOptions = {
  port: z.int().min(0).max(65535).optional(),
  host: z.string().min(1).optional(),
  latencyMs: z.int().min(0).optional(),
  now: callback<() => number>().optional(),
};

/** Validates input to a fake's own API (options, rates), throwing `fail(issues)` naming every wrong field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, fail: (issues: FieldIssue[]) => Error): T {
  const result = schema.safeParse(input);
  if (!result.success) throw fail(issuesFromZod(result.error.issues));
  return result.data;
}

/** Names (accounts, projects) each with one or more secrets (passcodes, API keys). */
export const secretsByName = z.record(z.string().min(1), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]));

/**
 * Validates one item or a list of them. A list's issues keep their index in the path; a single item's do not.
 * `fail` builds the error from the issues.
 */
export function parseOneOrMany<T>(schema: z.ZodType<T>, input: unknown, fail: (issues: FieldIssue[]) => Error): T[] {
  const list = Array.isArray(input);
  const result = z.array(schema).safeParse(list ? input : [input]);
  if (result.success) return result.data;
  throw fail(issuesFromZod(list ? result.error.issues : result.error.issues.map((issue) => ({ ...issue, path: issue.path.slice(1) }))));
}

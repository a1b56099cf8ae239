import { z } from 'zod';
import { issuesFromZod, type FieldIssue } from '@ferry/core';

/** A source's or destination's id, in the config and wherever an operator names one (URLs, metrics, logs). */
export const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const INSTANCE_ID_RULE = 'letters, digits, "_", "-" and "." only, at most 64 characters';

/** Helpers for validating what operators write: config files, query strings, request bodies, flags. */

/** A number that may arrive as text: from a `${VAR}` reference, a query string or a command-line flag. */
export const numeric = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value), schema);

/**
 * A number from `min` to `max` (a whole one unless `fractional`), whose errors name the bound. Every duration
 * and size an operator sets has both: an extreme value can switch a guard off (a timeout of years) or exhaust
 * the machine.
 */
export const bounded = (min: number, max: number, { fractional = false } = {}) => {
  const number = z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);
  return fractional ? number : number.int('must be a whole number');
};

/**
 * zod's issues with formatted paths; an unknown key is reported at its own path rather than its parent's, and
 * a value no option of a union took by the problems of the option its type fits (`sources`: a list or an object).
 */
export function fieldIssues(issues: readonly z.core.$ZodIssue[], unknownKey: string, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  const spread = (issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string }[] => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: [...issue.path, key], message: unknownKey }));
    if (issue.code === 'invalid_union') {
      // The options that refused the value's type at their root (an object where a list goes) are not the one meant.
      const fitting = issue.errors.filter(
        (errors) => !errors.every((nested) => nested.code === 'invalid_type' && nested.path.length === 0),
      );
      if (fitting.length === 1) return fitting[0].flatMap((nested) => spread({ ...nested, path: [...issue.path, ...nested.path] }));
    }
    return [issue];
  };
  return issuesFromZod(issues.flatMap(spread), prefix);
}

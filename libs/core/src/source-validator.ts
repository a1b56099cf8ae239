import { Ajv, type ValidateFunction } from 'ajv';
import { z } from 'zod';
import { isStorableText, issuesFromZod, type ParseResult } from './source';
import { MAX_EPOCH_MS, isEpochMs } from './store/records';

/** JSON Schema keywords that say what one zod refinement checks; they are added to the refined schema's own. */
export type RefinementKeywords = Readonly<Record<string, unknown>>;

/** A refinement's function, as it was passed to zod's `.refine`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RefinementFunction = (value: any) => unknown;

/**
 * Core's own refinements in JSON Schema. The pattern runs as a unicode regular expression, where a lone
 * surrogate is one code point that `\p{Surrogate}` matches and a valid pair is one astral code point that it
 * does not, exactly as `isStorableText` tests.
 */
const CORE_REFINEMENTS: ReadonlyMap<RefinementFunction, RefinementKeywords> = new Map<RefinementFunction, RefinementKeywords>([
  [isStorableText, { pattern: '^[^\\u0000\\p{Surrogate}]*$' }],
  [isEpochMs, { type: 'integer', minimum: -MAX_EPOCH_MS, maximum: MAX_EPOCH_MS }],
]);

/**
 * zod checks whose JSON Schema keywords mean exactly what zod checks: numeric bounds, and string lengths,
 * which both count in code points (a valid surrogate pair is one, a lone surrogate one too). Any other check
 * (a regex with its flags, a format, a trim) stops the compilation instead of being checked differently or
 * not at all.
 */
const EXACT_CHECKS = new Set(['min_length', 'max_length', 'length_equals', 'greater_than', 'less_than', 'number_format']);

/** Schema kinds whose output may differ from their input: the compiled path hands the input on as it is. */
const TRANSFORMING_KINDS = new Set(['transform', 'pipe', 'default', 'prefault', 'catch', 'codec', 'success']);

export interface CompileSchemaOptions {
  /** zod's error map for refusals: the messages the caller answers with. */
  readonly error?: z.core.$ZodErrorMap;
  /** A source's own refinements in JSON Schema, beyond core's (`StorableText`, `StorableId`, `EpochMs`). */
  readonly refinements?: ReadonlyMap<RefinementFunction, RefinementKeywords>;
}

/** A zod schema compiled to a validator for a path that runs on every request. */
export interface CompiledSchema<T> {
  /** The compiled validator alone: true for exactly the inputs the zod schema accepts. */
  accepts(input: unknown): input is T;
  /** The input itself when the compiled validator accepts it, else zod's answer (its issues, with their messages). */
  check(input: unknown): ParseResult<T>;
}

function describePath(path: readonly (string | number)[]): string {
  return path.length === 0 ? '(root)' : path.join('/');
}

/**
 * The JSON Schema of `schema` that accepts exactly what zod accepts, or an error naming the part it cannot
 * express (a refinement it does not know, a transform, an inexact check): better refused here than a body
 * accepted that zod would refuse.
 */
export function exactJsonSchema(
  schema: z.ZodType,
  refinements: ReadonlyMap<RefinementFunction, RefinementKeywords> = CORE_REFINEMENTS,
): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'throw',
    override: ({ zodSchema, jsonSchema, path }) => {
      const def = (zodSchema as z.core.$ZodType)._zod.def as z.core.$ZodTypeDef & { coerce?: boolean };
      if (TRANSFORMING_KINDS.has(def.type) || def.coerce === true) {
        throw new Error(`cannot compile the schema: a ${def.type}${def.coerce ? ' (coerced)' : ''} at ${describePath(path)}`);
      }
      // z.object drops unknown keys from its output, which the compiled path would keep.
      if (def.type === 'object' && (def as z.core.$ZodObjectDef).catchall === undefined) {
        throw new Error(
          `cannot compile the schema: an object that strips unknown keys at ${describePath(path)} (use z.looseObject or z.strictObject)`,
        );
      }
      // A format schema (z.int(), z.email()) is its own first check.
      const checks = zodSchema._zod.traits.has('$ZodCheck')
        ? [zodSchema as unknown as z.core.$ZodCheck, ...(def.checks ?? [])]
        : (def.checks ?? []);
      for (const check of checks) {
        const checkDef = check._zod.def as z.core.$ZodCheckDef & { fn?: RefinementFunction };
        if (EXACT_CHECKS.has(checkDef.check)) continue;
        const keywords = checkDef.check === 'custom' && checkDef.fn !== undefined ? refinements.get(checkDef.fn) : undefined;
        if (keywords === undefined) {
          throw new Error(`cannot compile the schema: no exact JSON Schema for its ${checkDef.check} check at ${describePath(path)}`);
        }
        Object.assign(jsonSchema, keywords);
      }
    },
  }) as Record<string, unknown>;
}

/**
 * `schema` compiled once to a validator (ajv, over the JSON Schema zod emits) that accepts exactly what the
 * zod schema accepts. An accepted input is passed on as it is (the schema has no transforms, so zod's output
 * would equal it); a refused one is given to zod, whose issues and messages are the answer. Should zod
 * accept what the validator refused, zod's output wins.
 */
export function compileSchema<T>(schema: z.ZodType<T>, options: CompileSchemaOptions = {}): CompiledSchema<T> {
  const jsonSchema = exactJsonSchema(schema, new Map([...CORE_REFINEMENTS, ...(options.refinements ?? [])]));
  let validate: ValidateFunction | undefined;
  const accepts = (input: unknown): input is T => {
    // Compiled at first use (60–200 ms on a 2-core machine, by its load): a process that only imports a source (the CLI) skips it.
    validate ??= new Ajv({
      // Anything ajv would otherwise let pass with a warning (an unknown keyword or format) stops the compilation.
      strict: true,
      allowUnionTypes: true,
      // As zod: refuse NaN and Infinity; test patterns per code point.
      strictNumbers: true,
      unicodeRegExp: true,
    }).compile(jsonSchema);
    return validate(input);
  };
  return {
    accepts,
    check: (input) => {
      if (accepts(input)) return { ok: true, value: input };
      const result = schema.safeParse(input, { error: options.error });
      return result.success ? { ok: true, value: result.data } : { ok: false, issues: issuesFromZod(result.error.issues) };
    },
  };
}

/**
 * CPU per RevenueCat `parse()` of the RENEWAL fixture: zod alone (how every webhook was validated before) against
 * the compiled validator (how it is now), in one process, alternating round by round so both see the same
 * machine. `nx run bench:build`, then `node tools/bench/dist/parse-cost.js`. Prints figures; asserts none.
 */
import { isDeepStrictEqual } from 'node:util';
import { nestingIssue, type ParseResult, type SubscriptionEvent } from '@ferry/core';
import { revenueCatSource, revenueCatWebhookSchema, toSubscriptionEvent } from '@ferry/revenuecat';
import { webhookBody } from '@ferry/testkit';
import { cpuMicrosSince, percentile, round } from './stats';

const ROUNDS = 15;
const CALLS_PER_ROUND = 20_000;

/** The parse as it was: the nesting check, then zod walks the schema. Refusals are not measured, so no error map. */
function parseWithZodOnly(body: unknown): ParseResult<SubscriptionEvent> {
  const tooDeep = nestingIssue(body);
  if (tooDeep !== undefined) return { ok: false, issues: [tooDeep] };
  const result = revenueCatWebhookSchema.safeParse(body);
  if (!result.success) throw new Error('the RENEWAL fixture must parse');
  return { ok: true, value: toSubscriptionEvent(result.data) };
}

/** CPU microseconds (user and system) per call of `run`, over `calls` calls. */
function cpuMicrosPerCall(run: () => unknown, calls: number): number {
  let accepted = 0;
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) if (run()) accepted++;
  const used = cpuMicrosSince(before);
  if (accepted !== calls) throw new Error('every call must give an answer');
  return used / calls;
}

function main(): void {
  const text = webhookBody('renewal');
  const body: unknown = JSON.parse(text);
  const zodOnly = () => parseWithZodOnly(body);
  const compiled = () => revenueCatSource.parse(body);

  // The compiled path's one-time cost: the validator is compiled at the first parse.
  const compileStart = process.hrtime.bigint();
  const first = compiled();
  const firstCallMs = Number(process.hrtime.bigint() - compileStart) / 1e6;
  if (!first.ok) throw new Error('the RENEWAL fixture must parse');
  const before = parseWithZodOnly(body);
  if (!before.ok || !isDeepStrictEqual(first.value, before.value))
    throw new Error('zod alone and the compiled validator give different events');

  // Warm both paths up before measuring (JIT, inline caches).
  cpuMicrosPerCall(zodOnly, CALLS_PER_ROUND);
  cpuMicrosPerCall(compiled, CALLS_PER_ROUND);

  const samples = { zodOnly: [] as number[], compiled: [] as number[], jsonParse: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first, so neither always runs on a machine the other has just warmed or heated.
    const order = round % 2 === 0 ? (['zodOnly', 'compiled'] as const) : (['compiled', 'zodOnly'] as const);
    for (const which of order) samples[which].push(cpuMicrosPerCall(which === 'zodOnly' ? zodOnly : compiled, CALLS_PER_ROUND));
    samples.jsonParse.push(cpuMicrosPerCall(() => JSON.parse(text), CALLS_PER_ROUND));
  }

  const median = (values: number[]) => round(percentile(Float64Array.from(values).sort(), 50)!);
  const zodMedian = median(samples.zodOnly);
  const compiledMedian = median(samples.compiled);
  console.log(`RevenueCat parse() of the RENEWAL fixture (${text.length} bytes), CPU µs per call,`);
  console.log(`median of ${ROUNDS} rounds of ${CALLS_PER_ROUND.toLocaleString('en')} calls each:`);
  console.log(
    `  zod only (before)        ${zodMedian.toFixed(2)} µs   (rounds: ${round(Math.min(...samples.zodOnly))}–${round(Math.max(...samples.zodOnly))})`,
  );
  console.log(
    `  compiled validator (now) ${compiledMedian.toFixed(2)} µs   (rounds: ${round(Math.min(...samples.compiled))}–${round(Math.max(...samples.compiled))})`,
  );
  console.log(`  JSON.parse of the body   ${median(samples.jsonParse).toFixed(2)} µs   (for scale)`);
  console.log(`  saved ${round(zodMedian - compiledMedian)} µs per webhook (${round((1 - compiledMedian / zodMedian) * 100, 0)} %)`);
  console.log(`  compiling the validator: ${round(firstCallMs, 1)} ms, once per process, at the first parse`);
}

main();

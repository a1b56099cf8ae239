import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { round } from './stats';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that self time needs. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }[];
  readonly samples: readonly number[];
  /** Microseconds since the previous sample, one per sample. */
  readonly timeDeltas: readonly number[];
}

export interface HotSpot {
  /** `function (package/file:line)`, or V8's own entries such as `(garbage collector)`. */
  readonly where: string;
  readonly selfMs: number;
  /** Share of all sampled time, idle included. */
  readonly percent: number;
}

/** The functions with the most self time, V8's `(idle)` and `(program)` included so the shares add up. */
export function hotSpots(profile: CpuProfile, top = 15): HotSpot[] {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    const frame = nodes.get(id)?.callFrame;
    const where = frame ? describeFrame(frame) : '(unknown)';
    selfMicros.set(where, (selfMicros.get(where) ?? 0) + delta);
    total += delta;
  });
  return [...selfMicros]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, micros]) => ({ where, selfMs: Math.round(micros / 1000), percent: total > 0 ? round((micros / total) * 100, 1) : 0 }));
}

function describeFrame(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  // The package (or our project) and file are enough to find it: node_modules/kysely/dist/cjs/x.js → kysely/…/x.js.
  const parts = frame.url.replace(/^file:\/\//, '').split('/');
  const modules = parts.lastIndexOf('node_modules');
  const owner = modules >= 0 ? parts[modules + 1 + (parts[modules + 1]?.startsWith('@') ? 1 : 0)] : parts[parts.indexOf('dist') - 1];
  return `${name} (${owner ? `${owner}/…/` : ''}${parts.at(-1)}:${frame.lineNumber + 1})`;
}

/** The newest `.cpuprofile` in a folder. */
export function readNewestProfile(dir: string): CpuProfile {
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.cpuprofile'))
    .sort();
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  return JSON.parse(readFileSync(path.join(dir, files[files.length - 1]), 'utf8')) as CpuProfile;
}

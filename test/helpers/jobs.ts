import type { Backend } from '../../src/backends/types.js';
import { emCollapse } from '../../src/kernels/em_collapse.js';
import { drawInto } from '../../src/kernels/philox_fill.js';
import type { Distribution } from '../../src/rng/philox.js';
import { STAT_FIELDS, type SimJob, type SimStats } from '../../src/sde/job.js';
import { builtinModels } from '../../src/sde/models/index.js';

/** A small Monte Carlo problem on a built-in model: fixed parameters and a grid of the noise parameter. */
export interface JobCase {
  readonly model: string;
  readonly fixed: Record<string, number>;
  readonly noise: readonly number[];
  readonly dt: number;
  readonly epsilon: number;
  readonly steps?: number;
  readonly record?: readonly number[];
}

/** The SimJob of a case (70 paths, 300 steps, records 0/100/300, seed 7 unless the case or `overrides` say otherwise). */
export function buildJob(c: JobCase, overrides: Partial<SimJob> = {}): SimJob {
  const def = builtinModels[c.model];
  const built = def.build(c.fixed, { seed: 1 });
  const rows = c.noise.map((v) => built.pack({ ...c.fixed, [def.noiseParam]: v }));
  return {
    model: built.kernel,
    params: Float32Array.from(rows.flat()),
    gridOffset: 0,
    gridCount: rows.length,
    paths: 70,
    pathOffset: 0,
    steps: c.steps ?? 300,
    dt: c.dt,
    record: c.record ?? [0, 100, 300],
    epsilon: c.epsilon,
    seed: 7,
    init: built.init,
    ...overrides,
  };
}

/** Runs the em_collapse kernel for one job on a backend. */
export function simulate(backend: Backend, job: SimJob): Promise<SimStats> {
  return emCollapse.run(backend, job);
}

/** Field f (0 collapsed, 1 diverged, 2..4 moment sums) of every (record, grid point). */
export function field(stats: Float64Array, f: number): number[] {
  const out: number[] = [];
  for (let i = f; i < stats.length; i += STAT_FIELDS) out.push(stats[i]);
  return out;
}

/** `count` draws offset.. of (seed, stream) on a backend through the philox_fill kernel. */
export async function draws(backend: Backend, kind: Distribution, count: number, seed: number, stream: number, offset: number): Promise<Uint32Array | Float32Array> {
  const out = kind === 'uint32' ? new Uint32Array(count) : new Float32Array(count);
  await drawInto(backend, kind, out, seed, stream, offset);
  return out;
}

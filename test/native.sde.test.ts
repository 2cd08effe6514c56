import { describe, expect, it } from 'vitest';
import { JsBackend } from '../src/backends/js.js';
import { NativeBackend } from '../src/backends/native.js';
import { STAT_FIELDS, type KernelModel, type SimJob } from '../src/sde/job.js';
import { families, runInChild, type ChildCall } from './helpers/isa-child.js';
import { buildJob, field, simulate, type JobCase } from './helpers/jobs.js';

const js = new JsBackend();
const native = NativeBackend.load();

// Small problems in regimes where some paths collapse, so the counts are informative.
const CASES: JobCase[] = [
  { model: 'quartic', fixed: { mu: 1.5, zeta: 1 }, noise: [0.5, 2.2, 3], dt: 0.01, steps: 400, record: [0, 50, 200, 400], epsilon: 1e-3 },
  { model: 'neuron', fixed: { alpha: 1, m: 6, labelNoise: 0.1 }, noise: [0.3, 1.5, 3], dt: 0.01, steps: 300, record: [0, 100, 300], epsilon: 1e-3 },
  { model: 'teacher-student', fixed: { sStar: 1, sigma: 10, eta: 3 / 1024 }, noise: [5, 30, 50], dt: 3 / 1024, steps: 500, record: [0, 7, 250, 500], epsilon: 1e-2 },
  { model: 'two-neuron-sgd', fixed: { sigma: 0.1, lr: 0.1, n: 5 }, noise: [0.3, 3, 6], dt: 0.1, steps: 300, record: [0, 1, 150, 300], epsilon: 0.2 },
];

function makeJob(c: JobCase, over: Partial<SimJob> = {}, seed = 7): SimJob {
  return buildJob(c, { paths: 37, seed, ...over });
}

function relClose(a: number, b: number, rel: number, abs = 1e-9): boolean {
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + abs;
}

describe('native simulate: the js reference semantics', () => {
  for (const c of CASES) {
    it(`${c.name}: counts equal the js backend's, moments agree to 1e-4 (log-moment 1e-3)`, async () => {
      const job = makeJob(c);
      const [ref, got] = await Promise.all([simulate(js, job), simulate(native, job)]);
      expect(got.stats.length).toBe(c.record.length * c.noise.length * STAT_FIELDS);
      expect(field(got.stats, 0)).toEqual(field(ref.stats, 0));
      expect(field(got.stats, 1)).toEqual(field(ref.stats, 1));
      // the counts must be informative somewhere: some collapse, some do not
      const collapsed = field(ref.stats, 0).reduce((s, v) => s + v, 0);
      expect(collapsed).toBeGreaterThan(0);
      expect(collapsed).toBeLessThan(37 * c.record.length * c.noise.length);
      // ln(distance) of collapsing paths is the most sensitive: where x and its multiplicative noise
      // nearly cancel, the f32 normals' 1e-6 difference from the f64 reference is amplified.
      for (const [f, rel] of [[2, 1e-4], [3, 1e-4], [4, 1e-3]]) {
        const a = field(got.stats, f), b = field(ref.stats, f);
        for (let i = 0; i < a.length; i++) expect(relClose(a[i], b[i], rel), `${c.name} field ${f} entry ${i}: ${a[i]} vs ${b[i]}`).toBe(true);
      }
    });
  }

  it('the initial state (record 0) is bit-identical in its moments when the init std is nonzero', async () => {
    const c = CASES[0];
    const job = makeJob(c, { record: [0], init: { mean: [0.25], std: [2], shared: false } });
    const [ref, got] = await Promise.all([simulate(js, job), simulate(native, job)]);
    for (let i = 0; i < ref.stats.length; i++) expect(relClose(got.stats[i], ref.stats[i], 1e-5)).toBe(true);
  });

  it('counts diverged paths separately (quartic with a huge step)', async () => {
    const c = { ...CASES[0], dt: 0.5, noise: [1], record: [0, 30] };
    const job = makeJob(c, { init: { mean: [0], std: [4], shared: true } });
    const [ref, got] = await Promise.all([simulate(js, job), simulate(native, job)]);
    expect(ref.stats[STAT_FIELDS + 1]).toBeGreaterThan(0);
    expect(got.stats[STAT_FIELDS + 1]).toBe(ref.stats[STAT_FIELDS + 1]);
    expect(got.stats[STAT_FIELDS]).toBe(ref.stats[STAT_FIELDS]);
  });

  it('traces the first paths of each grid point like the js backend', async () => {
    const c = CASES[1];
    const job = makeJob(c, { trace: { paths: 3, every: 7 } });
    const [ref, got] = await Promise.all([simulate(js, job), simulate(native, job)]);
    expect(got.trace).toBeDefined();
    expect(got.trace!.length).toBe(ref.trace!.length);
    let worst = 0;
    for (let i = 0; i < ref.trace!.length; i++) worst = Math.max(worst, Math.abs(got.trace![i] - ref.trace![i]) / (1e-3 + Math.abs(ref.trace![i])));
    expect(worst).toBeLessThan(1e-3);
  });

  it('gives bit-identical stats and traces for 1, 2 and 3 threads', async () => {
    for (const c of CASES) {
      const job = makeJob(c, { paths: 300, trace: { paths: 5, every: 10 } });
      const outs = await Promise.all([1, 2, 3].map((threads) => simulate(NativeBackend.load({ threads }), job)));
      for (const o of outs.slice(1)) {
        expect(Array.from(o.stats)).toEqual(Array.from(outs[0].stats));
        expect(Array.from(o.trace!)).toEqual(Array.from(outs[0].trace!));
      }
    }
  });

  it('gridOffset sharding reproduces the slice of an unsharded run exactly', async () => {
    const c = CASES[0];
    const full = makeJob(c, { paths: 200, init: { mean: [0], std: [2], shared: false } });
    const whole = await simulate(native, full);
    const np = full.model.paramNames.length;
    const R = c.record.length, G = c.noise.length;
    for (let k = 0; k < G; k++) {
      const part = await simulate(native, { ...full, gridOffset: k, gridCount: 1, params: full.params.slice(k * np, (k + 1) * np) });
      for (let r = 0; r < R; r++) {
        for (let f = 0; f < STAT_FIELDS; f++) expect(part.stats[r * STAT_FIELDS + f]).toBe(whole.stats[(r * G + k) * STAT_FIELDS + f]);
      }
    }
  });

  it('pathOffset sharding reproduces the unsharded run: exact counts, traces and per-shard stats', async () => {
    const c = CASES[3];
    const full = makeJob(c, { paths: 256, trace: { paths: 256, every: 50 } });
    const whole = await simulate(native, full);
    const shards = await Promise.all([0, 128].map((pathOffset) => simulate(native, { ...full, paths: 128, pathOffset, trace: { paths: 128, every: 50 } })));
    const sum = new Float64Array(whole.stats.length);
    for (const s of shards) s.stats.forEach((v, i) => { sum[i] += v; });
    expect(field(sum, 0)).toEqual(field(whole.stats, 0));
    expect(field(sum, 1)).toEqual(field(whole.stats, 1));
    for (const f of [2, 3, 4]) {
      const a = field(sum, f), b = field(whole.stats, f);
      for (let i = 0; i < a.length; i++) expect(relClose(a[i], b[i], 1e-12)).toBe(true);
    }
    // trace [k][path][sample][d]: shard s holds paths 128 s .. 128 s + 127 of the whole run
    const d = full.model.d, samples = Math.floor(c.steps / 50) + 1, per = 128 * samples * d;
    for (let k = 0; k < c.noise.length; k++) {
      for (let s = 0; s < 2; s++) {
        const want = whole.trace!.subarray((k * 256 + s * 128) * samples * d, (k * 256 + s * 128) * samples * d + per);
        const got = shards[s].trace!.subarray(k * per, (k + 1) * per);
        expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(true);
      }
    }
    // and a path shard that is a whole tile-aligned prefix is exact in every field
    const prefix = await simulate(native, { ...full, paths: 128, trace: undefined });
    const alone = await simulate(native, { ...full, paths: 128, trace: undefined, gridCount: 1, params: full.params.slice(0, 1) });
    // every field of grid point 0, every record: counts and moment sums (a zero-only comparison could not fail)
    const R = full.record.length, G = full.gridCount;
    const ofPrefix = Array.from({ length: R }, (_, r) => Array.from(prefix.stats.subarray(r * G * STAT_FIELDS, (r * G + 1) * STAT_FIELDS)));
    expect(ofPrefix.flat().some((v) => v !== 0)).toBe(true);
    expect(Array.from(alone.stats)).toEqual(ofPrefix.flat());
  });

  it('reports progress up to the total number of path-steps', async () => {
    const seen: number[] = [];
    const job = makeJob(CASES[0], { paths: 1000, steps: 20_000, record: [20_000], onProgress: (n) => seen.push(n) });
    await simulate(native, job);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[seen.length - 1]).toBe(1000 * 3 * 20_000);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
  });

  it('aborts a running simulation with an ABORTED error', async () => {
    const controller = new AbortController();
    const job = makeJob(CASES[0], { paths: 20_000, steps: 2_000_000, record: [2_000_000], signal: controller.signal });
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    await expect(simulate(native, job)).rejects.toMatchObject({ code: 'ABORTED', message: expect.stringMatching(/aborted/) });
    expect(Date.now() - started).toBeLessThan(5_000);
    const pre = new AbortController();
    pre.abort();
    await expect(simulate(native, { ...job, signal: pre.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('rejects models without a native kernel', async () => {
    const base = makeJob(CASES[0]);
    const custom: KernelModel = { ...base.model, name: 'my-model', native: false };
    await expect(simulate(native, { ...base, model: custom })).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/no native kernel.*'webgpu' or 'js'/) });
    const unknown: KernelModel = { ...base.model, name: 'not-compiled-in', native: true };
    await expect(simulate(native, { ...base, model: unknown })).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });

  it('wraps bad sizes into NATIVE_FAILURE errors with clear messages and the caller stack', async () => {
    const base = makeJob(CASES[0]);
    const err = await simulate(native, { ...base, params: new Float32Array(5) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NATIVE_FAILURE', message: expect.stringMatching(/params must hold/) });
    expect((err as Error).stack).toMatch(/native\.sde\.test/);
    await expect(simulate(native, { ...base, record: [0, 500] })).rejects.toMatchObject({ code: 'NATIVE_FAILURE', message: expect.stringMatching(/record/) });
  });

  it('handles edge sizes: 1 path, 0 steps, a tile boundary (128, 129 paths)', async () => {
    const c = CASES[2];
    for (const paths of [1, 16, 17, 128, 129]) {
      const job = makeJob(c, { paths });
      const [ref, got] = await Promise.all([simulate(js, job), simulate(native, job)]);
      expect(field(got.stats, 0)).toEqual(field(ref.stats, 0));
      expect(field(got.stats, 1)).toEqual(field(ref.stats, 1));
    }
    const zero = makeJob(c, { steps: 0, record: [0] });
    const [ref, got] = await Promise.all([simulate(js, zero), simulate(native, zero)]);
    expect(Array.from(got.stats)).toEqual(Array.from(ref.stats));
  });
});

/**
 * The fused SIMD driver (native/sde_simd.h) exists twice, AVX-512 and AVX2 (sde_isa.h): every model (the momentum
 * model diverging on some paths), with steps not a multiple of 4 (the per-block heads and tails), noise dimensions 1, 6 and 8 (blocks straddling
 * steps or not), a path offset that is not a multiple of the vector width, traces and several records, gives the
 * same bits in both families and at 1 and 2 threads.
 */
describe('native simulate: both SIMD families, every model, bit-identical', () => {
  const points = (m: number) => Array.from({ length: 2 * m }, (_, i) => (i < m ? -1 + (2 * i) / (m - 1) : 0.3 * Math.sin(3 * i)));
  const models: { name: string; np: number; d: number; params: number[]; data: number[]; dt: number }[] = [
    { name: 'quartic', np: 2, d: 1, params: [1.5, 0.5, 1.5, 2.5], data: [], dt: 0.01 },
    { name: 'teacher-student', np: 2, d: 2, params: [1, 0.3, 1, 3], data: [], dt: 0.01 },
    { name: 'neuron', np: 1, d: 2, params: [0.3, 2], data: points(6), dt: 0.01 },
    { name: 'neuron', np: 1, d: 2, params: [0.3, 2], data: points(8), dt: 0.01 },
    { name: 'two-neuron-sgd', np: 1, d: 4, params: [0.5, 3], data: points(5), dt: 0.05 },
    { name: 'two-neuron', np: 3, d: 8, params: [0.5, 0.9, 10, 3, 0.9, 10], data: points(4), dt: 0.05 },
  ];
  const f32 = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const steps = 203, paths = 150, traceP = 3, every = 7, record = [0, 5, 101, 203];
  const calls = (threads: number): ChildCall[] => models.map((m) => {
    const G = m.params.length / m.np, samples = Math.floor(steps / every) + 1;
    return {
      kernel: 'em_collapse', variant: m.name, threads,
      // grid_offset, grid_count, paths, path_offset, steps, dt, epsilon, seed, init_shared, trace_paths, trace_every
      fields: [1, G, paths, 37, steps, m.dt, 1e-3, 11, 0, traceP, every],
      arrays: [
        { type: 'f32', values: m.params }, { type: 'f32', values: m.data }, { type: 'u32', values: record },
        { type: 'f64', values: Array.from({ length: m.d }, (_, i) => 0.5 + 0.1 * i) }, { type: 'f64', values: Array.from({ length: m.d }, () => 0.3) },
        { type: 'f64', length: record.length * G * STAT_FIELDS }, { type: 'f32', length: G * traceP * samples * m.d },
      ],
    };
  });
  it('AVX-512 (where present) and AVX2, 1 and 2 threads: the same statistics and traces', () => {
    const runs = families.flatMap((f) => [1, 2].map((threads) => runInChild(calls(threads), f.env)));
    expect(runs[runs.length - 1].isa).toMatch(/avx2|portable/);
    for (const run of runs.slice(1)) {
      run.results.forEach((arrays, i) => {
        expect(arrays[5].equals(runs[0].results[i][5]), `${models[i].name} stats`).toBe(true);
        // bit for bit, except NaN payloads (diverged paths): which NaN an operation propagates is not the point
        const a = f32(arrays[6]), b = f32(runs[0].results[i][6]);
        expect(a.every((v, q) => Object.is(v, b[q])), `${models[i].name} trace`).toBe(true);
      });
    }
    // not vacuous: the statistics are populated
    expect(runs[0].results.every((a) => new Float64Array(a[5].buffer.slice(a[5].byteOffset, a[5].byteOffset + a[5].byteLength)).some((v) => v !== 0))).toBe(true);
  }, 60_000);
});

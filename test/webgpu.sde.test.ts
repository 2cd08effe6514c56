import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JsBackend } from '../src/backends/js.js';
import { STAT_FIELDS, type SimJob, type SimStats } from '../src/sde/job.js';
import { WebgpuBackend } from '../src/backends/webgpu.js';
import { CollapseError } from '../src/errors.js';
import { emKernelSource, planChunks } from '../src/kernels/em_collapse.webgpu.js';
import { buildJob, simulate, type JobCase } from './helpers/jobs.js';
import { describeWebgpu, openBackend } from './helpers/webgpu.js';

const js = new JsBackend();

// Small problems on each built-in model: 3 grid points spanning the collapse threshold, 70 paths
// (not a multiple of the workgroup size), a few hundred steps, records including step 0.
// Steps are kept small enough that the discrete dynamics do not amplify rounding: deep in collapse with
// a large step, f32 paths (device) and f64-summed paths (reference) drift apart by more than 1e-3.
const CASES: JobCase[] = [
  { model: 'quartic', fixed: { mu: 1.5, zeta: 1 }, noise: [0.5, 2, 3], dt: 0.01, epsilon: 1e-4 },
  { model: 'neuron', fixed: { alpha: 1, m: 8, labelNoise: 0.1 }, noise: [0.2, 1, 2], dt: 0.01, epsilon: 5e-4 },
  { model: 'teacher-student', fixed: { sStar: 1, sigma: 10, eta: 3 / 1024 }, noise: [5, 26, 40], dt: 3 / 1024, epsilon: 0.3 },
  { model: 'two-neuron-sgd', fixed: { sigma: 0.1, lr: 0.1, n: 8 }, noise: [0.1, 1, 3], dt: 0.1, epsilon: 0.05 },
];

/**
 * Counts equal; each moment sum within 1e-3 relative (1e-3 absolute for sums near 0, e.g. of logs).
 * `momentsBelow`: compare only moment sums below it (device sums are f32: a finite distance above
 * ~1.8e19 has an infinite square there).
 */
function expectStatsClose(got: SimStats, want: SimStats, label: string, momentsBelow = Infinity): void {
  expect(got.stats.length, label).toBe(want.stats.length);
  for (let i = 0; i < want.stats.length; i++) {
    const field = i % STAT_FIELDS;
    const where = `${label}: stats[${i}] (record ${Math.floor(i / STAT_FIELDS)} field ${field})`;
    if (field < 2) expect(got.stats[i], where).toBe(want.stats[i]);
    else if (Math.abs(want.stats[i]) < momentsBelow) expect(Math.abs(got.stats[i] - want.stats[i]), where).toBeLessThanOrEqual(1e-3 * Math.max(Math.abs(want.stats[i]), 1));
  }
}

function expectTraceClose(got: Float32Array | undefined, want: Float32Array | undefined, label: string): void {
  expect(got, label).toBeDefined();
  expect(got!.length, label).toBe(want!.length);
  for (let i = 0; i < want!.length; i++) {
    expect(Math.abs(got![i] - want![i]), `${label}: trace[${i}] ${got![i]} vs ${want![i]}`).toBeLessThanOrEqual(1e-3 * Math.max(Math.abs(want![i]), 1));
  }
}

describeWebgpu('webgpu simulate (shaders/em_collapse.wgsl) against the js backend', () => {
  let gpu: WebgpuBackend;
  beforeAll(async () => { gpu = await openBackend(); });
  afterAll(() => gpu?.close());

  for (const c of CASES) {
    it(`${c.model}: same collapsed/diverged counts, moments within 1e-3`, async () => {
      const job = buildJob(c);
      const [got, want] = await Promise.all([simulate(gpu, job), simulate(js, job)]);
      expectStatsClose(got, want, c.model);
      // The test must be able to fail: the chosen grid collapses some paths but not all.
      const collapsed = want.stats.filter((_, i) => i % STAT_FIELDS === 0);
      expect(collapsed.some((v) => v > 0), `${c.model}: some paths collapse`).toBe(true);
      expect(collapsed.some((v) => v < job.paths), `${c.model}: some paths survive`).toBe(true);
    });
  }

  it('counts diverged paths exactly (quartic with a step far too large)', async () => {
    // Few steps: at this dt the map is chaotic for the paths that do not blow up.
    const job = buildJob(CASES[0], { dt: 0.25, steps: 12, record: [0, 3, 12], paths: 100 });
    const [got, want] = await Promise.all([simulate(gpu, job), simulate(js, job)]);
    expectStatsClose(got, want, 'diverging', 1e30);
    const diverged = want.stats.filter((_, i) => i % STAT_FIELDS === 1);
    expect(diverged.some((v) => v > 0 && v < job.paths)).toBe(true);
  });

  it('traces the first paths of each grid point every `every` steps, and a trace longer than the job has paths', async () => {
    for (const [steps, every, paths] of [[300, 50, 3], [301, 7, 2], [0, 1, 1]] as const) {
      const job = buildJob(CASES[2], { steps, record: steps === 0 ? [0] : [0, steps], trace: { paths, every } });
      const [got, want] = await Promise.all([simulate(gpu, job), simulate(js, job)]);
      expectStatsClose(got, want, `trace steps=${steps}`);
      expectTraceClose(got.trace, want.trace, `trace steps=${steps} every=${every}`);
    }
    const few = buildJob(CASES[0], { paths: 2, trace: { paths: 4, every: 100 } });
    const [got, want] = await Promise.all([simulate(gpu, few), simulate(js, few)]);
    expectTraceClose(got.trace, want.trace, 'trace paths > job paths');
  });

  it('records anywhere (not 0, every step near the end, the last step) and none at all', async () => {
    for (const record of [[1, 2, 3, 299, 300], [150], []]) {
      const job = buildJob(CASES[0], { record });
      expectStatsClose(await simulate(gpu, job), await simulate(js, job), `record ${record}`);
    }
  });

  it('gridOffset/pathOffset sharding gives the matching slice', async () => {
    const c = CASES[0];
    const full = buildJob(c);
    const fullStats = await simulate(gpu, full);
    const np = full.model.paramNames.length;
    // Grid points 1..2 alone: the same per-workgroup partials, so the same numbers.
    const gridShard = { ...full, gridOffset: 1, gridCount: 2, params: full.params.subarray(np, 3 * np) };
    const g = await simulate(gpu, gridShard);
    for (let r = 0; r < full.record.length; r++) {
      for (let k = 0; k < 2; k++) {
        for (let f = 0; f < STAT_FIELDS; f++) {
          expect(g.stats[(r * 2 + k) * STAT_FIELDS + f]).toBeCloseTo(fullStats.stats[(r * 3 + k + 1) * STAT_FIELDS + f], 4);
        }
      }
    }
    expectStatsClose(g, await simulate(js, gridShard), 'grid shard vs js');
    // Paths 0..29 and 30..69: each matches js on the same shard, and together they make up the whole.
    const a = { ...full, paths: 30 };
    const b = { ...full, paths: 40, pathOffset: 30 };
    const [ga, gb] = await Promise.all([simulate(gpu, a), simulate(gpu, b)]);
    expectStatsClose(ga, await simulate(js, a), 'path shard a');
    expectStatsClose(gb, await simulate(js, b), 'path shard b');
    const sum = { stats: ga.stats.map((v, i) => v + gb.stats[i]) };
    expectStatsClose(sum, fullStats, 'shards sum to the whole');
  });

  it('splits over state buffers, dispatches, submits and a 2-D workgroup grid without changing results', async () => {
    const c = CASES[1];
    const job = buildJob(c, { paths: 130, trace: { paths: 3, every: 25 } });
    const want = await simulate(gpu, job);
    expectStatsClose(want, await simulate(js, job), 'unsplit vs js');
    // 1 KiB bindings: 128 two-component states per buffer, so each grid point's 130 paths are split in two;
    // 7 steps per dispatch, 3 dispatches per submit; at most 2 workgroups per dimension.
    const tuned = await openBackend({ limits: { maxStorageBufferBindingSize: 1024, maxComputeWorkgroupsPerDimension: 2 }, stepsPerDispatch: 7, dispatchesPerSubmit: 3 });
    const twoD = await openBackend({ limits: { maxComputeWorkgroupsPerDimension: 2 } });
    try {
      expect(planChunks(gpu, job)).toHaveLength(1);
      expect(planChunks(tuned, job).map((c) => [c.k0, c.p0, c.pCount])).toEqual([[0, 0, 128], [0, 128, 2], [1, 0, 128], [1, 128, 2], [2, 0, 128], [2, 128, 2]]);
      expect(planChunks(twoD, job).map((c) => [c.k0, c.kCount])).toEqual([[0, 1], [1, 1], [2, 1]]);
      for (const [name, backend] of [['tiled', tuned], ['2-D', twoD]] as const) {
        const got = await simulate(backend, job);
        expectStatsClose(got, want, name);
        expectTraceClose(got.trace, want.trace, name);
      }
      // 3 grid points × 3 workgroups do not fit 2 × 2: one grid point per dispatch, 3 workgroups as 2 × 2 with one idle.
      expect(twoD.context.dispatchShape(3)).toEqual([2, 2]);
    } finally {
      tuned.close();
      twoD.close();
    }
  });

  it('reports progress up to the total, and aborts between submits', async () => {
    const slow = await openBackend({ stepsPerDispatch: 10, dispatchesPerSubmit: 1 });
    try {
      const seen: number[] = [];
      const job = buildJob(CASES[0], { onProgress: (n) => seen.push(n) });
      await simulate(slow, job);
      expect(seen.length).toBeGreaterThan(5);
      expect(seen.every((v, i) => i === 0 || v >= seen[i - 1])).toBe(true);
      expect(seen.at(-1)).toBe(job.gridCount * job.paths * job.steps);

      const controller = new AbortController();
      let calls = 0;
      const aborting = buildJob(CASES[0], { signal: controller.signal, onProgress: () => { if (++calls === 2) controller.abort(); } });
      await expect(simulate(slow, aborting)).rejects.toMatchObject({ code: 'ABORTED' });
      expect(calls).toBeLessThan(10);
      const pre = new AbortController();
      pre.abort();
      await expect(simulate(slow, buildJob(CASES[0], { signal: pre.signal }))).rejects.toMatchObject({ code: 'ABORTED' });
      // Still usable after an abort.
      const after = buildJob(CASES[0]);
      expectStatsClose(await simulate(slow, after), await simulate(js, after), 'after abort');
    } finally {
      slow.close();
    }
  });

  it('runs jobs on several contexts at once', async () => {
    const others = await Promise.all([openBackend(), openBackend()]);
    try {
      const jobs = CASES.slice(0, 3).map((c) => buildJob(c, { steps: 100, record: [100] }));
      const results = await Promise.all([gpu, ...others].map((b, i) => simulate(b, jobs[i])));
      for (let i = 0; i < jobs.length; i++) expectStatsClose(results[i], await simulate(js, jobs[i]), `context ${i}`);
    } finally {
      for (const b of others) b.close();
    }
  });

  it('a broken model becomes CollapseError SHADER_COMPILE naming the kernel and the line of the model', async () => {
    const job = buildJob(CASES[0]);
    const model = { ...job.model, name: 'broken', wgsl: job.model.wgsl.replace('x[0] * x[0]; }', 'undefined_symbol; }') };
    const error = await simulate(gpu, { ...job, model }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CollapseError);
    expect((error as CollapseError).code).toBe('SHADER_COMPILE');
    const line = model.wgsl.trim().split('\n').findIndex((l) => l.includes('undefined_symbol')) + 1;
    expect((error as CollapseError).message).toMatch(new RegExp(`^em_collapse\\(broken\\): model 'broken' WGSL line ${line}:\\d+: .*undefined_symbol`));
  });

  it('generates a printable kernel source with the prelude', () => {
    const src = emKernelSource(buildJob(CASES[1]).model);
    expect(src).toContain('const D: u32 = 2u;');
    expect(src).toContain('const M: u32 = 8u;');
    expect(src).toContain('struct Params {\n  c: f32,\n}');
    expect(src).toContain('fn philox4x32');
    expect(src).toContain('@compute @workgroup_size(WG)');
  });
});

describeWebgpu('webgpu backend lifetime', () => {
  // Compile the backend (and only what it imports) into a folder inside the package, so the shaders/
  // lookup and the 'webgpu' import resolve as they do from dist/.
  const out = join(process.cwd(), 'node_modules', '.cache', `sc-webgpu-exit-${process.pid}`);
  beforeAll(() => {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const tsc = spawnSync(process.execPath, [join('node_modules', 'typescript', 'bin', 'tsc'),
      '--outDir', out, '--rootDir', 'src', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--strict', '--skipLibCheck', '--types', 'node', 'src/backends/webgpu.ts', 'src/kernels/em_collapse.ts', 'src/kernels/philox_fill.ts', 'src/sde/models/quartic.ts'], { encoding: 'utf8' });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('close() lets the process exit by itself; probeAdapter leaves nothing alive', () => {
    const script = join(out, 'child.mjs');
    writeFileSync(script, `
import { WebgpuBackend } from './backends/webgpu.js';
import { probeAdapter } from './webgpu/gpu.js';
import { quartic } from './sde/models/quartic.js';
import { emCollapse } from './kernels/em_collapse.js';
import { drawInto } from './kernels/philox_fill.js';
const probe = await probeAdapter();
if (!probe) throw new Error('no adapter in child');
const gpu = await WebgpuBackend.create();
const u = new Uint32Array(10);
await drawInto(gpu, 'uint32', u, 1, 0, 0);
const built = quartic.build({ mu: 1.5, zeta: 1 }, { seed: 1 });
const r = await emCollapse.run(gpu, { model: built.kernel, params: new Float32Array(built.pack({ mu: 1.5, zeta: 1 })), gridOffset: 0, gridCount: 1,
  paths: 10, pathOffset: 0, steps: 10, dt: 0.01, record: [10], epsilon: 1e-4, seed: 1, init: built.init });
gpu.close();
console.log('done', u[0], r.stats.length, probe.isSoftware);
`);
    const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    expect(child.error, 'the child did not exit by itself within 60 s').toBeUndefined();
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toMatch(/^done \d+ 5 (true|false)/m);
  });
});

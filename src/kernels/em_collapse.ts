/**
 * em_collapse: Euler–Maruyama integration of many SDE paths of one model over a grid of parameter points,
 * measuring collapse on the device (counts and moments per record step and grid point, never the paths).
 * A streaming job kernel: it runs long, reports progress and can be aborted, so each backend launches it its
 * own way, all through the engine's queues:
 * - js: `simulateReference` below, the semantics every backend follows;
 * - native: native/em_collapse.cc through the addon's generic entry (variant = the model);
 * - webgpu: shaders/em_collapse.wgsl specialised to the model, streamed by em_collapse.webgpu.ts.
 * One step is x ← fround(x + f(x) dt + Σ_k G_k(x) ξ_k √dt), with ξ the path's normals in draw order
 * j = step · m + k (block ⌊j/4⌋ of counter (block, path, grid), key (seed, 0)).
 */
import { aborted, CollapseError } from '../errors.js';
import type { Backend } from '../backends/types.js';
import type { NativeBackend } from '../backends/native.js';
import type { WebgpuBackend } from '../backends/webgpu.js';
import { fillDraws, normalsOfBlock } from '../rng/philox.js';
import { STAT_FIELDS, STREAM, type SimJob, type SimStats } from '../sde/job.js';

/** ln of the smallest normal f32: the floor of the log-distance moment on every backend. */
export const LOG_FLOOR = Math.log(2 ** -126);

/** control[1] counts path-steps in units of 1024 (native/em_collapse.h). */
const PROGRESS_UNIT = 1024;
const POLL_MS = 50;

/** The scalar fields of the native call, in the order native/em_collapse.cc reads them. */
const NATIVE_FIELDS: readonly ((job: SimJob) => number)[] = [
  (j) => j.gridOffset, (j) => j.gridCount, (j) => j.paths, (j) => j.pathOffset, (j) => j.steps, (j) => j.dt,
  (j) => j.epsilon, (j) => j.seed, (j) => (j.init.shared ? 1 : 0), (j) => j.trace?.paths ?? 0, (j) => j.trace?.every ?? 1,
];

export const emCollapse = {
  name: 'em_collapse',
  summary: 'Euler–Maruyama SDE paths with on-device collapse counts',
  workUnit: 'path-steps',
  work: (job: SimJob) => job.gridCount * job.paths * job.steps,
  /**
   * Runs one Monte Carlo job on `backend` (after the work queued on it), returning its statistics.
   * @example
   * const stats = await emCollapse.run(backend, job);
   */
  async run(backend: Backend, job: SimJob): Promise<SimStats> {
    if (job.signal?.aborted) throw aborted('simulation', job.signal.reason);
    switch (backend.info.name) {
      case 'js':
        await backend.flush();
        return simulateReference(job);
      case 'native':
        return simulateNative(backend as NativeBackend, job);
      case 'webgpu': {
        const { simulateWebgpu } = await import('./em_collapse.webgpu.js');
        return simulateWebgpu(backend as WebgpuBackend, job);
      }
    }
  },
};

async function simulateNative(backend: NativeBackend, job: SimJob): Promise<SimStats> {
  const { model } = job;
  const compiled = backend.addon.models();
  if (model.native === false || !compiled.includes(model.name)) {
    throw new CollapseError('BACKEND_UNAVAILABLE',
      `model '${model.name}' has no native kernel (the addon compiles in ${compiled.join(', ')}); use backend 'webgpu' or 'js'`,
      { backend: 'native', model: model.name });
  }
  const stats = new Float64Array(job.record.length * job.gridCount * STAT_FIELDS);
  const samples = job.trace ? Math.floor(job.steps / job.trace.every) + 1 : 0;
  const trace = new Float32Array(job.trace ? job.gridCount * job.trace.paths * samples * model.d : 0);
  const control = new Int32Array(2);
  const onAbort = (): void => { Atomics.store(control, 0, 1); };
  job.signal?.addEventListener('abort', onAbort, { once: true });
  let lastReported = -1;
  const report = (): void => {
    const done = Atomics.load(control, 1) * PROGRESS_UNIT;
    if (done !== lastReported) { lastReported = done; job.onProgress?.(done); }
  };
  const timer = job.onProgress ? setInterval(report, POLL_MS) : undefined;
  try {
    await backend.call('em_collapse', model.name, Float64Array.from(NATIVE_FIELDS, (f) => f(job)),
      [job.params, model.data, Uint32Array.from(job.record), Float64Array.from(job.init.mean), Float64Array.from(job.init.std), stats, trace],
      { async: true, control });
  } catch (error) {
    if (job.signal?.aborted || Atomics.load(control, 0) !== 0) throw aborted('simulation', job.signal?.reason);
    throw error;
  } finally {
    if (timer) clearInterval(timer);
    job.signal?.removeEventListener('abort', onAbort);
  }
  job.onProgress?.(job.paths * job.gridCount * job.steps);
  return job.trace ? { stats, trace } : { stats };
}

/** How long the reference computes before it lets the event loop run (an abort, a Ctrl-C, timers). */
const YIELD_MS = 20;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The reference semantics of em_collapse, in plain TypeScript (f64 sums rounded to f32 once per step). It yields
 * to the event loop every ~20 ms, so an abort takes effect within a fraction of a second.
 */
export async function simulateReference(job: SimJob): Promise<SimStats> {
  const { model, steps, dt, record, epsilon, seed, init, trace } = job;
  const { d, m, data } = model;
  const np = model.paramNames.length;
  const stats = new Float64Array(record.length * job.gridCount * STAT_FIELDS);
  const samples = trace ? Math.floor(steps / trace.every) + 1 : 0;
  const traceOut = trace ? new Float32Array(job.gridCount * trace.paths * samples * d) : undefined;
  const sqrtDt = Math.fround(Math.sqrt(dt));
  const x = new Float64Array(d);
  const next = new Float64Array(d);
  const col = new Float64Array(d);
  const scratch = new Uint32Array(4);
  const normals = new Float64Array(4);
  const initNormals = new Float32Array(d);
  let done = 0;
  let lastYield = performance.now();
  for (let k = 0; k < job.gridCount; k++) {
    const p = job.params.subarray(k * np, (k + 1) * np);
    const gk = job.gridOffset + k;
    for (let path = 0; path < job.paths; path++) {
      if (performance.now() - lastYield > YIELD_MS) { await yieldToEventLoop(); lastYield = performance.now(); job.onProgress?.(done); }
      if (job.signal?.aborted) throw aborted('simulation', job.signal.reason);
      const gp = job.pathOffset + path;
      fillDraws('normal', initNormals, seed, STREAM.init, 0, gp, init.shared ? 0 : gk);
      for (let i = 0; i < d; i++) x[i] = Math.fround(init.mean[i] + init.std[i] * initNormals[i]);
      let j = 0; // next noise draw of this path
      let r = 0;
      for (let s = 0; ; s++) {
        if ((s & 1023) === 1023 && performance.now() - lastYield > YIELD_MS) {
          await yieldToEventLoop();
          lastYield = performance.now();
          if (job.signal?.aborted) throw aborted('simulation', job.signal.reason);
        }
        while (r < record.length && record[r] === s) {
          measure(model, x, p, epsilon, stats, ((r * job.gridCount) + k) * STAT_FIELDS);
          r++;
        }
        if (traceOut && trace && path < trace.paths && s % trace.every === 0) {
          const at = ((k * trace.paths + path) * samples + s / trace.every) * d;
          for (let i = 0; i < d; i++) traceOut[at + i] = x[i];
        }
        if (s === steps) break;
        model.js.drift(x, p, data, next);
        for (let i = 0; i < d; i++) next[i] = x[i] + next[i] * dt;
        for (let c = 0; c < m; c++, j++) {
          const lane = j & 3;
          if (lane === 0) {
            const b = j / 4;
            normalsOfBlock(b % 0x1_0000_0000, Math.floor(b / 0x1_0000_0000), gp, gk, seed, STREAM.noise, scratch, normals);
          }
          const xi = Math.fround(normals[lane]) * sqrtDt;
          model.js.diffusion(x, p, data, c, col);
          for (let i = 0; i < d; i++) next[i] += col[i] * xi;
        }
        for (let i = 0; i < d; i++) x[i] = Math.fround(next[i]);
      }
      done += steps;
      if ((path & 63) === 63) job.onProgress?.(done);
    }
  }
  job.onProgress?.(done);
  return traceOut ? { stats, trace: traceOut } : { stats };
}


function measure(model: SimJob["model"], x: Float64Array, p: Float32Array, epsilon: number, stats: Float64Array, at: number): void {
  let finite = true;
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) finite = false;
  const dist = finite ? Math.fround(model.js.distance(x, p, model.data)) : NaN;
  if (!Number.isFinite(dist)) {
    stats[at + 1] += 1;
    return;
  }
  if (dist < epsilon) stats[at] += 1;
  stats[at + 2] += dist;
  stats[at + 3] += dist * dist;
  stats[at + 4] += Math.log(Math.max(dist, 2 ** -126));
}

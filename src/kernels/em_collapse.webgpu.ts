/**
 * em_collapse on webgpu: the adaptive streaming launcher. A job is cut into chunks that fit the device's
 * binding and dispatch limits, and each chunk into segments of steps (one dispatch each, about 25 ms, cut at
 * every record step where the kernel measures); two submits stay in flight so the GPU never waits for the
 * host, and progress and abort are checked between submits. The WGSL is shaders/em_collapse.wgsl specialised
 * to the model (`emKernelSource`).
 */
import { aborted, CollapseError, invalidArgument } from '../errors.js';
import type { WebgpuBackend } from '../backends/webgpu.js';
import { STAT_FIELDS, type KernelModel, type SimJob, type SimStats } from '../sde/job.js';
import { alignUp, BINDING_ALIGN, GpuContext, SHADER_STAGE_COMPUTE, Usage } from '../webgpu/gpu.js';
import { shaderSource } from '../webgpu/shaders.js';

/** Bytes of the WGSL `Segment` uniform (24 words) and of one `Partial` (5 words). */
const SEGMENT_BYTES = 96;
const PARTIAL_BYTES = 20;
const FLAG_INIT = 1, FLAG_MEASURE = 2, FLAG_TRACE_END = 4, FLAG_INIT_SHARED = 8;
const TWO32 = 0x1_0000_0000;
/** Timing targets of the adaptive SDE planner (seconds), and its first guess of the speed (path-steps/s). */
const DISPATCH_SECONDS = 0.025;
const SUBMIT_SECONDS = 0.15;
const FIRST_RATE = 2 ** 24;

const EM_LAYOUT: GPUBindGroupLayoutEntry[] = [
  { binding: 0, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: SEGMENT_BYTES } },
  { binding: 1, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'read-only-storage' } },
  { binding: 2, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'read-only-storage' } },
  { binding: 3, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'read-only-storage' } },
  { binding: 4, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'storage' } },
  { binding: 5, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'storage' } },
  { binding: 6, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'storage' } },
];

/** One piece of a job that fits the device's binding limits: grid points k0.., paths p0.. of each. */
export interface Chunk {
  readonly k0: number;
  readonly kCount: number;
  readonly p0: number;
  readonly pCount: number;
}

/** A run of steps s0 .. s1 - 1 in one dispatch, then an optional measurement at s1. */
interface Segment {
  readonly s0: number;
  readonly s1: number;
  readonly record: number; // -1: none
  readonly flags: number;
}

/** Smallest f32 >= x: `dist < it` in f32 equals `dist < x` in f64 for every f32 dist. */
function f32AtLeast(x: number): number {
  const f = Math.fround(x);
  if (f >= x || !Number.isFinite(f)) return f;
  const bits = new Float32Array([f]);
  const u = new Uint32Array(bits.buffer);
  u[0] += f > 0 ? 1 : -1;
  if (f === 0) { u[0] = 1; }
  return bits[0];
}

function split64(v: number): [number, number] {
  return [v % TWO32, Math.floor(v / TWO32)];
}

/** Runs one Monte Carlo job on the device (the js reference in em_collapse.ts defines the semantics). */
export async function simulateWebgpu(backend: WebgpuBackend, job: SimJob): Promise<SimStats> {
  return backend.exclusive((ctx) => simulateOn(backend, ctx, job));
}

async function simulateOn(backend: WebgpuBackend, ctx: GpuContext, job: SimJob): Promise<SimStats> {
  const { model, steps, record, trace } = job;
  const { d } = model;
  const wg = backend.workgroupSize;
  const R = record.length;
  if (!Number.isInteger(steps) || steps < 0 || steps >= TWO32) throw invalidArgument('steps', steps, 'an integer in [0, 2^32)');
  const stats = new Float64Array(R * job.gridCount * STAT_FIELDS);
  const samples = trace ? Math.floor(steps / trace.every) + 1 : 0;
  const tracePaths = trace ? Math.min(trace.paths, job.paths) : 0;
  const traceOut = trace ? new Float32Array(job.gridCount * trace.paths * samples * d) : undefined;
  if (job.gridCount === 0 || job.paths === 0) return traceOut ? { stats, trace: traceOut } : { stats };
  if (job.signal?.aborted) throw aborted('simulation', job.signal.reason);

  const source = emKernelSource(model);
  const { pipeline, layout } = await ctx.pipeline(`em_collapse(${model.name})`, source, { WG: wg }, EM_LAYOUT)
    .catch((error: unknown) => { throw inModelSource(error, model, source); });
  const chunks = planChunks(backend, job);

  const np = paramStride(model);
  const dataBuffer = ctx.upload(model.data.length > 0 ? model.data : new Float32Array(4), Usage.STORAGE, 'model data');
  const initMs = new Float32Array(2 * d);
  for (let i = 0; i < d; i++) { initMs[i] = job.init.mean[i]; initMs[d + i] = job.init.std[i]; }
  const initBuffer = ctx.upload(initMs, Usage.STORAGE, 'init');
  const slots = Math.max(1, backend.options.dispatchesPerSubmit ?? 128);
  const rings = [0, 1].map(() => ctx.acquire(slots * BINDING_ALIGN, Usage.UNIFORM | Usage.COPY_DST, 'segments'));
  const shared = [dataBuffer, initBuffer, ...rings];

  const pathStepsTotal = job.gridCount * job.paths * steps;
  let pathStepsDone = 0;
  let rate = FIRST_RATE;
  let lastDone = performance.now();
  try {
    for (const chunk of chunks) {
      const states = chunk.kCount * chunk.pCount;
      const groupsPerGrid = Math.ceil(chunk.pCount / wg);
      const groups = chunk.kCount * groupsPerGrid;
      const [gx, gy] = ctx.dispatchShape(groups);
      const rows = new Float32Array(chunk.kCount * np);
      for (let k = 0; k < chunk.kCount; k++) {
        for (let q = 0; q < model.paramNames.length; q++) rows[k * np + q] = job.params[(chunk.k0 + k) * model.paramNames.length + q];
      }
      const paramsBuffer = ctx.upload(rows, Usage.STORAGE, 'params');
      const stateBuffer = ctx.acquire(states * d * 4, Usage.STORAGE, 'state');
      const partialBytes = Math.max(R * groups * PARTIAL_BYTES, PARTIAL_BYTES); // the binding needs one Partial even with no records
      const partialBuffer = ctx.acquire(partialBytes, Usage.STORAGE | Usage.COPY_SRC, 'partials');
      const chunkTracePaths = tracePaths > chunk.p0 ? tracePaths : 0;
      const traceBytes = Math.max(chunk.kCount * chunkTracePaths * samples * d * 4, 4);
      const traceBuffer = ctx.acquire(traceBytes, Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST, 'trace');
      const local = [paramsBuffer, stateBuffer, partialBuffer, traceBuffer];
      try {
        const bindGroups = rings.map((ring) => ctx.device.createBindGroup({
          layout,
          entries: [
            { binding: 0, resource: { buffer: ring, offset: 0, size: SEGMENT_BYTES } },
            { binding: 1, resource: { buffer: paramsBuffer, size: rows.byteLength } },
            { binding: 2, resource: { buffer: dataBuffer } },
            { binding: 3, resource: { buffer: initBuffer, size: initMs.byteLength } },
            { binding: 4, resource: { buffer: stateBuffer, size: states * d * 4 } },
            { binding: 5, resource: { buffer: partialBuffer, size: partialBytes } },
            { binding: 6, resource: { buffer: traceBuffer, size: traceBytes } },
          ],
        }));
        if (chunkTracePaths > 0) {
          const clear = ctx.device.createCommandEncoder();
          clear.clearBuffer(traceBuffer, 0, alignUp(traceBytes, 4));
          ctx.device.queue.submit([clear.finish()]);
        }
        // Uniform words common to every segment of this chunk.
        const base = new ArrayBuffer(SEGMENT_BYTES);
        const bu = new Uint32Array(base);
        const bf = new Float32Array(base);
        bu.set([job.seed >>> 0, chunk.pCount, (job.pathOffset + chunk.p0) >>> 0, (job.gridOffset + chunk.k0) >>> 0,
          chunk.p0, groupsPerGrid, groups, states, chunkTracePaths, trace?.every ?? 1, samples], 6);
        bf[20] = job.dt;
        bf[21] = Math.fround(Math.sqrt(job.dt));
        bf[22] = f32AtLeast(job.epsilon);

        const segments = segmentPlan(steps, record);
        let which = 0;
        const pending: { done: Promise<void>; pathSteps: number; submittedAt: number }[] = [];
        const settle = async (): Promise<void> => {
          const first = pending.shift()!;
          await first.done;
          ctx.check();
          pathStepsDone += first.pathSteps;
          // Speed of this submit alone (it started when submitted or when the previous one finished);
          // grow at most 8x per submit, since a small submit measures mostly latency.
          const now = performance.now();
          const seconds = (now - Math.max(first.submittedAt, lastDone)) / 1000;
          lastDone = now;
          if (first.pathSteps > 0) rate = Math.max(1, Math.min(first.pathSteps / Math.max(seconds, 1e-4), rate * 8));
          job.onProgress?.(pathStepsDone);
          if (job.signal?.aborted) throw aborted('simulation', job.signal.reason);
        };
        while (!segments.done()) {
          if (job.signal?.aborted) throw aborted('simulation', job.signal.reason);
          const stepsPerDispatch = backend.options.stepsPerDispatch
            ?? Math.max(1, Math.min(2 ** 20, Math.floor((rate * DISPATCH_SECONDS) / states)));
          const submitBudget = rate * SUBMIT_SECONDS;
          const words = new ArrayBuffer(slots * BINDING_ALIGN);
          const wu = new Uint32Array(words);
          const encoder = ctx.device.createCommandEncoder({ label: 'em_collapse' });
          const pass = encoder.beginComputePass();
          pass.setPipeline(pipeline);
          let used = 0;
          let pathSteps = 0;
          while (used < slots && !segments.done() && (used === 0 || pathSteps < submitBudget)) {
            const seg = segments.next(stepsPerDispatch);
            const at = (used * BINDING_ALIGN) / 4;
            wu.set(bu, at);
            const [jLo, jHi] = split64(seg.s0 * model.m);
            wu.set([seg.s0, seg.s1, Math.max(seg.record, 0), seg.flags | (job.init.shared ? FLAG_INIT_SHARED : 0), jLo, jHi], at);
            pass.setBindGroup(0, bindGroups[which], [used * BINDING_ALIGN]);
            pass.dispatchWorkgroups(gx, gy);
            pathSteps += states * (seg.s1 - seg.s0);
            used++;
          }
          pass.end();
          ctx.writeBuffer(rings[which], 0, new Uint32Array(words, 0, (used * BINDING_ALIGN) / 4));
          ctx.device.queue.submit([encoder.finish()]);
          const done = ctx.device.queue.onSubmittedWorkDone();
          done.catch(() => {}); // awaited in settle(); an abort may leave it unawaited
          pending.push({ done, pathSteps, submittedAt: performance.now() });
          which ^= 1;
          // Two submits in flight: the GPU never waits for the host; ring `which` is free again.
          if (pending.length >= 2) await settle();
        }
        while (pending.length > 0) await settle();

        const regions = [{ buffer: partialBuffer, bytes: R * groups * PARTIAL_BYTES }];
        if (chunkTracePaths > 0) regions.push({ buffer: traceBuffer, bytes: chunk.kCount * chunkTracePaths * samples * d * 4 });
        const [partialBytesBack, traceBytesBack] = await readbackAll(ctx, regions);
        addPartials(partialBytesBack, stats, chunk, groupsPerGrid, R, job.gridCount);
        if (traceOut && trace && traceBytesBack) {
          const t = new Float32Array(traceBytesBack);
          const row = samples * d;
          const pEnd = Math.min(chunk.p0 + chunk.pCount, tracePaths);
          for (let k = 0; k < chunk.kCount; k++) {
            for (let p = chunk.p0; p < pEnd; p++) {
              const from = (k * chunkTracePaths + p) * row;
              traceOut.set(t.subarray(from, from + row), ((chunk.k0 + k) * trace.paths + p) * row);
            }
          }
        }
      } finally {
        for (const buffer of local) ctx.release(buffer);
      }
    }
  } finally {
    for (const buffer of shared) ctx.release(buffer);
  }
  if (pathStepsDone !== pathStepsTotal) job.onProgress?.(pathStepsTotal);
  return traceOut ? { stats, trace: traceOut } : { stats };
}

/**
 * How `simulate` splits a job so that every buffer fits maxStorageBufferBindingSize and every dispatch
 * the workgroup-count limit: by grid points, or by paths when one grid point is too big. Exposed for tests.
 */
export function planChunks(backend: WebgpuBackend, job: SimJob): Chunk[] {
  const samples = job.trace ? Math.floor(job.steps / job.trace.every) + 1 : 0;
  const tracePaths = job.trace ? Math.min(job.trace.paths, job.paths) : 0;
  const limits = backend.context.limits;
  const maxBinding = limits.maxStorageBufferBindingSize;
  const wg = backend.workgroupSize;
  const d = job.model.d;
  const R = Math.max(job.record.length, 1);
  const capStates = Math.min(Math.floor(maxBinding / (4 * d)), 2 ** 30);
  const maxDim = limits.maxComputeWorkgroupsPerDimension;
  const capGroups = Math.min(Math.floor(maxBinding / (R * PARTIAL_BYTES)), maxDim * maxDim);
  const traceBytesPerGrid = tracePaths * samples * d * 4;
  if (traceBytesPerGrid > maxBinding) {
    throw invalidArgument('trace', job.trace, `at most ${maxBinding} bytes of trajectory per grid point on this device (paths × (steps/every + 1) × d × 4)`);
  }
  const capGridByTrace = traceBytesPerGrid > 0 ? Math.floor(maxBinding / traceBytesPerGrid) : Infinity;
  const groupsPerGrid = Math.ceil(job.paths / wg);
  const kPerChunk = Math.min(Math.floor(capStates / job.paths), Math.floor(capGroups / groupsPerGrid), capGridByTrace, job.gridCount);
  const chunks: Chunk[] = [];
  if (kPerChunk >= 1) {
    for (let k0 = 0; k0 < job.gridCount; k0 += kPerChunk) {
      chunks.push({ k0, kCount: Math.min(kPerChunk, job.gridCount - k0), p0: 0, pCount: job.paths });
    }
    return chunks;
  }
  const pPerChunk = Math.floor(Math.min(capStates, capGroups * wg) / wg) * wg;
  if (pPerChunk < 1) throw invalidArgument('record', job.record, `fewer record steps: ${R} records do not fit this device's storage binding size`);
  for (let k0 = 0; k0 < job.gridCount; k0++) {
    for (let p0 = 0; p0 < job.paths; p0 += pPerChunk) chunks.push({ k0, kCount: 1, p0, pCount: Math.min(pPerChunk, job.paths - p0) });
  }
  return chunks;
}

/** Copies several regions into one staging buffer: a single mapAsync. */
async function readbackAll(ctx: GpuContext, regions: { buffer: GPUBuffer; bytes: number }[]): Promise<ArrayBuffer[]> {
  const offsets: number[] = [];
  let total = 0;
  for (const r of regions) { offsets.push(total); total += alignUp(r.bytes); }
  if (total === 0) return regions.map(() => new ArrayBuffer(0));
  const gather = ctx.acquire(total, Usage.COPY_SRC | Usage.COPY_DST, 'gather');
  try {
    const encoder = ctx.device.createCommandEncoder();
    regions.forEach((r, i) => { if (r.bytes > 0) encoder.copyBufferToBuffer(r.buffer, 0, gather, offsets[i], alignUp(r.bytes, 4)); });
    ctx.device.queue.submit([encoder.finish()]);
    const all = await ctx.readback(gather, 0, total);
    return regions.map((r, i) => all.slice(offsets[i], offsets[i] + r.bytes));
  } finally {
    ctx.release(gather);
  }
}


/** The dispatch plan of one chunk: cut at every record step, at `steps`, and every `maxSteps` steps. */
function segmentPlan(steps: number, record: readonly number[]): { done(): boolean; next(maxSteps: number): Segment } {
  let s = 0;
  let r = 0;
  let started = false;
  let finished = false;
  return {
    done: () => finished,
    next(maxSteps: number): Segment {
      const init = !started;
      started = true;
      // Step 0 is measured (or, with no steps, traced) by a dispatch of its own that only initialises.
      const s1 = init && (record[0] === 0 || steps === 0)
        ? 0
        : Math.min(steps, s + maxSteps, r < record.length ? record[r] : Infinity);
      const measure = r < record.length && record[r] === s1;
      const segment = { s0: s, s1, record: measure ? r : -1, flags: (init ? FLAG_INIT : 0) | (measure ? FLAG_MEASURE : 0) };
      if (measure) r++;
      s = s1;
      finished = s === steps && r === record.length;
      if (finished) segment.flags |= FLAG_TRACE_END;
      return segment;
    },
  };
}

/** Adds one chunk's per-workgroup partials into the job's stats (f64). */
function addPartials(bytes: ArrayBuffer, stats: Float64Array, chunk: Chunk, groupsPerGrid: number, R: number, gridCount: number): void {
  const u = new Uint32Array(bytes);
  const f = new Float32Array(bytes);
  const groups = chunk.kCount * groupsPerGrid;
  for (let r = 0; r < R; r++) {
    for (let k = 0; k < chunk.kCount; k++) {
      const at = (r * gridCount + chunk.k0 + k) * STAT_FIELDS;
      for (let g = k * groupsPerGrid; g < (k + 1) * groupsPerGrid; g++) {
        const w = (r * groups + g) * 5;
        stats[at] += u[w];
        stats[at + 1] += u[w + 1];
        stats[at + 2] += f[w + 2];
        stats[at + 3] += f[w + 3];
        stats[at + 4] += f[w + 4];
      }
    }
  }
}

/**
 * Accurate versions of WGSL builtins, declared by the prelude for models to call by name (`tanh_precise`),
 * because the builtins' required precision is too weak for collapse measurements. Vulkan only promises tanh to the precision
 * of (e^x − e^−x)/(e^x + e^−x): an absolute error near 1e-7 around 0 (lavapipe shows it), which would
 * stall a collapsing path's distance near 1e-7 where the f64 reference keeps shrinking. This one has a
 * few ulp of relative error everywhere (Cephes tanhf: an odd polynomial below 0.625, else via exp).
 */
const PRECISE_MATH = `fn tanh_precise(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.625) {
    let z = x * x;
    return x + x * z * ((((-5.70498872745e-3 * z + 2.06390887954e-2) * z - 5.37397155531e-2) * z + 1.33314422036e-1) * z - 3.33332819422e-1);
  }
  let t = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
  return select(t, -t, x < 0.0);
}`;

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Number of f32 fields of the WGSL `Params` struct (an empty struct is not valid WGSL: one pad field then). */
export function paramStride(model: KernelModel): number {
  return Math.max(model.paramNames.length, 1);
}

/**
 * The complete WGSL of the em_collapse kernel specialised to `model` (printable, self-contained).
 * @example
 * const { kernel } = quartic.build({ mu: 1.5, zeta: 1 }, { seed: 1 });
 * console.log(emKernelSource(kernel));
 */
export function emKernelSource(model: KernelModel): string {
  for (const name of model.paramNames) {
    if (!IDENTIFIER.test(name)) throw invalidArgument(`model '${model.name}' parameter name`, name, 'a WGSL identifier (a letter, then letters, digits or _)');
  }
  const fields = model.paramNames.length > 0 ? model.paramNames.map((n) => `  ${n}: f32,`) : ['  _unused: f32,'];
  return `${shaderSource('philox.wgsl')}
// ---- prelude generated for model '${model.name}' (src/webgpu/em-kernel.ts) ----
const D: u32 = ${model.d}u;
const M: u32 = ${model.m}u;
alias State = array<f32, D>;
struct Params {
${fields.join('\n')}
}
@group(0) @binding(2) var<storage, read> data: array<f32>;
// Accurate versions of builtins for the model to call (see PRECISE_MATH in em-kernel.ts).
${PRECISE_MATH}

// ---- model '${model.name}' ----
${model.wgsl.trim()}

${shaderSource('em_collapse.wgsl')}`;
}

/**
 * A compile error inside the model's own WGSL, re-worded with the line of the model's source (what its
 * author wrote) rather than of the generated shader.
 */
function inModelSource(error: unknown, model: KernelModel, source: string): unknown {
  if (!(error instanceof CollapseError) || error.code !== 'SHADER_COMPILE') return error;
  const line = Number(error.details.line);
  const first = source.split('\n').indexOf(`// ---- model '${model.name}' ----`) + 2; // 1-based line of the model's first line
  const count = model.wgsl.trim().split('\n').length;
  if (!(line >= first && line < first + count)) return error;
  const message = error.message.replace(/line \d+:(\d+): /, (_m, column: string) => `model '${model.name}' WGSL line ${line - first + 1}:${column}: `);
  return new CollapseError('SHADER_COMPILE', message, { ...error.details, modelLine: line - first + 1 }, { cause: error });
}

/**
 * The webgpu backend: WGSL compute shaders through Dawn (`shaders/random.wgsl`, `shaders/em_collapse.wgsl`).
 * Same results as the js reference: bit-identical u32/uniform draws, normals and SDE statistics up to
 * f32 rounding and GPU transcendentals.
 */
import { aborted, CollapseError, invalidArgument } from '../errors.js';
import type { Distribution } from '../rng/philox.js';
import { emKernelSource, paramStride, shaderSource } from '../webgpu/em-kernel.js';
import { alignUp, BINDING_ALIGN, GpuContext, SHADER_STAGE_COMPUTE, Usage, type AdapterInfo, type GpuContextOptions, type GpuLimits } from '../webgpu/gpu.js';
import { STAT_FIELDS, type Backend, type BackendInfo, type SimJob, type SimStats } from './types.js';

export interface WebgpuBackendOptions extends GpuContextOptions {
  /** Workgroup size of the kernels, a power of two (default 64). */
  readonly workgroupSize?: number;
  /** Fixed steps per SDE dispatch (default: adapted to the measured speed, about 25 ms per dispatch). */
  readonly stepsPerDispatch?: number;
  /** Most dispatches per submit (default 128). */
  readonly dispatchesPerSubmit?: number;
  /** Test hook: plan with smaller device limits (tiling, 2-D dispatch). See GpuContext.overrideLimits. */
  readonly limits?: Partial<GpuLimits>;
}

const KIND_CODE: Record<Distribution, number> = { uint32: 0, uniform: 1, normal: 2 };
const RANDOM_PARAMS_BYTES = 32;
/** Bytes of the WGSL `Segment` uniform (24 words) and of one `Partial` (5 words). */
const SEGMENT_BYTES = 96;
const PARTIAL_BYTES = 20;
const FLAG_INIT = 1, FLAG_MEASURE = 2, FLAG_TRACE_END = 4, FLAG_INIT_SHARED = 8;
const TWO32 = 0x1_0000_0000;
/** Largest readback staging buffer for `random` (bytes). */
const RANDOM_BATCH_BYTES = 256 * 1024 * 1024;
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

/**
 * The WebGPU backend.
 * @example
 * const gpu = await WebgpuBackend.create();
 * const u = new Float32Array(1000);
 * await gpu.random('uniform', u, 42, 0, 0);
 * gpu.close();
 */
export class WebgpuBackend implements Backend {
  readonly info: BackendInfo;
  readonly context: GpuContext;
  readonly workgroupSize: number;
  private readonly options: WebgpuBackendOptions;
  private closed = false;

  private constructor(context: GpuContext, options: WebgpuBackendOptions) {
    this.context = context;
    this.options = options;
    const wg = options.workgroupSize ?? 64;
    if (!Number.isInteger(wg) || wg < 1 || (wg & (wg - 1)) !== 0 || wg > context.limits.maxComputeInvocationsPerWorkgroup) {
      context.destroy();
      throw invalidArgument('workgroupSize', wg, `a power of two <= ${context.limits.maxComputeInvocationsPerWorkgroup}`);
    }
    this.workgroupSize = wg;
    const a = context.adapterInfo;
    this.info = { name: 'webgpu', device: `${a.vendor} ${a.description || a.device} (${a.architecture})`.trim() };
  }

  /**
   * Opens a device. Throws CollapseError('BACKEND_UNAVAILABLE') when there is no usable adapter.
   * @example
   * const gpu = await WebgpuBackend.create({ allowSoftware: false }); // hardware GPUs only
   */
  static async create(options: WebgpuBackendOptions = {}): Promise<WebgpuBackend> {
    const context = await GpuContext.create(options);
    if (options.limits) context.overrideLimits(options.limits);
    return new WebgpuBackend(context, options);
  }

  get isSoftware(): boolean {
    return this.context.isSoftware;
  }

  get adapterInfo(): AdapterInfo {
    return this.context.adapterInfo;
  }

  /** States one job may hold: the planner splits above it; inside, the job is tiled over state buffers of the binding size. */
  get maxStatesPerJob(): number {
    return Math.min(2 ** 28, Math.floor(this.context.limits.maxStorageBufferBindingSize / 4) * 4);
  }

  /** Fill `out` with draws offset.. of (seed, stream), bit-identical to src/rng/philox.ts for u32 and uniform. */
  async random(kind: Distribution, out: Uint32Array | Float32Array, seed: number, stream: number, offset: number): Promise<void> {
    this.alive();
    if (!(kind in KIND_CODE)) throw invalidArgument('kind', kind, "'uint32', 'uniform' or 'normal'");
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument('offset', offset, 'a non-negative safe integer');
    const n = out.length;
    if (n === 0) return;
    const ctx = this.context;
    const wg = this.workgroupSize;
    const { pipeline, layout } = await ctx.pipeline('random', `${shaderSource('philox.wgsl')}\n${shaderSource('random.wgsl')}`, { WG: wg, KIND: KIND_CODE[kind] });
    const limits = ctx.limits;
    const maxDim = limits.maxComputeWorkgroupsPerDimension;
    // Tiles start on 64-element (256-byte) boundaries so each can be bound at its offset.
    const tileByBinding = Math.floor(limits.maxStorageBufferBindingSize / 4 / 64) * 64;
    const tileByGroups = Math.floor((maxDim * maxDim * wg * 4 - 3) / 64) * 64;
    const tile = Math.max(64, Math.min(tileByBinding, tileByGroups, 2 ** 30));
    const batch = Math.max(tile, Math.floor(Math.min(limits.maxBufferSize, RANDOM_BATCH_BYTES) / 4 / tile) * tile);
    const words = new Uint32Array(out.buffer, out.byteOffset, n);
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const tiles = Math.ceil(count / tile);
      const target = ctx.acquire(count * 4, Usage.STORAGE | Usage.COPY_SRC, 'random out');
      const uniforms = ctx.acquire(tiles * BINDING_ALIGN, Usage.UNIFORM | Usage.COPY_DST, 'random params');
      const params = new Uint32Array((tiles * BINDING_ALIGN) / 4);
      const encoder = ctx.device.createCommandEncoder({ label: 'random' });
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      for (let t = 0; t < tiles; t++) {
        const tStart = t * tile;
        const tCount = Math.min(tile, count - tStart);
        const first = offset + start + tStart;
        const block = Math.floor(first / 4);
        const lane0 = first - block * 4;
        const blocks = Math.ceil((lane0 + tCount) / 4);
        const groups = Math.ceil(blocks / wg);
        const [lo, hi] = split64(block);
        params.set([lo, hi, lane0, tCount, seed >>> 0, stream >>> 0, groups, 0], (t * BINDING_ALIGN) / 4);
        pass.setBindGroup(0, ctx.device.createBindGroup({
          layout,
          entries: [
            { binding: 0, resource: { buffer: uniforms, offset: t * BINDING_ALIGN, size: RANDOM_PARAMS_BYTES } },
            { binding: 1, resource: { buffer: target, offset: tStart * 4, size: tCount * 4 } },
          ],
        }));
        const [x, y] = ctx.dispatchShape(groups);
        pass.dispatchWorkgroups(x, y);
      }
      pass.end();
      ctx.writeBuffer(uniforms, 0, params);
      ctx.device.queue.submit([encoder.finish()]);
      const bytes = await ctx.readback(target, 0, count * 4);
      ctx.release(target);
      ctx.release(uniforms);
      words.set(new Uint32Array(bytes), start);
    }
  }

  /** Run one Monte Carlo job (see js.ts for the semantics every backend follows). */
  async simulate(job: SimJob): Promise<SimStats> {
    this.alive();
    const ctx = this.context;
    const { model, steps, record, trace } = job;
    const { d } = model;
    const wg = this.workgroupSize;
    const R = record.length;
    if (!Number.isInteger(steps) || steps < 0 || steps >= TWO32) throw invalidArgument('steps', steps, 'an integer in [0, 2^32)');
    const stats = new Float64Array(R * job.gridCount * STAT_FIELDS);
    const samples = trace ? Math.floor(steps / trace.every) + 1 : 0;
    const tracePaths = trace ? Math.min(trace.paths, job.paths) : 0;
    const traceOut = trace ? new Float32Array(job.gridCount * trace.paths * samples * d) : undefined;
    if (job.gridCount === 0 || job.paths === 0) return traceOut ? { stats, trace: traceOut } : { stats };
    if (job.signal?.aborted) throw aborted('simulation', job.signal.reason);

    const { pipeline, layout } = await ctx.pipeline(`em_collapse(${model.name})`, emKernelSource(model), { WG: wg }, EM_LAYOUT);
    const chunks = this.plan(job);

    const np = paramStride(model);
    const dataBuffer = ctx.upload(model.data.length > 0 ? model.data : new Float32Array(4), Usage.STORAGE, 'model data');
    const initMs = new Float32Array(2 * d);
    for (let i = 0; i < d; i++) { initMs[i] = job.init.mean[i]; initMs[d + i] = job.init.std[i]; }
    const initBuffer = ctx.upload(initMs, Usage.STORAGE, 'init');
    const slots = Math.max(1, this.options.dispatchesPerSubmit ?? 128);
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
        const partialBytes = Math.max(R * groups * PARTIAL_BYTES, 4);
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
            const stepsPerDispatch = this.options.stepsPerDispatch
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
          const [partialBytesBack, traceBytesBack] = await this.readbackAll(regions);
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
  plan(job: SimJob): Chunk[] {
    const samples = job.trace ? Math.floor(job.steps / job.trace.every) + 1 : 0;
    const tracePaths = job.trace ? Math.min(job.trace.paths, job.paths) : 0;
    const limits = this.context.limits;
    const maxBinding = limits.maxStorageBufferBindingSize;
    const wg = this.workgroupSize;
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
  private async readbackAll(regions: { buffer: GPUBuffer; bytes: number }[]): Promise<ArrayBuffer[]> {
    const ctx = this.context;
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

  private alive(): void {
    if (this.closed) throw new CollapseError('ENGINE_CLOSED', "the webgpu backend was closed");
    this.context.check();
  }

  /** Destroys the device and its buffers; the process can exit afterwards. Idempotent. */
  close(): void {
    this.closed = true;
    this.context.destroy();
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

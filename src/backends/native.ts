import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { aborted, backendUnavailable, CollapseError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { integerIn, MAX_THREADS } from '../validate.js';
import type { Distribution } from '../rng/philox.js';
import { STAT_FIELDS, type Backend, type BackendInfo, type SimJob, type SimStats } from './types.js';

/** The addon's flat functions (native/addon.cc). Inputs are borrowed; outputs are caller-owned typed arrays. */
export interface NativeAddon {
  random(kind: 0 | 1 | 2, out: Uint32Array | Float32Array, seed: number, stream: number, offset: number, threads?: number): Promise<void>;
  randomSync(kind: 0 | 1 | 2, out: Uint32Array | Float32Array, seed: number, stream: number, offset: number): void;
  simulate(
    model: string, params: Float32Array, data: Float32Array, config: NativeSimConfig,
    stats: Float64Array, trace: Float32Array | null, control: Int32Array,
  ): Promise<void>;
  hardwareConcurrency(): number;
  models(): string[];
}

/** The `config` object of the addon's `simulate`. */
export interface NativeSimConfig {
  gridOffset: number; gridCount: number; paths: number; pathOffset: number; steps: number; dt: number;
  record: number[]; epsilon: number; seed: number; initMean: number[]; initStd: number[]; initShared: boolean;
  traceP: number; traceEvery: number; threads: number;
}

const KIND = { uint32: 0, uniform: 1, normal: 2 } as const;
/** control[1] counts path-steps in units of 1024 (native/sde.h). */
const PROGRESS_UNIT = 1024;
const POLL_MS = 50;
const FIX = 'Build it with `npm run build:native` (needs cmake and a C++17 compiler).';

let cached: { addon?: NativeAddon; error?: unknown } | undefined;


function loadAddon(): NativeAddon {
  if (!cached) {
    try {
      const require = createRequire(import.meta.url);
      const nodeGypBuild = require('node-gyp-build') as (dir: string) => NativeAddon;
      cached = { addon: nodeGypBuild(packageRoot()) };
    } catch (error) {
      cached = { error };
    }
  }
  if (cached.addon) return cached.addon;
  const why = cached.error instanceof Error ? cached.error.message.split('\n')[0] : String(cached.error);
  throw backendUnavailable('native', `the addon could not be loaded (${why})`, FIX, cached.error);
}

/** Turns an addon error into a typed error that carries the JS caller's stack (`trace` was captured at the call). */
function nativeFailure(error: unknown, trace: Error): CollapseError {
  const message = error instanceof Error ? error.message : String(error);
  const wrapped = new CollapseError('NATIVE_FAILURE', `native backend: ${message}`, {}, { cause: error });
  wrapped.stack = `CollapseError: ${wrapped.message}\n${trace.stack?.split('\n').slice(1).join('\n') ?? ''}`;
  return wrapped;
}

/**
 * The native backend: the C++ addon (native/*.cc), all cores, vectorized. Bit-identical random streams to
 * the `js` reference; simulations agree with it up to f32 rounding.
 *
 * @example
 * const backend = NativeBackend.load({ threads: 2 });
 * const normals = new Float32Array(1 << 20);
 * await backend.random('normal', normals, 1, 0, 0);
 */
export class NativeBackend implements Backend {
  readonly info: BackendInfo;
  readonly maxStatesPerJob = 1 << 26;
  readonly threads: number;
  private readonly addon: NativeAddon;

  private constructor(addon: NativeAddon, threads: number) {
    this.addon = addon;
    this.threads = threads;
    const cpu = cpus()[0]?.model?.trim() || 'unknown CPU';
    this.info = { name: 'native', device: `${cpu}, ${threads} thread${threads === 1 ? '' : 's'}`, threads };
  }

  /** Loads the addon; throws a BACKEND_UNAVAILABLE CollapseError (with the fix) when it is not built. */
  static load(options: { threads?: number } = {}): NativeBackend {
    const addon = loadAddon();
    const threads = integerIn('threads', options.threads ?? Math.min(addon.hardwareConcurrency(), MAX_THREADS), 1, MAX_THREADS);
    return new NativeBackend(addon, threads);
  }

  /** Whether the addon is built and loads (never throws). */
  static available(): boolean {
    try { loadAddon(); return true; } catch { return false; }
  }

  async random(kind: Distribution, out: Uint32Array | Float32Array, seed: number, stream: number, offset: number): Promise<void> {
    const trace = new Error();
    try {
      await this.addon.random(KIND[kind], out, seed, stream, offset, this.threads);
    } catch (error) {
      throw nativeFailure(error, trace);
    }
  }

  async simulate(job: SimJob): Promise<SimStats> {
    const trace = new Error();
    const { model } = job;
    if (model.native === false || !this.addon.models().includes(model.name)) {
      throw new CollapseError('BACKEND_UNAVAILABLE',
        `model '${model.name}' has no native kernel (the addon compiles in ${this.addon.models().join(', ')}); use backend 'webgpu' or 'js'`,
        { backend: 'native', model: model.name });
    }
    if (job.signal?.aborted) throw aborted('simulation', job.signal.reason);
    const stats = new Float64Array(job.record.length * job.gridCount * STAT_FIELDS);
    const samples = job.trace ? Math.floor(job.steps / job.trace.every) + 1 : 0;
    const traceOut = job.trace ? new Float32Array(job.gridCount * job.trace.paths * samples * model.d) : null;
    const control = new Int32Array(2);
    const config: NativeSimConfig = {
      gridOffset: job.gridOffset, gridCount: job.gridCount, paths: job.paths, pathOffset: job.pathOffset,
      steps: job.steps, dt: job.dt, record: [...job.record], epsilon: job.epsilon, seed: job.seed,
      initMean: [...job.init.mean], initStd: [...job.init.std], initShared: job.init.shared,
      traceP: job.trace?.paths ?? 0, traceEvery: job.trace?.every ?? 1, threads: this.threads,
    };
    const onAbort = (): void => { Atomics.store(control, 0, 1); };
    job.signal?.addEventListener('abort', onAbort, { once: true });
    let lastReported = -1;
    const report = (): void => {
      const done = Atomics.load(control, 1) * PROGRESS_UNIT;
      if (done !== lastReported) { lastReported = done; job.onProgress?.(done); }
    };
    const timer = job.onProgress ? setInterval(report, POLL_MS) : undefined;
    try {
      await this.addon.simulate(model.name, job.params, model.data, config, stats, traceOut, control);
    } catch (error) {
      if (job.signal?.aborted || Atomics.load(control, 0) !== 0) throw aborted('simulation', job.signal?.reason);
      throw nativeFailure(error, trace);
    } finally {
      if (timer) clearInterval(timer);
      job.signal?.removeEventListener('abort', onAbort);
    }
    job.onProgress?.(job.paths * job.gridCount * job.steps);
    return traceOut ? { stats, trace: traceOut } : { stats };
  }

  close(): void {}
}

import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { backendUnavailable, CollapseError } from '../errors.js';
import { HostTensors } from '../kernels/tensor.js';
import { ARRAY_OF, type DType, type HostArray, type KernelSpec, type MemoryInfo, type Tensor } from '../kernels/types.js';
import { packageRoot } from '../package-root.js';
import { integerIn, MAX_THREADS } from '../validate.js';
import type { Backend, BackendInfo } from './types.js';

/** Arrays the addon borrows for one call: tensors, and the few f64/i32 host arrays of job kernels. */
export type NativeArray = HostArray | Float64Array;

/** The addon's flat functions (native/addon.cc). Arrays are borrowed; outputs are written in place. */
export interface NativeAddon {
  /**
   * The one generic entry: runs the registered C++ kernel `name` (native/kernel.h) with `fields` (the kernel's
   * declared scalar fields, in order) over `arrays` (inputs then outputs). `variant` selects a compiled-in
   * specialisation (em_collapse's model). `control` (optional) is [cancel flag, progress]. Returns a promise
   * when `async` (the work runs on the thread pool), else runs inline and returns undefined.
   */
  run(name: string, variant: string, fields: Float64Array, arrays: NativeArray[], threads: number,
    control: Int32Array | null, async: boolean): Promise<void> | undefined;
  /** A 64-byte-aligned zeroed ArrayBuffer of `bytes` bytes, freed when collected. */
  alloc(bytes: number): ArrayBuffer;
  /** Names of the registered kernels. */
  kernels(): string[];
  /** Names of em_collapse's compiled-in models. */
  models(): string[];
  hardwareConcurrency(): number;
  /**
   * The instruction-set family of the GEMM under matmul, conv2d and the linear layers, chosen once per process
   * when the addon loads: 'avx512' where the processor has it, else 'avx2' ('portable' on builds without AVX2).
   * The environment variable SC_NATIVE_ISA=avx2 forces 'avx2'. Both x86 families give bit-identical results.
   */
  gemmIsa(): 'avx512' | 'avx2' | 'portable';
}

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
  if (error instanceof CollapseError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const wrapped = new CollapseError('NATIVE_FAILURE', `native backend: ${message}`, {}, { cause: error });
  wrapped.stack = `CollapseError: ${wrapped.message}\n${trace.stack?.split('\n').slice(1).join('\n') ?? ''}`;
  return wrapped;
}

/** Options of one addon call. */
export interface NativeCall {
  readonly async: boolean;
  readonly control?: Int32Array;
}

/**
 * The native backend: the C++ addon (native/*.cc), all cores, vectorized. Tensors are 64-byte-aligned memory
 * the addon reads and writes in place; runs are queued in call order, long ones on the addon's thread pool.
 *
 * @example
 * const backend = NativeBackend.load({ threads: 2 });
 * const a = backend.alloc('f32', [4, 4]);
 */
export class NativeBackend implements Backend {
  readonly info: BackendInfo;
  readonly maxStatesPerJob = 1 << 26;
  readonly maxWorkgroups = Infinity;
  readonly maxTensorBytes = 2 ** 34;
  readonly threads: number;
  readonly addon: NativeAddon;
  readonly #tensors: HostTensors;
  /** The last queued call; later calls start after it. */
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  /** The first failure of a queued call since the last flush. */
  #failure: unknown;

  private constructor(addon: NativeAddon, threads: number) {
    this.addon = addon;
    this.threads = threads;
    this.#tensors = new HostTensors('native', (dtype, size) => new ARRAY_OF[dtype](addon.alloc(size * 4), 0, size));
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

  alloc(dtype: DType, shape: readonly number[]): Tensor {
    return this.#tensors.alloc(dtype, shape);
  }

  adopt(array: HostArray, dtype: DType): Tensor {
    return this.#tensors.adopt(array, dtype);
  }

  write(t: Tensor, data: HostArray): void {
    const target = this.#tensors.array(t);
    if (this.#pending === 0) target.set(data);
    else { const copy = data.slice(); void this.#enqueue(async () => { target.set(copy); }); }
  }

  async read(t: Tensor): Promise<HostArray> {
    const source = this.#tensors.array(t);
    await this.flush();
    return source.slice();
  }

  release(t: Tensor): void {
    this.#tensors.release(t);
  }

  run<P>(kernel: KernelSpec<P>, params: P, inputs: readonly Tensor[], outputs: readonly Tensor[]): void {
    const fields = Float64Array.from(kernel.fields, (f) => f.value(params, inputs));
    const arrays = [...inputs, ...outputs].map((t) => this.#tensors.array(t));
    const async = kernel.nativeAsync(params, inputs);
    if (this.#pending === 0 && !async) {
      // The common short run, without a promise (a launch costs a few µs; promises were half of it).
      try {
        this.addon.run(kernel.name, '', fields, arrays, this.threads, null, false);
      } catch (error) {
        this.#failure ??= nativeFailure(error, new Error());
      }
      return;
    }
    this.call(kernel.name, '', fields, arrays, { async }).catch((error: unknown) => { this.#failure ??= error; });
  }

  /**
   * One call of the addon's generic entry, queued after every earlier call; short synchronous kernels run at
   * once when nothing is queued. Kernels with host-side work (em_collapse) call this directly.
   */
  call(name: string, variant: string, fields: Float64Array, arrays: NativeArray[], options: NativeCall): Promise<void> {
    if (this.#pending === 0 && !options.async) {
      try {
        this.addon.run(name, variant, fields, arrays, this.threads, options.control ?? null, false);
        return Promise.resolve();
      } catch (error) {
        // Still inside the caller's frame: this stack is the caller's (capturing one up front costs ~5 µs a call).
        return Promise.reject(nativeFailure(error, new Error()));
      }
    }
    const trace = new Error(); // queued work fails later, off the caller's stack: keep it now
    return this.#enqueue(async () => {
      try {
        await this.addon.run(name, variant, fields, arrays, this.threads, options.control ?? null, options.async);
      } catch (error) {
        throw nativeFailure(error, trace);
      }
    });
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    this.#pending++;
    const result = this.#tail.then(work);
    this.#tail = result.catch(() => {}).finally(() => { this.#pending--; });
    return result;
  }

  async flush(): Promise<void> {
    await this.#tail;
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure !== undefined) throw failure;
  }

  memory(): MemoryInfo {
    return this.#tensors.memory();
  }

  close(): void {}
}

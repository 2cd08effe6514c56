import type { DType, HostArray, KernelSpec, MemoryInfo, Tensor } from '../kernels/types.js';

export type BackendName = 'webgpu' | 'native' | 'js';

export interface BackendInfo {
  readonly name: BackendName;
  /** Human-readable: the adapter, the CPU and thread count... */
  readonly device: string;
  readonly threads?: number;
}

/**
 * What every backend implements: tensors it owns and a queue of kernel runs. Kernel-specific code lives in
 * the kernels (src/kernels/), never here. Calls are ordered: `write`, `run` and `read` take effect in the
 * order they were made, whatever the backend does asynchronously.
 */
export interface Backend {
  readonly info: BackendInfo;
  /** A tensor of the given dtype and shape; contents undefined until written or computed. */
  alloc(dtype: DType, shape: readonly number[]): Tensor;
  /**
   * A tensor over the caller's own array, without a copy: what kernels write, the caller sees. Only backends whose
   * tensors are host memory (js, native) have it; callers fall back to alloc + read.
   */
  adopt?(array: HostArray, dtype: DType): Tensor;
  /** Copies `data` (checked by the caller: dtype and size match) into `t`, after every earlier call. */
  write(t: Tensor, data: HostArray): void;
  /** The tensor's contents, after every earlier call: the only host synchronisation. */
  read(t: Tensor): Promise<HostArray>;
  /** Returns the tensor's memory (to the pool on webgpu). Using it afterwards throws. */
  release(t: Tensor): void;
  /**
   * Enqueues one run of `kernel` (inputs and outputs already validated by src/kernels/run.ts). Errors the
   * device reports later surface at the next `flush` or `read`.
   */
  run<P>(kernel: KernelSpec<P>, params: P, inputs: readonly Tensor[], outputs: readonly Tensor[]): void;
  /** Waits until every enqueued run has finished; rejects with the first error since the last flush. */
  flush(): Promise<void>;
  /** Live tensors and bytes. */
  memory(): MemoryInfo;
  /** Largest tensor this backend can bind to a kernel, in bytes. */
  readonly maxTensorBytes: number;
  /** Most workgroups one run may dispatch (webgpu: the per-dimension limit squared); Infinity on the CPU. */
  readonly maxWorkgroups: number;
  /** Largest number of (path × grid point) states one Monte Carlo job may hold; the SDE planner splits above it. */
  readonly maxStatesPerJob: number;
  close(): void;
}

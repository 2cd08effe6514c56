/**
 * The kernel engine's vocabulary: tensors owned by a backend, and kernels declared once for every backend.
 * A kernel is one name in every layer (`shaders/<name>.wgsl`, `native/<name>.{h,cc}`, `src/kernels/<name>.ts`,
 * `test/kernels/<name>.test.ts`, `bench/suite-<name>.mjs`); adding one adds files and a line in
 * `src/kernels/registry.ts`, never a method on a backend class.
 */

export type DType = 'f32' | 'u32' | 'i32';

/** The host array of each dtype. */
export interface HostArrays {
  f32: Float32Array;
  u32: Uint32Array;
  i32: Int32Array;
}
export type HostArray = HostArrays[DType];

export const DTYPES: readonly DType[] = ['f32', 'u32', 'i32'];

export const ARRAY_OF: { readonly [D in DType]: { new (n: number): HostArrays[D]; new (b: ArrayBuffer, o?: number, n?: number): HostArrays[D] } } = {
  f32: Float32Array,
  u32: Uint32Array,
  i32: Int32Array,
};

/** The dtype a host array holds, or undefined for any other value. */
export function dtypeOf(value: unknown): DType | undefined {
  if (value instanceof Float32Array) return 'f32';
  if (value instanceof Uint32Array) return 'u32';
  if (value instanceof Int32Array) return 'i32';
  return undefined;
}

/** What a kernel needs to know of a tensor to validate a call. */
export interface TensorInfo {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** Elements of a shape (1 for a scalar shape []). */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A tensor on one backend: a pooled GPU buffer (`webgpu`), 64-byte-aligned memory the addon reads in place
 * (`native`) or a typed array (`js`). Row-major. Its contents reach the host only through `read()`.
 */
export interface Tensor extends TensorInfo {
  /** Number of elements. */
  readonly size: number;
  /** Bytes of device memory it holds (4 per element). */
  readonly bytes: number;
  /** The backend that owns it. */
  readonly backend: string;
  /** True after `release()`: any further use throws INVALID_ARGUMENT. */
  readonly released: boolean;
}

/**
 * One scalar parameter of a kernel: how it is packed into the WGSL `Params` uniform (4 bytes, in declaration
 * order) and into the native call (as an f64, in the same order). A test checks every list against its shader.
 */
export interface Field<P> {
  readonly name: string;
  readonly type: 'u32' | 'i32' | 'f32';
  /** The value for one call; `inputs` are the call's input tensors (for sizes and strides). */
  readonly value: (p: P, inputs: readonly TensorInfo[]) => number;
}

/** How the generic webgpu path launches a kernel: one dispatch of `workgroups(p)` workgroups. */
export interface WebgpuLaunch<P> {
  /** Shader files under shaders/, concatenated in order (helpers first); the last defines `main`. */
  readonly shaders: readonly string[];
  /** `override` constants (workgroup and tile sizes...), given the device's limits. */
  overrides?(p: P): Record<string, number>;
  /** Linear workgroup count; the backend spreads it over (x, y) past the per-dimension limit. */
  workgroups(p: P, inputs: readonly TensorInfo[]): number;
}

/**
 * A kernel: parameters P, typed inputs and outputs, a plain-JS reference, and how webgpu and native run it.
 * Outputs are written completely by every run, except where the kernel documents that it reads them
 * (matmul's `accumulate`).
 */
export interface KernelSpec<P> {
  readonly name: string;
  /** One line for `--help`, benchmarks and errors. */
  readonly summary: string;
  /** The scalar parameters, in the order of the WGSL `Params` struct and of the native call. */
  readonly fields: readonly Field<P>[];
  /**
   * Checks `params` against `inputs` (throwing CollapseError INVALID_ARGUMENT naming what is wrong and what
   * is expected) and returns the dtype and shape of each output.
   */
  validate(params: P, inputs: readonly TensorInfo[]): TensorInfo[];
  /** The reference: fills `outputs` from `inputs`. Obviously correct rather than fast. */
  reference(params: P, inputs: readonly HostArray[], outputs: HostArray[]): void;
  readonly webgpu: WebgpuLaunch<P>;
  /**
   * Whether the native call goes to the thread pool behind a promise (long work) or runs inline. `inputs` size
   * the work of kernels whose parameters do not (elementwise kernels).
   */
  nativeAsync(params: P, inputs: readonly TensorInfo[]): boolean;
  /** Floating-point operations (or the kernel's natural work unit) of one run on `inputs`, for benchmarks. */
  work(params: P, inputs: readonly TensorInfo[]): number;
  readonly workUnit: string;
}

/** Options of a run that only long kernels honour. */
export interface RunControl {
  readonly signal?: AbortSignal;
}

/** Live device memory of one engine. */
export interface MemoryInfo {
  /** Tensors allocated and not released. */
  readonly tensors: number;
  /** Bytes held by those tensors. */
  readonly bytes: number;
  /** The most bytes held at once since the engine started. */
  readonly peakBytes: number;
  /** Bytes the backend keeps for reuse beyond live tensors (webgpu's buffer pool); 0 elsewhere. */
  readonly pooledBytes: number;
}

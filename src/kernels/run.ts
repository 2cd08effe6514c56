/**
 * The one entry from the public API to a backend's queue: validation of a kernel call (the kernel's own
 * `validate`, then the tensors against what it expects) and the host-array convenience on top of it.
 */
import { invalidArgument } from '../errors.js';
import type { Backend } from '../backends/types.js';
import { checkWrite, own } from './tensor.js';
import { sizeOf, type HostArray, type KernelSpec, type Tensor, type TensorInfo } from './types.js';

const describe = (t: TensorInfo) => `${t.dtype}[${t.shape.join(', ')}]`;

/**
 * Validates and enqueues one run of `kernel`; allocates the outputs when they are not given. Returns them.
 * @example
 * const [c] = runKernel(backend, matmul, { m: 2, n: 2, k: 2 }, [a, b]);
 */
export function runKernel<P>(backend: Backend, kernel: KernelSpec<P>, params: P, inputs: readonly Tensor[], outputs?: readonly Tensor[]): Tensor[] {
  const expected = checkCall(backend, kernel, params, inputs, outputs);
  return runOn(backend, kernel, params, inputs, outputs ?? expected.map((e) => backend.alloc(e.dtype, e.shape)));
}

/**
 * Every check of a run without running it: the kernel's own `validate`, tensor ownership, and the given
 * outputs' dtypes, shapes and aliasing. Returns the outputs the kernel expects.
 */
export function checkCall<P>(backend: Backend, kernel: KernelSpec<P>, params: P, inputs: readonly Tensor[], outputs?: readonly Tensor[]): TensorInfo[] {
  if (!Array.isArray(inputs)) throw invalidArgument(`${kernel.name} inputs`, inputs, 'an array of tensors');
  inputs.forEach((t, i) => own(backend.info.name, t, `${kernel.name} input ${i}`));
  const expected = kernel.validate(params, inputs);
  if (outputs === undefined) return expected;
  if (!Array.isArray(outputs) || outputs.length !== expected.length) {
    throw invalidArgument(`${kernel.name} outputs`, outputs, `an array of ${expected.length} tensor(s): ${expected.map(describe).join(', ')}`);
  }
  outputs.forEach((t, i) => {
    own(backend.info.name, t, `${kernel.name} output ${i}`);
    // Like inputs, outputs are checked by element count: a tensor is a flat buffer, so a reshape is free
    // (a linear layer's [out, in] weight gradient is the 1×1 convolution's [out, in, 1, 1]).
    if (t.dtype !== expected[i].dtype || t.size !== sizeOf(expected[i].shape)) {
      throw invalidArgument(`${kernel.name} output ${i}`, describe(t), `a tensor ${describe(expected[i])} (or another shape of ${sizeOf(expected[i].shape)} elements)`);
    }
    if (inputs.includes(t) || outputs.indexOf(t) !== i) {
      throw invalidArgument(`${kernel.name} output ${i}`, describe(t), 'a tensor that is not also an input or another output (no aliasing)');
    }
  });
  return expected;
}

function runOn<P>(backend: Backend, kernel: KernelSpec<P>, params: P, inputs: readonly Tensor[], outputs: readonly Tensor[]): Tensor[] {
  backend.run(kernel, params, inputs, outputs);
  return [...outputs];
}

/**
 * One kernel run on host arrays: upload, run, read back, release. `initial` pre-fills outputs the kernel
 * reads (matmul's `accumulate`). The tensors are released however the call ends.
 */
export async function callKernel<P>(backend: Backend, kernel: KernelSpec<P>, params: P, inputs: readonly HostArray[],
  initial: readonly (HostArray | undefined)[] = []): Promise<HostArray[]> {
  const info = inputs.map((a, i): TensorInfo => {
    const t = hostInfo(a);
    if (!t) throw invalidArgument(`${kernel.name} input ${i}`, a, 'a Float32Array, Uint32Array or Int32Array');
    return t;
  });
  // Kernels check input sizes, not shapes, so flat host arrays validate like tensors of any shape.
  const expected = kernel.validate(params, info);
  const made: Tensor[] = [];
  try {
    const ins = inputs.map((a, i) => {
      const t = backend.alloc(info[i].dtype, info[i].shape);
      made.push(t);
      backend.write(t, a);
      return t;
    });
    const outs = expected.map((e, i) => {
      const t = backend.alloc(e.dtype, e.shape);
      made.push(t);
      if (initial[i] !== undefined) backend.write(t, checkWrite(t, initial[i]));
      return t;
    });
    backend.run(kernel, params, ins, outs);
    return await Promise.all(outs.map((t) => backend.read(t)));
  } finally {
    for (const t of made) backend.release(t);
  }
}

function hostInfo(a: unknown): TensorInfo | undefined {
  if (a instanceof Float32Array) return { dtype: 'f32', shape: [a.length] };
  if (a instanceof Uint32Array) return { dtype: 'u32', shape: [a.length] };
  if (a instanceof Int32Array) return { dtype: 'i32', shape: [a.length] };
  return undefined;
}

/** A kernel callable on host arrays (`engine.kernels.<name>(args)`): one or more runs on the engine's backend. */
export interface HostKernel<A, R> {
  call(backend: Backend, args: A): Promise<R>;
}

/** What a host call does with its backend inside `hostRuns`. */
export interface HostRuns {
  /** A tensor holding a copy of `data` (its dtype, shape [length]). */
  upload(data: HostArray): Tensor;
  /** Validates and enqueues one run of `kernel`; its outputs are allocated here. */
  run<P>(kernel: KernelSpec<P>, params: P, inputs: readonly Tensor[]): Tensor[];
  read(t: Tensor): Promise<HostArray>;
}

/**
 * Several kernel runs on host arrays sharing their uploads (a backward pass is two kernels on the same inputs);
 * every tensor made through `io` is released however `body` ends.
 * @example
 * const y = await hostRuns(backend, async (io) => io.read(io.run(matmul, { m: 2, n: 2, k: 3 }, [io.upload(a), io.upload(b)])[0]));
 */
export async function hostRuns<R>(backend: Backend, body: (io: HostRuns) => Promise<R>): Promise<R> {
  const made: Tensor[] = [];
  const keep = (t: Tensor) => { made.push(t); return t; };
  try {
    return await body({
      upload(data) {
        const info = hostInfo(data);
        if (!info) throw invalidArgument('host array', data, 'a Float32Array, Uint32Array or Int32Array');
        const t = keep(backend.alloc(info.dtype, info.shape));
        backend.write(t, data);
        return t;
      },
      run(kernel, params, inputs) {
        const expected = kernel.validate(params, inputs);
        const outs = expected.map((e) => keep(backend.alloc(e.dtype, e.shape)));
        backend.run(kernel, params, inputs, outs);
        return outs;
      },
      read: (t) => backend.read(t),
    });
  } finally {
    for (const t of made) backend.release(t);
  }
}

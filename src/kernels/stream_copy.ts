/**
 * stream_copy: a ceiling kernel for benchmarks (`collapse bench`): out = in (f32), the memory bandwidth a
 * backend reaches streaming one array into another. Counted as 8 bytes per element (one read, one write).
 * - webgpu: shaders/stream_copy.wgsl, one element per thread.
 * - native: native/stream_copy.cc, 256 KiB chunks over the pool.
 * - js: the reference below.
 */
import { invalidArgument } from '../errors.js';
import { integerIn, plainObject } from '../validate.js';
import { sizeOf, type KernelSpec, type TensorInfo } from './types.js';

export interface StreamCopyParams {
  /** Elements to copy. */
  readonly n: number;
}

const WG = 256;
const groups = (p: StreamCopyParams) => Math.ceil(p.n / WG);

export const streamCopy: KernelSpec<StreamCopyParams> = {
  name: 'stream_copy',
  summary: 'ceiling: f32 array copy (the memory bandwidth)',
  fields: [
    { name: 'n', type: 'u32', value: (p) => p.n },
    { name: 'groups', type: 'u32', value: groups },
  ],
  validate(p, inputs: readonly TensorInfo[]): TensorInfo[] {
    plainObject('stream_copy params', p);
    integerIn('stream_copy n', p.n, 0, 2 ** 31);
    if (inputs.length !== 1) throw invalidArgument('stream_copy inputs', `${inputs.length} tensors`, 'one f32 tensor of n elements');
    const size = sizeOf(inputs[0].shape);
    if (inputs[0].dtype !== 'f32' || size !== p.n) throw invalidArgument('stream_copy input', `${inputs[0].dtype}[${size}]`, `an f32 tensor of ${p.n} elements`);
    return [{ dtype: 'f32', shape: [p.n] }];
  },
  reference(_p, [input], [out]) {
    out.set(input);
  },
  webgpu: {
    shaders: ['stream_copy.wgsl'],
    overrides: () => ({ WG }),
    workgroups: groups,
  },
  nativeAsync: (p) => p.n >= 1 << 20,
  work: (p) => 8 * p.n,
  workUnit: 'bytes',
};

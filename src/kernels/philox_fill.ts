/**
 * philox_fill: draws offset .. offset + count − 1 of the Philox4x32-10 stream (seed, stream) as raw u32s,
 * uniforms in (0, 1) or standard normals (src/rng/philox.ts defines the bits and is the reference).
 * - webgpu: shaders/philox.wgsl + shaders/philox_fill.wgsl, one thread per Philox block.
 * - native: native/philox_fill.cc, AVX2 Philox 16 blocks at a time over the pool.
 */
import { invalidArgument } from '../errors.js';
import { fillDraws, type Distribution } from '../rng/philox.js';
import { integerIn, MAX_U32, oneOf, plainObject } from '../validate.js';
import type { Backend } from '../backends/types.js';
import { runKernel } from './run.js';
import { MAX_ELEMENTS } from './tensor.js';
import type { DType, KernelSpec, TensorInfo } from './types.js';

export interface PhiloxFillParams {
  readonly kind: Distribution;
  readonly seed: number;
  readonly stream: number;
  /** Index of the first draw (a safe integer). */
  readonly offset: number;
  readonly count: number;
}

/** Workgroup size of shaders/philox_fill.wgsl. */
const WG = 64;
const KINDS: readonly Distribution[] = ['uint32', 'uniform', 'normal'];
const TWO32 = 0x1_0000_0000;

const block = (p: PhiloxFillParams) => Math.floor(p.offset / 4);
const lane0 = (p: PhiloxFillParams) => p.offset - block(p) * 4;
const groups = (p: PhiloxFillParams) => Math.ceil(Math.ceil((lane0(p) + p.count) / 4) / WG);

export const philoxFill: KernelSpec<PhiloxFillParams> = {
  name: 'philox_fill',
  summary: 'Philox4x32-10 draws: u32, uniform or normal',
  fields: [
    { name: 'kind', type: 'u32', value: (p) => KINDS.indexOf(p.kind) },
    { name: 'block_lo', type: 'u32', value: (p) => block(p) % TWO32 },
    { name: 'block_hi', type: 'u32', value: (p) => Math.floor(block(p) / TWO32) },
    { name: 'lane0', type: 'u32', value: lane0 },
    { name: 'n', type: 'u32', value: (p) => p.count },
    { name: 'seed', type: 'u32', value: (p) => p.seed },
    { name: 'stream', type: 'u32', value: (p) => p.stream },
    { name: 'groups', type: 'u32', value: groups },
  ],
  validate(p, inputs: readonly TensorInfo[]): TensorInfo[] {
    plainObject('philox_fill params', p);
    oneOf('kind', p.kind, KINDS);
    integerIn('seed', p.seed, 0, MAX_U32);
    integerIn('stream', p.stream, 0, MAX_U32);
    integerIn('count', p.count, 0, MAX_ELEMENTS);
    integerIn('offset', p.offset, 0, Number.MAX_SAFE_INTEGER - p.count);
    if (inputs.length !== 0) throw invalidArgument('philox_fill inputs', `${inputs.length} tensors`, 'none');
    return [{ dtype: p.kind === 'uint32' ? 'u32' : 'f32', shape: [p.count] }];
  },
  reference(p, _inputs, [out]) {
    fillDraws(p.kind, out as Uint32Array | Float32Array, p.seed, p.stream, p.offset);
  },
  webgpu: {
    shaders: ['philox.wgsl', 'philox_fill.wgsl'],
    overrides: () => ({ WG }),
    workgroups: groups,
  },
  nativeAsync: (p) => p.count >= 1 << 16,
  work: (p) => p.count,
  workUnit: 'draws',
};

/** Draws per philox_fill run when the caller's array cannot be written in place (webgpu): 64 Mi (256 MiB). */
const CHUNK = 2 ** 26;

/**
 * The plan step of philox_fill for a caller's array: in place on host-memory backends (no copy), in
 * chunks of at most one tensor read back on webgpu. Draws are addressed, so chunking never changes them.
 * @example
 * await drawInto(backend, 'normal', new Float32Array(1 << 20), 42, 0, 0);
 */
export async function drawInto(backend: Backend, kind: Distribution, out: Uint32Array | Float32Array, seed: number, stream: number, offset: number): Promise<void> {
  const dtype: DType = kind === 'uint32' ? 'u32' : 'f32';
  if (!(kind === 'uint32' ? out instanceof Uint32Array : out instanceof Float32Array)) {
    throw invalidArgument('out', out, `a ${kind === 'uint32' ? 'Uint32Array' : 'Float32Array'} for ${kind} draws`);
  }
  // A chunk fits one tensor and one dispatch (blocks of 4 draws, WG per workgroup, up to 3 skipped lanes).
  const byGroups = Math.floor((Math.min(backend.maxWorkgroups, 2 ** 40) * WG * 4 - 3) / 64) * 64;
  const inPlace = backend.adopt !== undefined;
  const chunk = inPlace ? out.length : Math.max(64, Math.min(CHUNK, Math.floor(backend.maxTensorBytes / 4 / 64) * 64, byGroups));
  for (let start = 0; start < out.length; start += chunk) {
    const count = Math.min(chunk, out.length - start);
    const params = { kind, seed, stream, offset: offset + start, count };
    const target = backend.adopt ? backend.adopt(out, dtype) : backend.alloc(dtype, [count]);
    try {
      runKernel(backend, philoxFill, params, [], [target]);
      if (inPlace) await backend.flush();
      else out.set(await backend.read(target), start);
    } finally {
      backend.release(target);
    }
  }
}

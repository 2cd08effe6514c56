/**
 * matmul: batched f32 GEMM, C[i] = op(A[i]) · op(B[i]) (+ C[i] with `accumulate`), row-major, op ∈ {identity,
 * transpose}. The building block of linear layers and of convolution as GEMM.
 * - webgpu: shaders/matmul.wgsl, tiles of TILE_M × TILE_N outputs per workgroup through workgroup memory.
 * - native: native/matmul.cc, packed panels and a register-blocked micro-kernel on the pool: 8×32 AVX-512 where the
 *   processor has it, else 6×16 AVX2/FMA (chosen at load; SC_NATIVE_ISA=avx2 forces AVX2; both give the same bits).
 * - js: the reference below, f64 sums rounded once to f32.
 */
import { invalidArgument } from '../errors.js';
import { integerIn, plainObject } from '../validate.js';
import { MAX_ELEMENTS } from './tensor.js';
import { callKernel, type HostKernel } from './run.js';
import { sizeOf, type KernelSpec, type TensorInfo } from './types.js';

export interface MatmulParams {
  /** Rows of C and of op(A). */
  readonly m: number;
  /** Columns of C and of op(B). */
  readonly n: number;
  /** Columns of op(A), rows of op(B): the summed dimension (0 gives C = 0). */
  readonly k: number;
  /** Number of products (default 1). A or B holding a single matrix is shared by all of them. */
  readonly batch?: number;
  /** A is stored k × m and used transposed. */
  readonly transposeA?: boolean;
  /** B is stored n × k and used transposed. */
  readonly transposeB?: boolean;
  /** C += op(A)·op(B): the output's previous contents are read. */
  readonly accumulate?: boolean;
}

/** Output tile of one webgpu workgroup (the `override` constants of shaders/matmul.wgsl). */
export const MATMUL_TILE = { TILE_M: 64, TILE_N: 64, TILE_K: 16, WG: 256 } as const;

interface Resolved { batch: number; m: number; n: number; k: number; ta: boolean; tb: boolean; acc: boolean }

function resolve(p: MatmulParams): Resolved {
  plainObject('matmul params', p);
  const m = integerIn('matmul m', p.m, 0, MAX_ELEMENTS);
  const n = integerIn('matmul n', p.n, 0, MAX_ELEMENTS);
  const k = integerIn('matmul k', p.k, 0, MAX_ELEMENTS);
  const batch = integerIn('matmul batch', p.batch ?? 1, 0, MAX_ELEMENTS);
  for (const flag of ['transposeA', 'transposeB', 'accumulate'] as const) {
    if (p[flag] !== undefined && typeof p[flag] !== 'boolean') throw invalidArgument(`matmul ${flag}`, p[flag], 'true or false');
  }
  return { batch, m, n, k, ta: p.transposeA === true, tb: p.transposeB === true, acc: p.accumulate === true };
}

/** Elements between consecutive matrices of an operand of `size` elements: 0 when one matrix is shared. */
function strideOf(size: number, one: number, batch: number): number {
  return size === one && batch > 1 ? 0 : one;
}

const tiles = (x: number, t: number) => Math.ceil(x / t);
const groupsOf = (p: MatmulParams) => {
  const r = resolve(p);
  return r.batch * tiles(r.m, MATMUL_TILE.TILE_M) * tiles(r.n, MATMUL_TILE.TILE_N);
};

/** Element strides between the batch's A and B matrices, from the input sizes. */
function strides(p: MatmulParams, inputs: readonly { length: number }[] | readonly TensorInfo[]): [number, number] {
  const { batch, m, n, k } = resolve(p);
  const size = (x: { length: number } | TensorInfo) => ('shape' in x ? sizeOf(x.shape) : x.length);
  return [strideOf(size(inputs[0]), m * k, batch), strideOf(size(inputs[1]), k * n, batch)];
}

export const matmul: KernelSpec<MatmulParams> = {
  name: 'matmul',
  summary: 'batched f32 GEMM C = op(A)·op(B) (+C)',
  fields: [
    { name: 'batch', type: 'u32', value: (p) => resolve(p).batch },
    { name: 'm', type: 'u32', value: (p) => p.m },
    { name: 'n', type: 'u32', value: (p) => p.n },
    { name: 'k', type: 'u32', value: (p) => p.k },
    { name: 'trans_a', type: 'u32', value: (p) => (p.transposeA ? 1 : 0) },
    { name: 'trans_b', type: 'u32', value: (p) => (p.transposeB ? 1 : 0) },
    { name: 'accumulate', type: 'u32', value: (p) => (p.accumulate ? 1 : 0) },
    { name: 'stride_a', type: 'u32', value: (p, inputs) => strides(p, inputs)[0] },
    { name: 'stride_b', type: 'u32', value: (p, inputs) => strides(p, inputs)[1] },
    { name: 'tiles_m', type: 'u32', value: (p) => tiles(p.m, MATMUL_TILE.TILE_M) },
    { name: 'tiles_n', type: 'u32', value: (p) => tiles(p.n, MATMUL_TILE.TILE_N) },
    { name: 'groups', type: 'u32', value: groupsOf },
  ],
  validate(p, inputs: readonly TensorInfo[]): TensorInfo[] {
    const { batch, m, n, k } = resolve(p);
    if (inputs.length !== 2) throw invalidArgument('matmul inputs', `${inputs.length} tensors`, 'two tensors, A and B');
    const sizes = inputs.map((t) => sizeOf(t.shape));
    inputs.forEach((t, i) => { if (t.dtype !== 'f32') throw invalidArgument(`matmul ${'AB'[i]}`, `a ${t.dtype} tensor`, 'an f32 tensor'); });
    const one = [m * k, k * n];
    sizes.forEach((size, i) => {
      const name = 'AB'[i];
      const dims = i === 0 ? (p.transposeA ? `${k}×${m}` : `${m}×${k}`) : (p.transposeB ? `${n}×${k}` : `${k}×${n}`);
      if (size !== one[i] && size !== batch * one[i]) {
        throw invalidArgument(`matmul ${name}`, `${size} elements`, `${batch > 1 ? `${batch} matrices of ` : ''}${dims} (${batch * one[i]} elements)${batch > 1 ? ` or one ${dims} matrix shared by the batch (${one[i]})` : ''}`);
      }
    });
    if (batch * m * n > MAX_ELEMENTS) throw invalidArgument('matmul output', `${batch}×${m}×${n}`, `at most ${MAX_ELEMENTS} elements`);
    return [{ dtype: 'f32', shape: batch === 1 ? [m, n] : [batch, m, n] }];
  },
  reference(p, [a, b], [c]) {
    const { batch, m, n, k, ta, tb, acc } = resolve(p);
    const [sa, sb] = strides(p, [a, b]);
    for (let q = 0; q < batch; q++) {
      const oa = q * sa, ob = q * sb, oc = q * m * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let l = 0; l < k; l++) sum += a[oa + (ta ? l * m + i : i * k + l)] * b[ob + (tb ? j * k + l : l * n + j)];
          c[oc + i * n + j] = Math.fround(acc ? c[oc + i * n + j] + sum : sum);
        }
      }
    }
  },
  webgpu: {
    shaders: ['gemm_tile.wgsl', 'matmul.wgsl'],
    overrides: () => ({ ...MATMUL_TILE }),
    workgroups: groupsOf,
  },
  // Below ~0.5 ms (64 MFLOP at ~130 GFLOP/s) the libuv hop and promise cost more than blocking the caller.
  nativeAsync: (p) => 2 * resolve(p).batch * p.m * p.n * p.k > 2 ** 26,
  work: (p) => 2 * resolve(p).batch * p.m * p.n * p.k,
  workUnit: 'FLOP',
};

/** Arguments of `engine.kernels.matmul`: the operands as host arrays and the product's dimensions. */
export interface MatmulArgs extends MatmulParams {
  readonly a: Float32Array;
  readonly b: Float32Array;
  /** The C to add to with `accumulate` (batch × m × n); not modified. */
  readonly c?: Float32Array;
}

/** The host-array form of matmul (engine.kernels.matmul). */
export const matmulHost: HostKernel<MatmulArgs, Float32Array> = {
  async call(backend, args) {
    plainObject('matmul arguments', args);
    const { a, b, c, ...params } = args;
    if (!(a instanceof Float32Array)) throw invalidArgument('matmul a', a, 'a Float32Array');
    if (!(b instanceof Float32Array)) throw invalidArgument('matmul b', b, 'a Float32Array');
    if (params.accumulate && !(c instanceof Float32Array)) throw invalidArgument('matmul c', c, 'a Float32Array of batch × m × n elements (accumulate adds to it)');
    if (!params.accumulate && c !== undefined) throw invalidArgument('matmul c', c, 'absent unless accumulate is true');
    const [out] = await callKernel(backend, matmul, params, [a, b], [c]);
    return out as Float32Array;
  },
};

/**
 * fma_peak: a ceiling kernel for benchmarks (`collapse bench`): the f32 FMA rate a backend reaches when nothing
 * else limits it. Output i is x after `iterations` steps of x ← fma(x, a, b) from x0 = (i mod 1024)/1024: every
 * output is an independent dependency chain, so a backend can overlap as many as its FMA units and latency need.
 * - webgpu: shaders/fma_peak.wgsl, 4 vec4 chains per thread.
 * - native: native/fma_peak.cc, 12 vectors of chains per task, AVX-512 (192 outputs) where the GEMM runs its AVX-512
 *   family (native/matmul.h), else AVX2 (96 outputs), tasks over the pool.
 * - js: the reference below (one rounding of x·a + b per step, in f64 then f32).
 */
import { invalidArgument } from '../errors.js';
import { finiteNumber, integerIn, MAX_U32, plainObject } from '../validate.js';
import type { KernelSpec, TensorInfo } from './types.js';

export interface FmaPeakParams {
  /** Outputs (independent chains). */
  readonly n: number;
  /** FMA steps per output. */
  readonly iterations: number;
  /** The multiplier (keep |a| < 1 so the chains stay bounded; default 0.5). */
  readonly a?: number;
  /** The addend (default 0.5). */
  readonly b?: number;
}

/** Outputs per webgpu thread (shaders/fma_peak.wgsl) and its workgroup size. */
const PER_THREAD = 16;
const WG = 64;
/** Largest n: keeps 16·thread ids inside u32 on webgpu. */
export const FMA_PEAK_MAX_N = 2 ** 28;

const groups = (p: FmaPeakParams) => Math.ceil(Math.ceil(p.n / PER_THREAD) / WG);

export const fmaPeak: KernelSpec<FmaPeakParams> = {
  name: 'fma_peak',
  summary: 'ceiling: independent f32 FMA chains (the arithmetic peak)',
  fields: [
    { name: 'n', type: 'u32', value: (p) => p.n },
    { name: 'iterations', type: 'u32', value: (p) => p.iterations },
    { name: 'a', type: 'f32', value: (p) => p.a ?? 0.5 },
    { name: 'b', type: 'f32', value: (p) => p.b ?? 0.5 },
    { name: 'groups', type: 'u32', value: groups },
  ],
  validate(p, inputs: readonly TensorInfo[]): TensorInfo[] {
    plainObject('fma_peak params', p);
    integerIn('fma_peak n', p.n, 0, FMA_PEAK_MAX_N);
    integerIn('fma_peak iterations', p.iterations, 0, MAX_U32);
    if (p.a !== undefined) finiteNumber('fma_peak a', p.a);
    if (p.b !== undefined) finiteNumber('fma_peak b', p.b);
    if (inputs.length !== 0) throw invalidArgument('fma_peak inputs', `${inputs.length} tensors`, 'none');
    return [{ dtype: 'f32', shape: [p.n] }];
  },
  reference(p, _inputs, [out]) {
    const a = Math.fround(p.a ?? 0.5), b = Math.fround(p.b ?? 0.5);
    for (let i = 0; i < p.n; i++) {
      let x = (i & 1023) / 1024;
      for (let it = 0; it < p.iterations; it++) x = Math.fround(x * a + b);
      out[i] = x;
    }
  },
  webgpu: {
    shaders: ['fma_peak.wgsl'],
    overrides: () => ({ WG }),
    workgroups: groups,
  },
  nativeAsync: (p) => 2 * p.n * p.iterations > 2 ** 25,
  work: (p) => 2 * p.n * p.iterations,
  workUnit: 'FLOP',
};

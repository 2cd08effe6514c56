/**
 * sgd_update: one step of torch.optim.SGD without dampening or Nesterov, on one parameter tensor:
 *   d = g + wd·p;   buf = momentum·buf + d;   p = p − lr·buf      (momentum 0: buf = d, p = p − lr·d).
 * param and momentumBuffer are outputs READ AND UPDATED IN PLACE; the buffer starts at 0, so the first step
 * gives buf = d as torch's does. Weight decay is coupled (L2 added to the gradient), as in torch.
 *
 * Operation order, identical on every backend so that they agree to the last bit: each line is ONE fused
 * multiply-add in f32, rounded once,
 *   d = fma(wd, p, g);   buf = fma(momentum, buf, d);   p = fma(−lr, buf, p)
 * (momentum 0: buf = d; p = fma(−lr, d, p)). lr, momentum and wd are rounded to f32 first.
 * - webgpu: shaders/sgd_update.wgsl, one element per thread, WGSL fma().
 * - native: native/sgd_update.cc, std::fma / AVX2 _mm256_fmadd_ps over the pool.
 * - js: the core below with `fmaf`, a correctly rounded f32 fma.
 */
import { invalidArgument } from '../errors.js';
import { integerIn, plainObject } from '../validate.js';
import { MAX_ELEMENTS } from './tensor.js';
import { sizeOf, type KernelSpec, type TensorInfo } from './types.js';

export interface SgdUpdateParams {
  /** Learning rate: finite, ≥ 0. */
  readonly lr: number;
  /** Heavy-ball momentum: finite, ≥ 0 (0: plain SGD). */
  readonly momentum: number;
  /** Coupled L2 weight decay: finite, ≥ 0. */
  readonly weightDecay: number;
  /** Optional: the element count, checked against the inputs when given (benchmarks count work from it). */
  readonly n?: number;
}

const WG = 256;

const f64 = new Float64Array(1);
const words = new Uint32Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * a·b + c for f32 values a, b, c, rounded once to f32 (what a hardware fused multiply-add gives). a·b is exact in
 * f64 (24 + 24 bits); the f64 sum is then rounded to odd (its exact error, from TwoSum, decides the last bit),
 * and rounding an odd-rounded value with 53 ≥ 24 + 2 bits to f32 equals rounding the exact value once.
 * @example
 * // The exact value lies just below the midpoint of two f32s: rounding a*b + c to f64 lands on the midpoint and
 * // Math.fround would then round to even, up; fmaf rounds down, as an FMA does.
 * fmaf(2 ** -12 * (1 + 2 ** -23), 2 ** -12 * (1 - 2 ** -23), 1 + 2 ** -23); // 1 + 2^-23 (Math.fround gives 1 + 2^-22)
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  if (!Number.isFinite(s)) return Math.fround(s);
  const v = s - p;
  const err = (p - (s - v)) + (c - v);
  f64[0] = s;
  const lo = LITTLE ? 0 : 1, hi = 1 - lo;
  if (err !== 0 && (words[lo] & 1) === 0) {
    // Step to the odd neighbour on err's side of s: away from zero when err has s's sign, else towards it.
    if ((err > 0) === (s > 0)) {
      words[lo] += 1;   // lowest bit 0: no carry
    } else if (words[lo] === 0) {
      words[lo] = 0xffff_ffff;
      words[hi] -= 1;
    } else {
      words[lo] -= 1;
    }
  }
  return Math.fround(f64[0]);
}

/** The plain f64 multiply-add, for running the core in f64 (hand checks). */
export const fma64 = (a: number, b: number, c: number): number => a * b + c;

type Out = { [i: number]: number };

/**
 * One SGD step over every element, with `fma` the multiply-add of the precision wanted (fmaf for f32).
 * @example
 * const param = [1], buffer = [0];
 * sgdUpdateCore(0.1, 0.9, 0.01, [0.5], param, buffer, fma64); // buffer = [0.51], param = [0.949]
 */
export function sgdUpdateCore(lr: number, momentum: number, weightDecay: number, grad: ArrayLike<number>,
  param: Out, buffer: Out, fma: (a: number, b: number, c: number) => number): void {
  for (let i = 0; i < grad.length; i++) {
    const d = fma(weightDecay, param[i], grad[i]);
    const b = momentum === 0 ? d : fma(momentum, buffer[i], d);
    buffer[i] = b;
    param[i] = fma(-lr, b, param[i]);
  }
}

function resolve(p: SgdUpdateParams): { lr: number; momentum: number; weightDecay: number } {
  plainObject('sgd_update params', p);
  const check = (name: string, v: unknown) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || !Number.isFinite(Math.fround(v))) {
      throw invalidArgument(`sgd_update ${name}`, v, 'a finite number ≥ 0 (finite in f32)');
    }
    return Math.fround(v);
  };
  return { lr: check('lr', p.lr), momentum: check('momentum', p.momentum), weightDecay: check('weightDecay', p.weightDecay) };
}

const count = (inputs: readonly TensorInfo[]) => sizeOf(inputs[0].shape);

export const sgdUpdate: KernelSpec<SgdUpdateParams> = {
  name: 'sgd_update',
  summary: 'torch.optim.SGD step (momentum, coupled weight decay), param and momentum buffer in place',
  fields: [
    { name: 'lr', type: 'f32', value: (p) => resolve(p).lr },
    { name: 'momentum', type: 'f32', value: (p) => resolve(p).momentum },
    { name: 'weight_decay', type: 'f32', value: (p) => resolve(p).weightDecay },
    { name: 'n', type: 'u32', value: (_p, inputs) => count(inputs) },
    { name: 'groups', type: 'u32', value: (_p, inputs) => Math.ceil(count(inputs) / WG) },
  ],
  validate(p, inputs: readonly TensorInfo[]): TensorInfo[] {
    resolve(p);
    if (inputs.length !== 1) throw invalidArgument('sgd_update inputs', `${inputs.length} tensors`, 'one f32 tensor: grad');
    const grad = inputs[0];
    const n = sizeOf(grad.shape);
    if (grad.dtype !== 'f32') throw invalidArgument('sgd_update grad', `a ${grad.dtype} tensor`, 'an f32 tensor');
    if (p.n !== undefined) integerIn('sgd_update n', p.n, n, n);
    if (n > MAX_ELEMENTS) throw invalidArgument('sgd_update grad', `${n} elements`, `at most ${MAX_ELEMENTS}`);
    const shape = { dtype: 'f32' as const, shape: [...grad.shape] };
    return [shape, shape];
  },
  reference(p, [grad], [param, buffer]) {
    const { lr, momentum, weightDecay } = resolve(p);
    sgdUpdateCore(lr, momentum, weightDecay, grad, param, buffer, fmaf);
  },
  webgpu: {
    shaders: ['sgd_update.wgsl'],
    overrides: () => ({ WG }),
    workgroups: (_p, inputs) => Math.ceil(count(inputs) / WG),
  },
  // Memory-bound (16 bytes per element): 2^20 elements is past the ~0.5 ms where a thread hop pays.
  nativeAsync: (p) => (p.n ?? 0) >= 2 ** 20,
  // Reads grad, param and buffer, writes param and buffer (0 when n is not given).
  work: (p) => 20 * (p.n ?? 0),
  workUnit: 'bytes',
};

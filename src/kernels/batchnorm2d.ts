/**
 * batchnorm2d_forward / batchnorm2d_backward: 2-D batch normalisation over [N, C, H, W] (NCHW, f32) with
 * PyTorch's semantics (torch.nn.BatchNorm2d, momentum 0.1 and eps 1e-5 by default).
 * - Training: per channel the batch mean μ and biased variance σ² over (N, H, W); y = γ·(x − μ)·invstd + β with
 *   invstd = 1/√(σ² + eps); the running statistics move towards (μ, σ²·n/(n − 1)) (the unbiased variance,
 *   n = N·H·W), as PyTorch does. n < 2 is refused, as PyTorch refuses it ("Expected more than 1 value per
 *   channel when training").
 * - Eval: y from the running statistics; saveMean = runningMean, saveInvStd = 1/√(runningVar + eps); the
 *   running statistics are left as they are.
 * runningMean and runningVar are outputs that are READ AND UPDATED IN PLACE (like matmul's `accumulate`): pass
 * the tensors that hold them; a fresh output would start from whatever the allocator gave.
 * - webgpu: shaders/batchnorm2d_forward.wgsl, batchnorm2d_backward.wgsl (+ batchnorm2d_channel.wgsl, shared): one workgroup per channel (reductions in
 *   a fixed order, then the elementwise pass in the same workgroup).
 * - native: native/batchnorm2d.cc: AVX2 f32 block sums combined in f64, channels × batch ranges over the pool.
 * - js: the cores below in f64, rounded once on store.
 */
import { invalidArgument } from '../errors.js';
import { integerIn, plainObject } from '../validate.js';
import { MAX_ELEMENTS } from './tensor.js';
import { sizeOf, type KernelSpec, type TensorInfo } from './types.js';

export interface BatchNorm2dParams {
  /** N. */
  readonly batch: number;
  /** C: the normalised channels (γ, β and the statistics have C entries). */
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** Batch statistics (and running-statistics update) when true; the running statistics when false. */
  readonly training: boolean;
  /** Weight of the new batch statistic in the running average, in [0, 1] (default 0.1, as PyTorch). */
  readonly momentum?: number;
  /** Added to the variance before the square root, > 0 (default 1e-5). */
  readonly eps?: number;
}

/** Workgroup size of the batchnorm shaders (one workgroup per channel). */
export const BATCHNORM_WG = 256;

interface Resolved {
  batch: number; channels: number; hw: number;
  /** Elements per channel, N·H·W. */
  count: number;
  training: boolean; momentum: number; eps: number;
}

function resolve(name: string, p: BatchNorm2dParams): Resolved {
  plainObject(`${name} params`, p);
  const batch = integerIn(`${name} batch`, p.batch, 0, MAX_ELEMENTS);
  const channels = integerIn(`${name} channels`, p.channels, 0, MAX_ELEMENTS);
  const height = integerIn(`${name} height`, p.height, 0, MAX_ELEMENTS);
  const width = integerIn(`${name} width`, p.width, 0, MAX_ELEMENTS);
  if (typeof p.training !== 'boolean') throw invalidArgument(`${name} training`, p.training, 'true or false');
  const momentum = p.momentum ?? 0.1;
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) throw invalidArgument(`${name} momentum`, momentum, 'a number in [0, 1]');
  const eps = p.eps ?? 1e-5;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || !(Math.fround(eps) > 0)) throw invalidArgument(`${name} eps`, eps, 'a finite number > 0 (and > 0 in f32)');
  const total = batch * channels * height * width;
  if (total > MAX_ELEMENTS) throw invalidArgument(`${name} batch × channels × height × width`, total, `at most ${MAX_ELEMENTS} elements`);
  const hw = height * width, count = batch * hw;
  if (p.training && count < 2) {
    throw invalidArgument(`${name} batch × height × width`, count, 'at least 2 values per channel when training (as PyTorch: "Expected more than 1 value per channel when training")');
  }
  return { batch, channels, hw, count, training: p.training, momentum, eps };
}

function checkInputs(name: string, inputs: readonly TensorInfo[], expected: readonly [string, number][]): void {
  if (inputs.length !== expected.length) {
    throw invalidArgument(`${name} inputs`, `${inputs.length} tensors`, `${expected.length} f32 tensors: ${expected.map(([what]) => what).join(', ')}`);
  }
  inputs.forEach((t, i) => {
    const [what, size] = expected[i];
    const got = sizeOf(t.shape);
    if (t.dtype !== 'f32' || got !== size) throw invalidArgument(`${name} ${what}`, `${t.dtype}[${got}]`, `an f32 tensor of ${size} elements`);
  });
}

/** The element of channel c, position j ∈ [0, N·H·W) in (n, h, w) order, of an NCHW tensor. */
const at = (r: { channels: number; hw: number }, c: number, j: number) => (Math.floor(j / r.hw) * r.channels + c) * r.hw + (j % r.hw);

export interface BatchNormShape { batch: number; channels: number; height: number; width: number }
type Out = { [i: number]: number };

/**
 * The forward reference in whatever precision its arrays hold (f64 arrays for gradient checks): per channel,
 * two-pass f64 statistics, then y, the saved statistics and the running update.
 * @example
 * const y = new Float64Array(4), mean = [0], invstd = [0], runMean = [0], runVar = [1];
 * batchnormForwardCore({ batch: 2, channels: 1, height: 1, width: 2 }, true, 0.1, 1e-5, [1, 2, 3, 4], [1], [0], y, mean, invstd, runMean, runVar);
 * // mean[0] = 2.5, runMean[0] = 0.25, runVar[0] = 0.9 + 0.1 · 5/3
 */
export function batchnormForwardCore(s: BatchNormShape, training: boolean, momentum: number, eps: number,
  x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>,
  y: Out, saveMean: Out, saveInvStd: Out, runningMean: Out, runningVar: Out): void {
  const r = { channels: s.channels, hw: s.height * s.width };
  const n = s.batch * r.hw;
  for (let c = 0; c < s.channels; c++) {
    let mean: number, invstd: number;
    if (training) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += x[at(r, c, j)];
      mean = sum / n;
      let sq = 0;
      for (let j = 0; j < n; j++) sq += (x[at(r, c, j)] - mean) ** 2;
      const variance = sq / n;
      invstd = 1 / Math.sqrt(variance + eps);
      runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean;
      runningVar[c] = (1 - momentum) * runningVar[c] + momentum * variance * (n / (n - 1));
    } else {
      mean = runningMean[c];
      invstd = 1 / Math.sqrt(runningVar[c] + eps);
    }
    saveMean[c] = mean;
    saveInvStd[c] = invstd;
    for (let j = 0; j < n; j++) {
      const i = at(r, c, j);
      y[i] = gamma[c] * (x[i] - mean) * invstd + beta[c];
    }
  }
}

/**
 * The backward reference: gradX, gradGamma, gradBeta from gradY, x, γ and the saved statistics. Training
 * differentiates through the batch statistics: gradX = γ·invstd·(gY − ΣgY/n − x̂·Σ(gY·x̂)/n), x̂ = (x − μ)·invstd.
 * @example
 * const gx = new Float64Array(4), gGamma = [0], gBeta = [0];
 * batchnormBackwardCore({ batch: 4, channels: 1, height: 1, width: 1 }, true, [1, 1, 1, 1], [1, 2, 3, 4], [3], [2.5], [0.5], gx, gGamma, gBeta);
 * // a constant gradY passes nothing through the batch statistics: gx = 0, gBeta[0] = 4
 */
export function batchnormBackwardCore(s: BatchNormShape, training: boolean,
  gradY: ArrayLike<number>, x: ArrayLike<number>, gamma: ArrayLike<number>, saveMean: ArrayLike<number>, saveInvStd: ArrayLike<number>,
  gradX: Out, gradGamma: Out, gradBeta: Out): void {
  const r = { channels: s.channels, hw: s.height * s.width };
  const n = s.batch * r.hw;
  for (let c = 0; c < s.channels; c++) {
    const mean = saveMean[c], invstd = saveInvStd[c];
    let sumDy = 0, dot = 0;
    for (let j = 0; j < n; j++) {
      const i = at(r, c, j);
      sumDy += gradY[i];
      dot += gradY[i] * (x[i] - mean);
    }
    gradBeta[c] = sumDy;
    gradGamma[c] = dot * invstd;
    for (let j = 0; j < n; j++) {
      const i = at(r, c, j);
      gradX[i] = training
        ? gamma[c] * invstd * (gradY[i] - sumDy / n - (x[i] - mean) * invstd * invstd * dot / n)
        : gamma[c] * invstd * gradY[i];
    }
  }
}

const shapeOf = (p: BatchNorm2dParams): BatchNormShape => ({ batch: p.batch, channels: p.channels, height: p.height, width: p.width });

/** The uniform fields both shaders share (their `Params` structs are identical). */
const fields = (name: string): KernelSpec<BatchNorm2dParams>['fields'] => [
  { name: 'channels', type: 'u32', value: (p) => resolve(name, p).channels },
  { name: 'hw', type: 'u32', value: (p) => resolve(name, p).hw },
  { name: 'count', type: 'u32', value: (p) => resolve(name, p).count },
  { name: 'training', type: 'u32', value: (p) => (p.training ? 1 : 0) },
  { name: 'momentum', type: 'f32', value: (p) => resolve(name, p).momentum },
  { name: 'eps', type: 'f32', value: (p) => resolve(name, p).eps },
  // n/(n − 1) rounded once on the host: the unbiased running variance is var · unbias on every backend.
  { name: 'unbias', type: 'f32', value: (p) => { const n = resolve(name, p).count; return n > 1 ? n / (n - 1) : 0; } },
  // Reduction depth per thread: the webgpu threads add `block` strided elements before folding them into
  // their running sum (two levels, √ of the per-thread count each), which keeps f32 sums accurate to ~2√(n/WG)·u.
  { name: 'block', type: 'u32', value: (p) => Math.max(1, Math.ceil(Math.sqrt(resolve(name, p).count / BATCHNORM_WG))) },
];

// Per-channel work of a few passes over N·H·W: long enough for the pool past ~2^18 elements (~0.3 ms).
const LONG = 2 ** 18;

export const batchnorm2dForward: KernelSpec<BatchNorm2dParams> = {
  name: 'batchnorm2d_forward',
  summary: 'BatchNorm2d forward (training: batch statistics + running update in place; eval: running statistics)',
  fields: fields('batchnorm2d_forward'),
  validate(p, inputs) {
    const { batch, channels, count } = resolve('batchnorm2d_forward', p);
    checkInputs('batchnorm2d_forward', inputs, [['x', channels * count], ['gamma', channels], ['beta', channels]]);
    const stat = { dtype: 'f32' as const, shape: [channels] };
    return [{ dtype: 'f32', shape: [batch, channels, p.height, p.width] }, stat, stat, stat, stat];
  },
  reference(p, [x, gamma, beta], [y, saveMean, saveInvStd, runningMean, runningVar]) {
    const r = resolve('batchnorm2d_forward', p);
    // The f32 parameter values every backend sees.
    batchnormForwardCore(shapeOf(p), r.training, Math.fround(r.momentum), Math.fround(r.eps), x, gamma, beta, y, saveMean, saveInvStd, runningMean, runningVar);
  },
  webgpu: {
    shaders: ['batchnorm2d_channel.wgsl', 'batchnorm2d_forward.wgsl'],
    overrides: () => ({ WG: BATCHNORM_WG }),
    workgroups: (p) => resolve('batchnorm2d_forward', p).channels,
  },
  nativeAsync: (p) => p.batch * p.channels * p.height * p.width >= LONG,
  // Training reads x three times (mean, variance, y) and writes y; eval reads it once.
  work: (p) => p.batch * p.channels * p.height * p.width * (p.training ? 4 : 2) * 4,
  workUnit: 'bytes',
};

export const batchnorm2dBackward: KernelSpec<BatchNorm2dParams> = {
  name: 'batchnorm2d_backward',
  summary: 'BatchNorm2d backward: gradX, gradGamma, gradBeta from gradY, x, γ and the saved statistics',
  fields: fields('batchnorm2d_backward'),
  validate(p, inputs) {
    const { batch, channels, count } = resolve('batchnorm2d_backward', p);
    checkInputs('batchnorm2d_backward', inputs, [['gradY', channels * count], ['x', channels * count], ['gamma', channels], ['saveMean', channels], ['saveInvStd', channels]]);
    const stat = { dtype: 'f32' as const, shape: [channels] };
    return [{ dtype: 'f32', shape: [batch, channels, p.height, p.width] }, stat, stat];
  },
  reference(p, [gradY, x, gamma, saveMean, saveInvStd], [gradX, gradGamma, gradBeta]) {
    const r = resolve('batchnorm2d_backward', p);
    batchnormBackwardCore(shapeOf(p), r.training, gradY, x, gamma, saveMean, saveInvStd, gradX, gradGamma, gradBeta);
  },
  webgpu: {
    shaders: ['batchnorm2d_channel.wgsl', 'batchnorm2d_backward.wgsl'],
    overrides: () => ({ WG: BATCHNORM_WG }),
    workgroups: (p) => resolve('batchnorm2d_backward', p).channels,
  },
  nativeAsync: (p) => p.batch * p.channels * p.height * p.width >= LONG,
  // Reads gradY and x twice, writes gradX.
  work: (p) => p.batch * p.channels * p.height * p.width * 5 * 4,
  workUnit: 'bytes',
};

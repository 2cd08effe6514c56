/**
 * mse_loss: the mean squared error of a prediction against a target of the same element count n (PyTorch's
 * MSELoss, reduction 'mean') and its gradient. Outputs: grad (the prediction's shape) = 2(p − t)/n, and stats
 * f32 [2] = [Σ(p − t)²/n, 0] (the same layout as softmax_cross_entropy's stats; there is nothing to count).
 * n = 0 gives stats [0, 0] (PyTorch would give NaN; an empty batch is a no-op here, as in the cross-entropy).
 * - webgpu: shaders/mse_loss.wgsl, one workgroup striding over n, a fixed tree for the sum.
 * - native: native/mse_loss.cc, fixed chunks over the pool, f64 partial sums added in chunk order.
 * - js: the core below.
 */
import { invalidArgument } from '../errors.js';
import { plainObject } from '../validate.js';
import { sizeOf, type KernelSpec, type TensorInfo } from './types.js';

/** No parameters are needed: the element count comes from the inputs. */
export interface MseLossParams {
  /** Optional: the element count, checked against the inputs when given (benchmarks count work from it). */
  readonly n?: number;
}

/** Workgroup size of shaders/mse_loss.wgsl (its one workgroup). */
export const MSE_WG = 256;

type Out = { [i: number]: number };

/**
 * The reference in the precision of its arrays (f64 for gradient checks).
 * @example
 * const grad = new Float64Array(3), stats = [0, 0];
 * mseLossCore([1, 2, 3], [1, 1, 1], grad, stats); // stats = [5/3, 0], grad = [0, 2/3, 4/3]
 */
export function mseLossCore(prediction: ArrayLike<number>, target: ArrayLike<number>, grad: Out, stats: Out): void {
  const n = prediction.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = prediction[i] - target[i];
    sum += d * d;
    grad[i] = (2 * d) / n;
  }
  stats[0] = n === 0 ? 0 : sum / n;
  stats[1] = 0;
}

const count = (inputs: readonly TensorInfo[]) => sizeOf(inputs[0].shape);

export const mseLoss: KernelSpec<MseLossParams> = {
  name: 'mse_loss',
  summary: 'mean squared error: gradient 2(p − t)/n and [loss, 0]',
  fields: [
    { name: 'n', type: 'u32', value: (_p, inputs) => count(inputs) },
    // Elements a webgpu thread adds before folding them into its running sum: √ of its share, two levels.
    { name: 'block', type: 'u32', value: (_p, inputs) => Math.max(1, Math.ceil(Math.sqrt(count(inputs) / MSE_WG))) },
  ],
  validate(p, inputs: readonly TensorInfo[]): TensorInfo[] {
    plainObject('mse_loss params', p);
    const extra = Object.keys(p).filter((k) => k !== 'n');
    if (extra.length > 0) throw invalidArgument('mse_loss params', extra, 'no keys but an optional n (the size comes from the inputs)');
    if (inputs.length !== 2) throw invalidArgument('mse_loss inputs', `${inputs.length} tensors`, 'two f32 tensors: prediction and target');
    const [prediction, target] = inputs;
    const n = sizeOf(prediction.shape);
    if (p.n !== undefined && p.n !== n) throw invalidArgument('mse_loss n', p.n, `the prediction's element count ${n} (or absent)`);
    if (prediction.dtype !== 'f32') throw invalidArgument('mse_loss prediction', `a ${prediction.dtype} tensor`, 'an f32 tensor');
    if (target.dtype !== 'f32' || sizeOf(target.shape) !== n) {
      throw invalidArgument('mse_loss target', `${target.dtype}[${sizeOf(target.shape)}]`, `an f32 tensor of the prediction's ${n} elements`);
    }
    return [{ dtype: 'f32', shape: [...prediction.shape] }, { dtype: 'f32', shape: [2] }];
  },
  reference(_p, [prediction, target], [grad, stats]) {
    mseLossCore(prediction, target, grad, stats);
  },
  webgpu: {
    shaders: ['mse_loss.wgsl'],
    overrides: () => ({ WG: MSE_WG }),
    workgroups: () => 1,
  },
  // Memory-bound at a few GB/s: 2^20 elements (12 MiB of traffic) is past the ~0.5 ms where a thread hop pays.
  nativeAsync: (p) => (p.n ?? 0) >= 2 ** 20,
  // Two reads and a write per element (0 when n is not given).
  work: (p) => 12 * (p.n ?? 0),
  workUnit: 'bytes',
};

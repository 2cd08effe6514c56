/**
 * softmax_cross_entropy: the mean softmax cross-entropy of a batch of logits [N, K] against integer labels
 * (torch.nn.CrossEntropyLoss) or soft targets (rows of probabilities, as Composer's soft cross-entropy), its
 * gradient, and the count of correct predictions. Outputs:
 * - gradLogits [N, K] = (softmax(z)·Σt − t)/N, the gradient of the MEAN loss (= (softmax − t)/N for rows that sum
 *   to 1, one-hot rows for labels); exactly PyTorch's gradient of −Σₖ tₖ·log_softmax(z)ₖ averaged over rows.
 * - stats f32 [2] = [mean loss over the batch, rows whose argmax(logits) equals the label (soft: the argmax of
 *   the target row); ties go to the lowest index]. A batch of 0 rows gives [0, 0].
 * The loss of a row is Σₖ tₖ·(lse − zₖ) (labels: lse − z_label), lse = m + log Σₖ exp(zₖ − m), m = max z (stable
 * log-sum-exp), computed as (m − zₖ) + log Σ so that the row of the maximum loses nothing to cancellation.
 *
 * Labels live on the device, so a kernel cannot throw for a bad one: a label ≥ classes makes that row's loss
 * and gradient NaN (so the mean loss is NaN) on every backend, and the row never counts as correct. The
 * trainer validates labels on the host.
 * - webgpu: shaders/softmax_cross_entropy.wgsl, one workgroup, one thread per row (rows strided), a fixed tree.
 * - native: native/softmax_cross_entropy.cc, f32 rows, f64 partial sums per fixed chunk of rows.
 * - js: the core below.
 */
import { invalidArgument } from '../errors.js';
import { integerIn, oneOf, plainObject } from '../validate.js';
import { MAX_ELEMENTS } from './tensor.js';
import { sizeOf, type KernelSpec, type TensorInfo } from './types.js';

export interface SoftmaxCrossEntropyParams {
  /** N: rows. */
  readonly batch: number;
  /** K: classes per row (≥ 1). */
  readonly classes: number;
  /** 'labels': a u32 class index per row; 'soft': an f32 row of K probabilities per row. */
  readonly targets: 'labels' | 'soft';
}

/** Workgroup size of shaders/softmax_cross_entropy.wgsl (its one workgroup). */
export const SOFTMAX_CE_WG = 256;
const TARGETS = ['labels', 'soft'] as const;

function resolve(p: SoftmaxCrossEntropyParams): { batch: number; classes: number; soft: boolean } {
  plainObject('softmax_cross_entropy params', p);
  const batch = integerIn('softmax_cross_entropy batch', p.batch, 0, MAX_ELEMENTS);
  const classes = integerIn('softmax_cross_entropy classes', p.classes, 1, MAX_ELEMENTS);
  oneOf('softmax_cross_entropy targets', p.targets, TARGETS);
  if (batch * classes > MAX_ELEMENTS) throw invalidArgument('softmax_cross_entropy batch × classes', batch * classes, `at most ${MAX_ELEMENTS} elements`);
  return { batch, classes, soft: p.targets === 'soft' };
}

type Out = { [i: number]: number };

/**
 * The reference in the precision of its arrays (f64 for gradient checks). `targets` holds labels (soft false)
 * or N·K target probabilities (soft true).
 * @example
 * const grad = new Float64Array(2), stats = [0, 0];
 * softmaxCrossEntropyCore(1, 2, false, [0, Math.log(3)], [1], grad, stats); // stats = [−ln(3/4), 1], grad = [1/4, −1/4]
 */
export function softmaxCrossEntropyCore(batch: number, classes: number, soft: boolean,
  logits: ArrayLike<number>, targets: ArrayLike<number>, grad: Out, stats: Out): void {
  let loss = 0, correct = 0;
  for (let i = 0; i < batch; i++) {
    const row = i * classes;
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[row + k] > logits[row + best]) best = k;
    const m = logits[row + best];
    let s = 0;
    for (let k = 0; k < classes; k++) s += Math.exp(logits[row + k] - m);
    const logS = Math.log(s);
    const bad = !soft && !(targets[i] < classes);
    const t = (k: number) => (soft ? targets[row + k] : k === targets[i] ? 1 : 0);
    let tsum = 0, target = 0;
    for (let k = 0; k < classes; k++) {
      tsum += t(k);
      if (t(k) > t(target)) target = k;
    }
    // Labels: the one term directly (a −∞ logit elsewhere must not give 0·∞); soft: every term, as PyTorch.
    let rowLoss = soft || bad ? 0 : m - logits[row + targets[i]] + logS;
    for (let k = 0; k < classes; k++) {
      if (soft) rowLoss += t(k) * (m - logits[row + k] + logS);
      grad[row + k] = bad ? NaN : (Math.exp(logits[row + k] - m) / s * tsum - t(k)) / batch;
    }
    loss += bad ? NaN : rowLoss;
    if (!bad && best === target) correct++;
  }
  stats[0] = batch === 0 ? 0 : loss / batch;
  stats[1] = correct;
}

export const softmaxCrossEntropy: KernelSpec<SoftmaxCrossEntropyParams> = {
  name: 'softmax_cross_entropy',
  summary: 'mean softmax cross-entropy (labels or soft targets): gradient of the mean loss, [loss, correct]',
  fields: [
    { name: 'batch', type: 'u32', value: (p) => resolve(p).batch },
    { name: 'classes', type: 'u32', value: (p) => resolve(p).classes },
    { name: 'soft', type: 'u32', value: (p) => (resolve(p).soft ? 1 : 0) },
  ],
  validate(p, inputs: readonly TensorInfo[]): TensorInfo[] {
    const { batch, classes, soft } = resolve(p);
    if (inputs.length !== 2) {
      throw invalidArgument('softmax_cross_entropy inputs', `${inputs.length} tensors`, `two tensors: logits and ${soft ? 'soft targets' : 'labels'}`);
    }
    const [logits, targets] = inputs;
    const got = (t: TensorInfo) => `${t.dtype}[${sizeOf(t.shape)}]`;
    if (logits.dtype !== 'f32' || sizeOf(logits.shape) !== batch * classes) {
      throw invalidArgument('softmax_cross_entropy logits', got(logits), `an f32 tensor of batch × classes = ${batch * classes} elements`);
    }
    if (soft && (targets.dtype !== 'f32' || sizeOf(targets.shape) !== batch * classes)) {
      throw invalidArgument('softmax_cross_entropy soft targets', got(targets), `an f32 tensor of batch × classes = ${batch * classes} elements (rows summing to 1)`);
    }
    if (!soft && (targets.dtype !== 'u32' || sizeOf(targets.shape) !== batch)) {
      throw invalidArgument('softmax_cross_entropy labels', got(targets), `a u32 tensor of batch = ${batch} class indices`);
    }
    return [{ dtype: 'f32', shape: [batch, classes] }, { dtype: 'f32', shape: [2] }];
  },
  reference(p, [logits, targets], [grad, stats]) {
    const { batch, classes, soft } = resolve(p);
    softmaxCrossEntropyCore(batch, classes, soft, logits, targets, grad, stats);
  },
  webgpu: {
    shaders: ['softmax_cross_entropy.wgsl'],
    overrides: () => ({ WG: SOFTMAX_CE_WG }),
    workgroups: () => 1,
  },
  nativeAsync: (p) => p.batch * p.classes >= 2 ** 18,
  // An exp per logit read twice, a gradient write: counted as bytes of logits and targets read and gradients written.
  work: (p) => p.batch * p.classes * (p.targets === 'soft' ? 3 : 2) * 4,
  workUnit: 'bytes',
};

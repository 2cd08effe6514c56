/**
 * SGD training on the engine: weights, gradients and momenta stay on the backend for the whole run; each step
 * uploads one minibatch, enqueues forward, loss, backward and the update, and reads nothing back. Loss and
 * accuracy are accumulated on the device and read every `evaluateEvery` steps, when the test set is
 * evaluated too. Everything random is addressed by (seed, step): a resumed run ends with the same weights.
 */
import type { Backend } from '../backends/types.js';
import { aborted, CollapseError, invalidArgument } from '../errors.js';
import { tensorKernels } from '../kernels/registry.js';
import type { Tensor } from '../kernels/types.js';
import { finiteNumber, integerIn, MAX_U32, oneOf, plainObject } from '../validate.js';
import { decodeWeights, encodeCheckpoint, encodeModel, type Weights } from './checkpoint.js';
import { Batches, evalBatches } from './data/batches.js';
import type { Dataset, Split } from './data/datasets.js';
import { Executor, type ModelState } from './executor.js';
import type { Model } from './graph.js';
import { initialParameters } from './init.js';
import { checkSchedule, learningRate, type Schedule } from './schedule.js';

export interface TrainOptions {
  readonly model: Model;
  readonly data: Dataset;
  /** Base learning rate. */
  readonly lr: number;
  readonly schedule?: Schedule;
  /** Minibatch size (default 128). */
  readonly batchSize?: number;
  /** Optimizer steps. */
  readonly steps: number;
  /** Heavy-ball momentum, no dampening (default 0; the paper uses 0.9). */
  readonly momentum?: number;
  /** Coupled L2 weight decay on every parameter (default 0; the paper uses 5e-4). */
  readonly weightDecay?: number;
  /** Probability that a drawn example's label is replaced by another class (PAPER.md §5.3; default 0). */
  readonly labelNoise?: number;
  /** Random crop (4-pixel padding) and horizontal flip of training images (default 'none'). */
  readonly augment?: 'none' | 'crop-flip';
  /** Seeds the initial weights and the data order (default 0). */
  readonly seed?: number;
  /** Read the training loss and evaluate the test set every this many steps, and at the end (default steps/10). */
  readonly evaluateEvery?: number;
  /** Test-set batch size (default 1000). */
  readonly evalBatchSize?: number;
  /** Emit a checkpoint every this many steps through `onCheckpoint` (default 0: none). */
  readonly checkpointEvery?: number;
  /** Called after every step; `metrics` is set on evaluation steps. */
  readonly onStep?: (progress: StepProgress) => void;
  /** Receives each checkpoint (safetensors bytes); awaited before training continues. */
  readonly onCheckpoint?: (checkpoint: { step: number; bytes: Uint8Array }) => void | Promise<void>;
  /** A checkpoint's bytes to continue from (the settings must match). */
  readonly resume?: Uint8Array;
  /**
   * Weights to start from instead of the seeded initialisation (model.safetensors or a checkpoint of the same model):
   * a new run from step 0 with a fresh optimizer (zero momenta), as fine-tuning after a learning-rate drop
   * (PAPER.md §3 Fig. 6). Not with `resume`.
   */
  readonly initialWeights?: Uint8Array;
  /** Stops at the next step; a checkpoint of that step goes to `onCheckpoint` first when one is set. */
  readonly signal?: AbortSignal;
}

export interface MetricsRow {
  readonly step: number;
  readonly lr: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly testLoss: number;
  readonly testAccuracy: number;
}

export interface StepProgress {
  readonly step: number;
  readonly steps: number;
  readonly lr: number;
  /** Training steps per second so far in this call (evaluation excluded). */
  readonly stepsPerSecond: number;
  readonly metrics?: MetricsRow;
}

export interface TrainResult {
  readonly steps: number;
  readonly history: readonly MetricsRow[];
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly testLoss: number;
  readonly testAccuracy: number;
  /** Training steps per second over this call's loop, evaluation and checkpoints excluded. */
  readonly stepsPerSecond: number;
  readonly seconds: number;
  /** The final weights as `model.safetensors` bytes. */
  readonly model: Uint8Array;
  readonly weights: Weights;
  readonly backend: string;
  readonly seed: number;
  /** Step the run resumed from (0 for a fresh run). */
  readonly resumedFrom: number;
}

/** The settings a checkpoint records and a resume must repeat. */
interface Settings {
  model: unknown; data: string; lr: number; schedule: Required<Schedule>; batchSize: number; momentum: number; weightDecay: number;
  labelNoise: number; augment: 'none' | 'crop-flip'; seed: number;
}

function check(o: TrainOptions) {
  plainObject('train options', o);
  if (!o.model || !Array.isArray(o.model.nodes)) throw invalidArgument('model', o.model, 'a model from buildModel() or ModelBuilder.build()');
  if (!o.data || !o.data.train) throw invalidArgument('data', o.data, 'a dataset from loadDataset()');
  const lr = finiteNumber('lr', o.lr);
  if (lr < 0) throw invalidArgument('lr', lr, 'a non-negative number');
  const steps = integerIn('steps', o.steps, 1, MAX_U32);
  const batchSize = integerIn('batchSize', o.batchSize ?? 128, 1, 1 << 16);
  const momentum = finiteNumber('momentum', o.momentum ?? 0);
  if (momentum < 0 || momentum >= 1) throw invalidArgument('momentum', momentum, 'a number in [0, 1)');
  const weightDecay = finiteNumber('weightDecay', o.weightDecay ?? 0);
  if (weightDecay < 0) throw invalidArgument('weightDecay', weightDecay, 'a non-negative number');
  const labelNoise = finiteNumber('labelNoise', o.labelNoise ?? 0);
  if (labelNoise < 0 || labelNoise >= 1) throw invalidArgument('labelNoise', labelNoise, 'a probability in [0, 1)');
  const augment = oneOf('augment', o.augment ?? 'none', ['none', 'crop-flip'] as const) as 'none' | 'crop-flip';
  const seed = integerIn('seed', o.seed ?? 0, 0, MAX_U32);
  const evaluateEvery = integerIn('evaluateEvery', o.evaluateEvery ?? Math.max(1, Math.floor(steps / 10)), 1, MAX_U32);
  const evalBatchSize = integerIn('evalBatchSize', o.evalBatchSize ?? 1000, 1, 1 << 16);
  const checkpointEvery = integerIn('checkpointEvery', o.checkpointEvery ?? 0, 0, MAX_U32);
  const schedule = checkSchedule(o.schedule);
  const { model, data } = o;
  const [c, h, w] = model.inputShape;
  const dims: [string, number, number][] = [['channels', data.channels, c], ['height', data.height, h], ['width', data.width, w], ['classes', data.classes, model.classes]];
  for (const [name, got, want] of dims) {
    if (got !== want) throw invalidArgument(`data ${name}`, got, `${want}, as the model '${model.spec.name}' expects (build the model for ${data.name}'s ${data.channels}×${data.height}×${data.width} images and ${data.classes} classes)`);
  }
  if (data.train.count < batchSize) throw invalidArgument('batchSize', batchSize, `at most the ${data.train.count} training examples`);
  const settings: Settings = { model: model.spec, data: data.name, lr, schedule, batchSize, momentum, weightDecay, labelNoise, augment, seed };
  return { ...settings, steps, evaluateEvery, evalBatchSize, checkpointEvery, settings };
}

/**
 * Trains `model` on `data` with SGD on `backend`. Use `engine.train`, which supplies the backend.
 */
export async function train(backend: Backend, options: TrainOptions): Promise<TrainResult> {
  const o = check(options);
  const { model, data } = options;
  const started = performance.now();

  // State on the device: parameters, gradients, momenta, buffers.
  let start = 0;
  let position = { epoch: 0, index: 0 };
  let history: MetricsRow[] = [];
  let pending = { lossSum: 0, correct: 0, steps: 0 };
  let initial: { params: Map<string, Float32Array>; buffers: Map<string, Float32Array>; momenta?: Map<string, Float32Array>; tracked: number };
  if (options.resume !== undefined && options.initialWeights !== undefined) {
    throw invalidArgument('initialWeights', 'given with resume', 'absent when resuming (a checkpoint holds its own weights)');
  }
  if (options.resume !== undefined) {
    if (!(options.resume instanceof Uint8Array)) throw invalidArgument('resume', options.resume, 'the bytes of a checkpoint file (Uint8Array)');
    const r = decodeWeights(options.resume, 'the resume checkpoint', model);
    const meta = r.metadata;
    if (meta.format !== 'stochastic-collapse/checkpoint') throw invalidArgument('resume', 'a model file', 'a checkpoint (checkpoints/step-N.safetensors), which also holds momenta and the data position');
    const saved = JSON.parse(meta.settings ?? '{}') as Settings;
    for (const key of Object.keys(o.settings) as (keyof Settings)[]) {
      if (JSON.stringify(saved[key]) !== JSON.stringify(o.settings[key])) {
        throw new CollapseError('INVALID_ARGUMENT', `the checkpoint was trained with ${key} = ${JSON.stringify(saved[key])}, not ${JSON.stringify(o.settings[key])}: resume with the same settings`, { key });
      }
    }
    start = Number(meta.step);
    if (start > o.steps) throw invalidArgument('steps', o.steps, `at least the checkpoint's step ${start}`);
    position = JSON.parse(meta.position ?? '{}') as typeof position;
    history = (JSON.parse(meta.history ?? '[]') as MetricsRow[]).filter((row) => row.step <= start);
    if (meta.pending !== undefined) pending = JSON.parse(meta.pending) as typeof pending; // (older checkpoints: the sums restart)
    initial = { params: r.weights.params, buffers: r.weights.buffers, momenta: r.momenta, tracked: r.weights.batchesTracked };
  } else if (options.initialWeights !== undefined) {
    if (!(options.initialWeights instanceof Uint8Array)) throw invalidArgument('initialWeights', options.initialWeights, 'the bytes of a model or checkpoint file (Uint8Array)');
    const r = decodeWeights(options.initialWeights, 'the initial weights', model);
    initial = { params: r.weights.params, buffers: r.weights.buffers, tracked: r.weights.batchesTracked };
  } else {
    initial = { params: initialParameters(model, o.seed), buffers: new Map(model.buffers.map((b) => [b.name, new Float32Array(size(b.shape)).fill(b.value)])), tracked: 0 };
  }

  const { state, owned, tensor } = upload(backend, model, initial);
  let tracked = initial.tracked;
  const executors: Executor[] = [];
  try {
    const trainer = new Executor(backend, model, state, o.batchSize, true);
    executors.push(trainer);
    const evaluator = evaluators(backend, model, state, executors);
    // The training loss and accuracy summed on the device between reads (two tensors, added alternately).
    const acc = [tensor([2]), tensor([2])];
    const addStats = [0, 1].map((k) => () => backend.run(tensorKernels.add, {}, [acc[k], trainer.stats], [acc[1 - k]]));
    backend.write(acc[0], Float32Array.of(pending.lossSum, pending.correct));
    let parity = 0, since = pending.steps;
    const sgd = tensorKernels.sgd_update;
    const updates = model.params.map((p) => ({ grad: state.grads.get(p.name) as Tensor, param: state.params.get(p.name) as Tensor, buf: state.momenta.get(p.name) as Tensor }));

    const batches = new Batches(data.train, data, { batchSize: o.batchSize, seed: o.seed, labelNoise: o.labelNoise, augment: o.augment });
    batches.seek(position);
    const images = new Float32Array(trainer.input.size);
    const labels = new Uint32Array(o.batchSize);

    const readTraining = async () => {
      const [lossSum, correct] = await backend.read(acc[parity]);
      backend.write(acc[parity], new Float32Array(2));
      const n = since;
      since = 0;
      return { trainLoss: lossSum / n, trainAccuracy: correct / (n * o.batchSize) };
    };
    const weights = async (): Promise<Weights> => ({
      params: await readAll(backend, state.params), buffers: await readAll(backend, state.buffers), batchesTracked: tracked,
    });
    const checkpoint = async (step: number) => {
      if (!options.onCheckpoint) return;
      const [lossSum, correct] = await backend.read(acc[parity]);
      const bytes = encodeCheckpoint(model, await weights(), {
        step, position: batches.position, momenta: await readAll(backend, state.momenta), settings: o.settings, history,
        pending: { lossSum, correct, steps: since },
      });
      await options.onCheckpoint({ step, bytes });
    };

    let loopSeconds = 0, loopSteps = 0, yielded = performance.now();
    let last: MetricsRow | undefined = history.at(-1);
    for (let step = start; step < o.steps; step++) {
      if (options.signal?.aborted) {
        await checkpoint(step);
        throw aborted(`training (at step ${step} of ${o.steps}${options.onCheckpoint ? '; a checkpoint of this step was written' : ''})`, options.signal.reason);
      }
      const t0 = performance.now();
      const lr = learningRate(o.lr, o.schedule, step);
      batches.next(images, labels);
      backend.write(trainer.input, images);
      backend.write(trainer.labels, labels);
      trainer.run();
      addStats[parity]();
      parity = 1 - parity;
      since++;
      for (const u of updates) backend.run(sgd, { lr, momentum: o.momentum, weightDecay: o.weightDecay }, [u.grad], [u.param, u.buf]);
      tracked++;
      // Bound the queue: every step on the CPU backends; on a GPU up to STEPS_IN_FLIGHT steps are queued, so the
      // device is not left idle while the host shuffles the next batch (writes copy their data, so reuse is safe).
      if (backend.info.name !== 'webgpu' || (step + 1) % STEPS_IN_FLIGHT === 0 || step + 1 === o.steps) await backend.flush();
      loopSeconds += (performance.now() - t0) / 1000;
      loopSteps++;
      const done = step + 1;
      let metrics: MetricsRow | undefined;
      if (done % o.evaluateEvery === 0 || done === o.steps) {
        const train = await readTraining();
        if (!Number.isFinite(train.trainLoss)) {
          const good = history.at(-1)?.step ?? start;
          throw new CollapseError('DIVERGED', `the training loss became ${train.trainLoss} between steps ${good} and ${done} (lr ${lr}); the weights are no longer usable. The last checkpoint written before this point is the last good one; lower the learning rate`, { step: done, lastGoodStep: good });
        }
        const test = await evaluateSplit(backend, evaluator, data.test, o.evalBatchSize);
        metrics = { step: done, lr, ...train, testLoss: test.loss, testAccuracy: test.accuracy };
        history.push(metrics);
        last = metrics;
      }
      if (o.checkpointEvery > 0 && done % o.checkpointEvery === 0 && done < o.steps) {
        if (!metrics) {
          // Never checkpoint a diverged network: check the loss accumulated since the last read first.
          const [lossSum] = await backend.read(acc[parity]);
          if (!Number.isFinite(lossSum)) throw new CollapseError('DIVERGED', `the training loss became ${lossSum} before step ${done} (lr ${lr}); no checkpoint was written for it. Lower the learning rate`, { step: done });
        }
        await checkpoint(done);
      }
      // Let timers and signal handlers (Ctrl-C) run: awaiting a settled flush never leaves the microtask queue.
      if (performance.now() - yielded > 20) { await new Promise((resolve) => setImmediate(resolve)); yielded = performance.now(); }
      options.onStep?.({ step: done, steps: o.steps, lr, stepsPerSecond: loopSteps / Math.max(loopSeconds, 1e-9), ...(metrics ? { metrics } : {}) });
    }
    const final = await weights();
    const row = last as MetricsRow;
    return {
      steps: o.steps, history, trainLoss: row.trainLoss, trainAccuracy: row.trainAccuracy, testLoss: row.testLoss, testAccuracy: row.testAccuracy,
      stepsPerSecond: loopSteps / Math.max(loopSeconds, 1e-9), seconds: (performance.now() - started) / 1000,
      model: encodeModel(model, final, o.steps), weights: final, backend: backend.info.name, seed: o.seed, resumedFrom: start,
    };
  } finally {
    for (const e of executors) e.release();
    for (const t of owned) backend.release(t);
  }
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Training steps a GPU backend may have queued before the host waits for it. */
const STEPS_IN_FLIGHT = 4;

/** Parameters (with zero gradients and momenta unless given) and buffers uploaded to the backend. */
function upload(backend: Backend, model: Model, initial: { params: Map<string, Float32Array>; buffers: Map<string, Float32Array>; momenta?: Map<string, Float32Array> }) {
  const owned: Tensor[] = [];
  const tensor = (shape: readonly number[], values?: Float32Array): Tensor => {
    const t = backend.alloc('f32', [...shape]);
    owned.push(t);
    backend.write(t, values ?? new Float32Array(size(shape)));
    return t;
  };
  const state: ModelState = {
    params: new Map(model.params.map((p) => [p.name, tensor(p.shape, initial.params.get(p.name))])),
    grads: new Map(model.params.map((p) => [p.name, tensor(p.shape)])),
    momenta: new Map(model.params.map((p) => [p.name, tensor(p.shape, initial.momenta?.get(p.name))])),
    buffers: new Map(model.buffers.map((b) => [b.name, tensor(b.shape, initial.buffers.get(b.name))])),
  };
  return { state, owned, tensor };
}

/** Evaluation plans by batch size (the last test batch may be smaller), created on first use. */
function evaluators(backend: Backend, model: Model, state: ModelState, executors: Executor[]): (n: number) => Executor {
  const plans = new Map<number, Executor>();
  return (n) => {
    let e = plans.get(n);
    if (!e) { e = new Executor(backend, model, state, n, false); plans.set(n, e); executors.push(e); }
    return e;
  };
}

/** Mean loss and accuracy over a whole split (BatchNorm in eval mode). */
async function evaluateSplit(backend: Backend, evaluator: (n: number) => Executor, split: Split, batchSize: number): Promise<{ loss: number; accuracy: number }> {
  let lossSum = 0, correct = 0;
  for (const batch of evalBatches(split, batchSize)) {
    const e = evaluator(batch.count);
    // The last batch comes zero-filled to full size: only its first `count` rows are examples.
    backend.write(e.input, batch.images.subarray(0, e.input.size));
    backend.write(e.labels, batch.labels.subarray(0, batch.count));
    e.run();
    const [loss, right] = await backend.read(e.stats);
    lossSum += loss * batch.count;
    correct += right;
  }
  return { loss: lossSum / split.count, accuracy: correct / split.count };
}

export interface EvaluateOptions {
  /** A model file's bytes (model.safetensors or a checkpoint), or weights trained elsewhere in the same names. */
  readonly weights: Uint8Array;
  /** The model; rebuilt from the file's metadata when absent. */
  readonly model?: Model;
  readonly split: Split;
  /** Default 1000. */
  readonly batchSize?: number;
}

/**
 * Test loss (mean cross-entropy) and accuracy of saved weights on a split. Use `engine.evaluate`.
 */
export async function evaluate(backend: Backend, options: EvaluateOptions): Promise<{ loss: number; accuracy: number }> {
  plainObject('evaluate options', options);
  if (!(options.weights instanceof Uint8Array)) throw invalidArgument('weights', options.weights, 'the bytes of a safetensors file (Uint8Array)');
  const batchSize = integerIn('batchSize', options.batchSize ?? 1000, 1, 1 << 16);
  const { model, weights } = decodeWeights(options.weights, 'the weights', options.model);
  const [c, h, w] = model.inputShape;
  const per = c * h * w;
  if (!options.split || options.split.images.length !== options.split.count * per) {
    throw invalidArgument('split', options.split?.count, `a split of ${c}×${h}×${w} images (the model's input)`);
  }
  const { state, owned } = upload(backend, model, weights);
  const executors: Executor[] = [];
  try {
    return await evaluateSplit(backend, evaluators(backend, model, state, executors), options.split, batchSize);
  } finally {
    for (const e of executors) e.release();
    for (const t of owned) backend.release(t);
  }
}

async function readAll(backend: Backend, tensors: Map<string, Tensor>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of tensors) out.set(name, (await backend.read(t)) as Float32Array);
  return out;
}

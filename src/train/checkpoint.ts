/**
 * Weights and training state in safetensors, in PyTorch's names and layouts (conv [out, in, kh, kw], linear
 * [out, in], BatchNorm `running_mean` / `running_var` / `num_batches_tracked`), so that
 * `model.load_state_dict` takes them as they are. A checkpoint adds the optimizer's momentum buffers
 * (`optimizer.momentum_buffer.<name>`) and, in the metadata, the step, the data position, the settings and
 * the metrics so far: enough to continue to the same final weights as an uninterrupted run.
 */
import { CollapseError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../io/safetensors.js';
import type { Model, ModelSpec } from './graph.js';
import { buildModel } from './presets.js';

export const MODEL_FORMAT = 'stochastic-collapse/model';
export const CHECKPOINT_FORMAT = 'stochastic-collapse/checkpoint';
export const MOMENTUM_PREFIX = 'optimizer.momentum_buffer.';

/** Host copies of a model's weights and buffers (and, in a checkpoint, momenta), by PyTorch name. */
export interface Weights {
  readonly params: Map<string, Float32Array>;
  readonly buffers: Map<string, Float32Array>;
  /** BatchNorm's `num_batches_tracked` (training steps seen), one value for every BatchNorm layer. */
  readonly batchesTracked: number;
}

export interface CheckpointState<T> {
  readonly step: number;
  /** Where the next training batch starts. */
  readonly position: { readonly epoch: number; readonly index: number };
  readonly momenta: Map<string, Float32Array>;
  /** The run's settings (compared on resume). */
  readonly settings: T;
  /** Metrics rows so far. */
  readonly history: readonly object[];
  /**
   * The training loss and correct count summed (in f32, on the device) over the `steps` steps since the last metrics
   * row: a resumed run continues the sums, so its next row equals an uninterrupted run's.
   */
  readonly pending?: { readonly lossSum: number; readonly correct: number; readonly steps: number };
}

const f32 = (shape: readonly number[], data: Float32Array): NamedTensor => ({ dtype: 'F32', shape: [...shape], data });

function weightTensors(model: Model, w: Weights): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const p of model.params) out[p.name] = f32(p.shape, w.params.get(p.name) as Float32Array);
  for (const b of model.buffers) out[b.name] = f32(b.shape, w.buffers.get(b.name) as Float32Array);
  for (const name of batchNormNames(model)) out[`${name}.num_batches_tracked`] = { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(w.batchesTracked)) };
  return out;
}

function batchNormNames(model: Model): string[] {
  return model.nodes.flatMap((n) => (n.op === 'batchnorm2d' ? [n.name] : []));
}

/** model.safetensors: the weights and buffers, and the model's spec in the metadata. */
export function encodeModel(model: Model, w: Weights, step: number): Uint8Array {
  return encodeSafetensors(weightTensors(model, w), { format: MODEL_FORMAT, model: JSON.stringify(model.spec), step: String(step) });
}

/** A checkpoint: the model file's tensors plus momenta, and the training state in the metadata. */
export function encodeCheckpoint<T>(model: Model, w: Weights, state: CheckpointState<T>): Uint8Array {
  const tensors = weightTensors(model, w);
  for (const p of model.params) tensors[MOMENTUM_PREFIX + p.name] = f32(p.shape, state.momenta.get(p.name) as Float32Array);
  return encodeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT, model: JSON.stringify(model.spec), step: String(state.step),
    position: JSON.stringify(state.position), settings: JSON.stringify(state.settings), history: JSON.stringify(state.history),
    ...(state.pending ? { pending: JSON.stringify(state.pending) } : {}),
  });
}

const bad = (what: string, why: string) => new CollapseError('INVALID_ARGUMENT', `${what} cannot be used: ${why}`, { file: what });

/**
 * Reads a model or checkpoint file written by `encodeModel` / `encodeCheckpoint` (or by PyTorch through the
 * same names, with `model` given): rebuilds the model from its spec and checks every tensor's name and shape.
 */
export function decodeWeights(bytes: Uint8Array, what: string, model?: Model): { model: Model; weights: Weights; metadata: Record<string, string>; momenta: Map<string, Float32Array> } {
  const { tensors, metadata } = decodeSafetensors(bytes, what);
  let m = model;
  if (!m) {
    if (metadata.model === undefined) throw bad(what, 'its metadata has no model spec (it was not written by stochastic-collapse); pass the model it belongs to');
    let spec: ModelSpec;
    try { spec = JSON.parse(metadata.model) as ModelSpec; } catch { throw bad(what, 'its metadata "model" is not JSON'); }
    m = buildModel(spec.name, spec);
  }
  const take = (name: string, shape: readonly number[]): Float32Array => {
    const t = tensors[name];
    if (!t) throw bad(what, `it has no tensor '${name}' (expected ${shape.join('×') || 'a scalar'} for model ${m.spec.name})`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw bad(what, `tensor '${name}' is ${t.shape.join('×')}, expected ${shape.join('×')}`);
    if (t.dtype === 'F32') return t.data as Float32Array;
    throw bad(what, `tensor '${name}' is ${t.dtype}, expected F32`);
  };
  const params = new Map(m.params.map((p) => [p.name, take(p.name, p.shape)]));
  const buffers = new Map(m.buffers.map((b) => [b.name, take(b.name, b.shape)]));
  let batchesTracked = 0;
  const bn = batchNormNames(m);
  if (bn.length > 0) {
    const t = tensors[`${bn[0]}.num_batches_tracked`];
    if (t) batchesTracked = Number((t.data as BigInt64Array)[0]);
  }
  const momenta = new Map<string, Float32Array>();
  if (metadata.format === CHECKPOINT_FORMAT) for (const p of m.params) momenta.set(p.name, take(MOMENTUM_PREFIX + p.name, p.shape));
  return { model: m, weights: { params, buffers, batchesTracked }, metadata, momenta };
}

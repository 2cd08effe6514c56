/**
 * Neuron vectors (PAPER.md §4.1). A neuron is an output channel of a convolution or an output unit of a linear
 * layer; its *incoming* vector is its filter or weight row followed by its bias, its *outgoing* vector the weights
 * of the next layer that read it, and its *concatenated* vector the two joined.
 *
 * Layers form one ordered chain of weight tensors; each layer's outgoing vectors come from the next one in the
 * chain. For the engine's own networks the chain is read from the model graph: the convolution and linear layers
 * in execution order, except residual shortcuts (a layer reading a value an earlier layer already reads, e.g.
 * ResNet's `downsample.0`), which is the paper's ordering for ResNet-18 (its block conv2 is read by the next
 * block's conv1, BatchNorm is ignored). For weights trained elsewhere a *layer map* names the chain's tensors.
 *
 * How the next layer reads channel c of a layer with K channels, from the next weight's shape:
 * - convolution [out, K, kh, kw]: W[:, c, :, :] (out·kh·kw entries);
 * - linear [out, K·S] after a flatten of K × (S positions), channel-major as torch.flatten: the S columns of
 *   channel c, W[:, c·S .. c·S + S − 1] (out·S entries; S = 1 after global pooling or for a linear layer).
 */
import { CollapseError } from '../errors.js';
import type { NamedTensor } from '../io/safetensors.js';
import type { Model } from '../train/graph.js';

/** One link of the chain: a weight tensor (PyTorch layout) and its optional bias, by tensor name. */
export interface LayerRef {
  /** Display name (e.g. conv3, fc14, layer2.0.conv1). */
  readonly name: string;
  /** Weight tensor: [out, in, kh, kw] (convolution) or [out, in] (linear). */
  readonly weight: string;
  /** Bias tensor [out], when the layer has one. */
  readonly bias?: string;
}

/** A layer's neurons as vectors, row-major, one row per neuron. */
export interface NeuronVectors {
  readonly name: string;
  readonly kind: 'conv2d' | 'linear';
  /** Number of neurons (output channels / units). */
  readonly neurons: number;
  /** neurons × inDim: weight row (or flattened filter) then bias. */
  readonly incoming: Float32Array;
  readonly inDim: number;
  /** neurons × outDim: the next layer's weights that read each neuron. */
  readonly outgoing: Float32Array;
  readonly outDim: number;
  /** The tensors used, for the report. */
  readonly weight: string;
  readonly bias: string | null;
  readonly next: string;
  readonly nextWeight: string;
}

/** Tensor lookup: shape and f32 data by name, or undefined. */
export type TensorSource = (name: string) => { shape: readonly number[]; data: Float32Array } | undefined;

const bad = (message: string, details: Record<string, unknown> = {}) => new CollapseError('INVALID_ARGUMENT', message, details);
const dims = (shape: readonly number[]) => shape.join('×') || 'a scalar';

/**
 * The chain of an engine model: its conv2d and linear layers in execution order, residual shortcuts left out.
 * @example
 * const { model, weights } = decodeWeights(bytes, 'model.safetensors');
 * const chain = modelChain(model);   // mnist-cnn: conv1, conv2, fc
 */
export function modelChain(model: Model): LayerRef[] {
  const readers = new Set<number>();
  const chain: LayerRef[] = [];
  for (const node of model.nodes) {
    if (node.op !== 'conv2d' && node.op !== 'linear') continue;
    // A second weight layer reading the same value is a residual shortcut (ResNet's downsample): not in the chain.
    if (readers.has(node.input)) continue;
    readers.add(node.input);
    const hasBias = node.op === 'linear' || node.bias;
    chain.push({ name: node.name, weight: `${node.name}.weight`, ...(hasBias ? { bias: `${node.name}.bias` } : {}) });
  }
  return chain;
}

/** What a layer's vectors will be, checked against the tensors but not built. */
export interface LayerPlan {
  readonly ref: LayerRef;
  readonly nextRef: LayerRef;
  readonly kind: 'conv2d' | 'linear';
  readonly neurons: number;
  readonly inDim: number;
  readonly outDim: number;
}

/**
 * Checks the chain against the tensors (presence, shapes, each layer's outputs against its reader's inputs) and
 * returns the plan of every layer but the last (which only reads its predecessor), or of the layers named in
 * `only` (in chain order). Nothing is copied.
 */
export function planChain(source: TensorSource, chain: readonly LayerRef[], only?: readonly string[]): LayerPlan[] {
  if (chain.length < 2) throw bad(`the layer chain has ${chain.length} layer${chain.length === 1 ? '' : 's'}; at least two are needed (a layer's outgoing vectors are the next layer's weights)`);
  const names = chain.map((l) => l.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw bad(`the layer chain names '${dup}' twice; layer names must be unique`);
  if (only) {
    const analysable = names.slice(0, -1);
    for (const n of only) {
      if (!names.includes(n)) throw bad(`no layer '${n}'; the layers are ${analysable.join(', ')}`);
      if (n === names[names.length - 1]) throw bad(`layer '${n}' is the last of the chain: no layer reads it, so it has no outgoing vectors; the layers are ${analysable.join(', ')}`);
    }
  }
  const plans: LayerPlan[] = [];
  // Every link is checked, also of layers left out, so that a wrong map fails whatever `only` says.
  for (let l = 0; l < chain.length - 1; l++) {
    const plan = planLayer(source, chain[l], chain[l + 1]);
    if (!only || only.includes(chain[l].name)) plans.push(plan);
  }
  return plans;
}

/**
 * Neuron vectors of every layer of `chain` but the last, or of the layers named in `only`: {@link planChain},
 * then {@link layerVectors} for each.
 */
export function neuronVectors(source: TensorSource, chain: readonly LayerRef[], only?: readonly string[]): NeuronVectors[] {
  return planChain(source, chain, only).map((plan) => layerVectors(source, plan));
}

function weightOf(source: TensorSource, ref: LayerRef): { shape: readonly number[]; data: Float32Array; kind: 'conv2d' | 'linear' } {
  const t = source(ref.weight);
  if (!t) throw bad(`layer '${ref.name}': no tensor '${ref.weight}' in the weights`, { layer: ref.name, tensor: ref.weight });
  if (t.shape.length !== 2 && t.shape.length !== 4) {
    throw bad(`layer '${ref.name}': tensor '${ref.weight}' is ${dims(t.shape)}; a weight must be [out, in] (linear) or [out, in, kh, kw] (convolution)`, { layer: ref.name, tensor: ref.weight, shape: t.shape });
  }
  return { ...t, kind: t.shape.length === 4 ? 'conv2d' : 'linear' };
}

function planLayer(source: TensorSource, ref: LayerRef, nextRef: LayerRef): LayerPlan {
  const w = weightOf(source, ref);
  const k = w.shape[0];
  const fan = w.shape.slice(1).reduce((a, b) => a * b, 1);
  if (ref.bias !== undefined) {
    const b = source(ref.bias);
    if (!b) throw bad(`layer '${ref.name}': no tensor '${ref.bias}' in the weights`, { layer: ref.name, tensor: ref.bias });
    if (b.shape.length !== 1 || b.shape[0] !== k) throw bad(`layer '${ref.name}': bias '${ref.bias}' is ${dims(b.shape)}, expected [${k}] (one per output of '${ref.weight}', ${dims(w.shape)})`, { layer: ref.name, tensor: ref.bias, shape: b.shape });
  }
  const next = weightOf(source, nextRef);
  const [outNext, inNext] = next.shape;
  const r = next.shape.length === 4 ? next.shape[2] * next.shape[3] : 1;
  if (next.kind === 'conv2d' && inNext !== k) {
    throw bad(`layer '${ref.name}' (${ref.weight}, ${dims(w.shape)}) has ${k} outputs but the next layer '${nextRef.name}' (${nextRef.weight}, ${dims(next.shape)}) reads ${inNext} channels`, { layer: ref.name, next: nextRef.name });
  }
  if (next.kind === 'linear' && (k === 0 || inNext % k !== 0)) {
    throw bad(`layer '${ref.name}' (${ref.weight}, ${dims(w.shape)}) has ${k} outputs but the next layer '${nextRef.name}' (${nextRef.weight}, ${dims(next.shape)}) reads ${inNext} inputs, not a multiple of ${k} (a flatten of ${k} channels × positions)`, { layer: ref.name, next: nextRef.name });
  }
  const s = next.kind === 'conv2d' ? 1 : inNext / k;
  return { ref, nextRef, kind: w.kind, neurons: k, inDim: fan + (ref.bias !== undefined ? 1 : 0), outDim: outNext * s * r };
}

/** The vectors of one planned layer (see the module comment for how the next layer reads each channel). */
export function layerVectors(source: TensorSource, plan: LayerPlan): NeuronVectors {
  const { ref, nextRef, neurons: k, inDim, outDim } = plan;
  const w = weightOf(source, ref);
  const bias = ref.bias !== undefined ? source(ref.bias)?.data : undefined;
  const fan = inDim - (bias ? 1 : 0);
  const incoming = new Float32Array(k * inDim);
  for (let c = 0; c < k; c++) {
    incoming.set(w.data.subarray(c * fan, (c + 1) * fan), c * inDim);
    if (bias) incoming[c * inDim + fan] = bias[c];
  }
  const next = weightOf(source, nextRef);
  const [outNext, inNext] = next.shape;
  const r = next.shape.length === 4 ? next.shape[2] * next.shape[3] : 1;
  const s = next.kind === 'conv2d' ? 1 : inNext / k;
  const block = s * r; // entries of one output row that read channel c, contiguous
  const outgoing = new Float32Array(k * outDim);
  for (let c = 0; c < k; c++) {
    for (let o = 0; o < outNext; o++) {
      const from = (o * inNext + c * s) * r;
      outgoing.set(next.data.subarray(from, from + block), c * outDim + o * block);
    }
  }
  return { name: ref.name, kind: plan.kind, neurons: k, incoming, inDim, outgoing, outDim, weight: ref.weight, bias: ref.bias ?? null, next: nextRef.name, nextWeight: nextRef.weight };
}

/** [incoming ; outgoing] per neuron: neurons × (inDim + outDim). */
export function concatenated(v: NeuronVectors): Float32Array {
  const dim = v.inDim + v.outDim;
  const out = new Float32Array(v.neurons * dim);
  for (let c = 0; c < v.neurons; c++) {
    out.set(v.incoming.subarray(c * v.inDim, (c + 1) * v.inDim), c * dim);
    out.set(v.outgoing.subarray(c * v.outDim, (c + 1) * v.outDim), c * dim + v.inDim);
  }
  return out;
}

/** A tensor source over decoded safetensors: F32 as is; F64, F16 and BF16 converted to f32; other dtypes refused. */
export function safetensorsSource(tensors: Record<string, NamedTensor>, what: string): TensorSource {
  const cache = new Map<string, Float32Array>();
  return (name) => {
    const t = Object.hasOwn(tensors, name) ? tensors[name] : undefined;
    if (!t) return undefined;
    let data = cache.get(name);
    if (!data) {
      data = toF32(t, name, what);
      cache.set(name, data);
    }
    return { shape: t.shape, data };
  };
}

function toF32(t: NamedTensor, name: string, what: string): Float32Array {
  switch (t.dtype) {
    case 'F32': return t.data as Float32Array;
    case 'F64': return Float32Array.from(t.data as Float64Array);
    case 'F16': return Float32Array.from(t.data as Uint16Array, halfToFloat);
    case 'BF16': {
      const bits = new Uint32Array((t.data as Uint16Array).length);
      (t.data as Uint16Array).forEach((h, i) => { bits[i] = h << 16; });
      return new Float32Array(bits.buffer);
    }
    default:
      throw bad(`${what}: tensor '${name}' is ${t.dtype}; weights must be F32, F64, F16 or BF16`, { tensor: name, dtype: t.dtype });
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

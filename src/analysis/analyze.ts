/**
 * Collapse analysis of trained weights (PAPER.md §4): for each layer, the neurons' incoming, outgoing and
 * concatenated vectors, their normalized distance matrices (the engine's `neuron_distances` kernel on its
 * backend), the measures of §4.3–4.5, and the clustering and neuron order of the distance-matrix figure (§4.6).
 *
 * Where this differs from the paper's code (PAPER.md §6), on purpose:
 * - every layer gets its own concatenated matrix: the code's conv13 reused conv12's (§6.2), here conv13's outgoing
 *   vectors are fc14's columns;
 * - results are stored under their own layer names (the code shifted ResNet's by one, §6.4);
 * - the vanishing filter uses the concatenated vector's norm (the code's HEAD; the published figures used the
 *   incoming vector's, §6.3);
 * - one ε = 1e-8 in every denominator (the code used 1e-8·dim for the figure's matrices and 1e-8 or 0 for the
 *   grouping: differences far below any threshold);
 * - clusters for the figure are cut at exactly the greedy count, ties in the cluster order broken by the smallest
 *   neuron index (the code's argsort was unstable).
 */
import { aborted, CollapseError } from '../errors.js';
import type { Engine } from '../engine.js';
import { decodeSafetensors } from '../io/safetensors.js';
import { decodeWeights } from '../train/checkpoint.js';
import type { Model } from '../train/graph.js';
import { integerIn } from '../validate.js';
import { parseLayerMap } from './layer-map.js';
import { averageLinkage, clusterOrder, cutTree } from './linkage.js';
import { greedyGroups, layerMeasures, type LayerMeasures } from './measures.js';
import { concatenated, layerVectors, modelChain, planChain, safetensorsSource, type LayerRef, type NeuronVectors, type TensorSource } from './vectors.js';

/** The paper's thresholds and regulariser. */
export const ANALYSIS_DEFAULTS = { tau: 0.1, vanish: 0.1, epsilon: 1e-8 } as const;

export interface AnalysisOptions {
  /** Distance below which two neurons are identical (default 0.1). */
  readonly tau?: number;
  /** Norm fraction of the layer's largest below which a neuron vanishes (default 0.1). */
  readonly vanish?: number;
  /** ε of the distance's denominator (default 1e-8). */
  readonly epsilon?: number;
  /** Names of the layers to analyse (default: all but the last of the chain). */
  readonly layers?: readonly string[];
  /**
   * Also compute the incoming and outgoing distance matrices, the clustering and the neuron order of the
   * distance-matrix figure (default true). Without it only the concatenated matrix and the measures are computed.
   */
  readonly figure?: boolean;
  /** Keep the distance matrices in the result (default false: they are K² floats per layer). */
  readonly keepMatrices?: boolean;
  /** Compute the effective rank (default true). */
  readonly effectiveRank?: boolean;
  /** Called (and awaited) after each layer, e.g. to draw its figure and let its matrices go. */
  readonly onLayer?: (layer: LayerAnalysis, done: number, total: number) => void | Promise<void>;
  /** Stops between layers (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/** The three K × K distance matrices of a layer. */
export interface LayerMatrices {
  readonly incoming: Float32Array;
  readonly outgoing: Float32Array;
  readonly concatenated: Float32Array;
}

/** One layer's analysis. */
export interface LayerAnalysis extends LayerMeasures {
  readonly name: string;
  readonly kind: 'conv2d' | 'linear';
  /** Entries of the incoming (weights + bias) and outgoing vectors. */
  readonly inDim: number;
  readonly outDim: number;
  readonly weight: string;
  readonly bias: string | null;
  /** The layer whose weights give the outgoing vectors. */
  readonly next: string;
  readonly nextWeight: string;
  /** §4.6: the greedy count over all neurons (no vanishing filter): the number of clusters of the figure. */
  readonly clusters?: number;
  /** §4.6: neuron order of the figure, and its clusters' sizes in that order. */
  readonly order?: readonly number[];
  readonly clusterSizes?: readonly number[];
  readonly matrices?: LayerMatrices;
}

/** Weights ready to analyse: a tensor source and the chain of layers. */
export interface WeightsSource {
  readonly source: TensorSource;
  readonly chain: readonly LayerRef[];
  /** The engine model when the file was written by stochastic-collapse. */
  readonly model?: Model;
  readonly metadata: Record<string, string>;
}

/**
 * Opens a safetensors file for analysis: a model or checkpoint written by `collapse train` (the chain comes from
 * its model), or weights trained elsewhere with a layer map (see src/analysis/layer-map.ts for the format).
 * @example
 * const w = openWeights(readFileSync('out/mnist/model.safetensors'), 'model.safetensors');
 * const v = openWeights(readFileSync('vgg16.safetensors'), 'vgg16.safetensors', { layerMap: JSON.parse(mapText), layerMapName: 'map.json' });
 */
export function openWeights(bytes: Uint8Array, what: string, options: { layerMap?: unknown; layerMapName?: string } = {}): WeightsSource {
  const { tensors, metadata } = decodeSafetensors(bytes, what);
  if (options.layerMap !== undefined) {
    const chain = parseLayerMap(options.layerMap, options.layerMapName ?? 'layer map', (n) => Object.hasOwn(tensors, n));
    return { source: safetensorsSource(tensors, what), chain, metadata };
  }
  if (metadata.model === undefined) {
    throw new CollapseError('INVALID_ARGUMENT', `${what} was not written by stochastic-collapse (its metadata has no model): give a layer map naming its layers' tensors (--layer-map)`, { file: what });
  }
  const { model, weights } = decodeWeights(bytes, what);
  const params = weights.params;
  const source: TensorSource = (name) => {
    const data = params.get(name);
    const spec = model.params.find((p) => p.name === name);
    return data && spec ? { shape: spec.shape, data } : undefined;
  };
  return { source, chain: modelChain(model), model, metadata };
}

/**
 * Analyses every layer of `weights` (or `options.layers`) on `engine`.
 * @example
 * const engine = await createEngine({ backend: 'native' });
 * const layers = await analyzeWeights(engine, openWeights(bytes, 'model.safetensors'));
 * for (const l of layers) console.log(l.name, l.fraction, l.vanishing.length);
 */
export async function analyzeWeights(engine: Engine, weights: WeightsSource, options: AnalysisOptions = {}): Promise<LayerAnalysis[]> {
  const tau = options.tau ?? ANALYSIS_DEFAULTS.tau;
  const vanish = options.vanish ?? ANALYSIS_DEFAULTS.vanish;
  const epsilon = options.epsilon ?? ANALYSIS_DEFAULTS.epsilon;
  if (!(Number.isFinite(tau) && tau > 0)) throw new CollapseError('INVALID_ARGUMENT', `tau must be a finite number > 0; got ${tau}`, { argument: 'tau' });
  if (!(vanish >= 0 && vanish < 1)) throw new CollapseError('INVALID_ARGUMENT', `vanish must be in [0, 1); got ${vanish}`, { argument: 'vanish' });
  if (!(Number.isFinite(epsilon) && epsilon >= 0)) throw new CollapseError('INVALID_ARGUMENT', `epsilon must be a finite number ≥ 0; got ${epsilon}`, { argument: 'epsilon' });
  // Shapes and names of every layer are checked before any distance is computed (a bad map fails at once).
  const plans = planChain(weights.source, weights.chain, options.layers);
  const out: LayerAnalysis[] = [];
  for (const plan of plans) {
    if (options.signal?.aborted) throw aborted('the analysis', options.signal.reason);
    const v = layerVectors(weights.source, plan); // one layer's vectors at a time: a wide network stays small in memory
    const result = await analyzeLayer(engine, v, { tau, vanish, epsilon, figure: options.figure !== false, keep: options.keepMatrices === true, rank: options.effectiveRank !== false });
    out.push(result);
    await options.onLayer?.(result, out.length, plans.length);
    if (options.signal?.aborted) throw aborted('the analysis', options.signal.reason);
  }
  return out;
}

async function analyzeLayer(engine: Engine, v: NeuronVectors, o: { tau: number; vanish: number; epsilon: number; figure: boolean; keep: boolean; rank: boolean }): Promise<LayerAnalysis> {
  checkFinite(v, v.incoming, v.inDim, `incoming vector (${v.weight}${v.bias ? ` / ${v.bias}` : ''})`);
  checkFinite(v, v.outgoing, v.outDim, `outgoing vector (${v.nextWeight})`);
  const k = v.neurons;
  const catDim = v.inDim + v.outDim;
  const cat = concatenated(v);
  const dCat = await distanceMatrix(engine, cat, k, catDim, o.epsilon);
  const measures = layerMeasures(cat, dCat, k, catDim, { tau: o.tau, vanish: o.vanish, effectiveRank: o.rank });
  const base = { name: v.name, kind: v.kind, inDim: v.inDim, outDim: v.outDim, weight: v.weight, bias: v.bias, next: v.next, nextWeight: v.nextWeight, ...measures };
  if (!o.figure) return { ...base, ...(o.keep ? { matrices: { incoming: new Float32Array(0), outgoing: new Float32Array(0), concatenated: dCat } } : {}) };
  const dIn = await distanceMatrix(engine, v.incoming, k, v.inDim, o.epsilon);
  const dOut = await distanceMatrix(engine, v.outgoing, k, v.outDim, o.epsilon);
  // §4.6: the greedy count over all neurons sets the number of average-linkage clusters on the concatenated matrix.
  const clusters = greedyGroups(dCat, k, o.tau).count;
  const z = await averageLinkage(dCat, k);
  const { order, sizes } = clusterOrder(cutTree(z, k, clusters));
  return {
    ...base, clusters, order: Array.from(order), clusterSizes: sizes,
    ...(o.keep ? { matrices: { incoming: dIn, outgoing: dOut, concatenated: dCat } } : {}),
  };
}

function checkFinite(v: NeuronVectors, data: Float32Array, dim: number, what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const neuron = Math.floor(i / dim);
      throw new CollapseError('INVALID_ARGUMENT', `layer '${v.name}': neuron ${neuron}'s ${what} holds ${data[i]} at entry ${i % dim}; the weights must be finite (did training diverge?)`,
        { layer: v.name, neuron, entry: i % dim });
    }
  }
}

/** Output entries per kernel call: 128 MiB, the smallest storage binding WebGPU guarantees. */
const MAX_OUTPUT = 2 ** 25;

/**
 * The count × count distance matrix of `vectors` on `engine`: one symmetric call, or row blocks of the cross form
 * when the matrix exceeds one storage binding (more than ~5800 neurons; `maxOutput` entries per call, default
 * 2^25). Both give the same bits: each pair is summed the same way, and (x − y)² = (y − x)².
 * @example
 * const d = await distanceMatrix(engine, cat, 512, 9217, 1e-8);
 */
export async function distanceMatrix(engine: Engine, vectors: Float32Array, count: number, dim: number, epsilon: number, maxOutput = MAX_OUTPUT): Promise<Float32Array> {
  integerIn('count', count, 0, 2 ** 31);
  if (count === 0) return new Float32Array(0);
  const all = engine.tensor('f32', [count, dim], vectors);
  try {
    if (count * count <= maxOutput) {
      const [d] = engine.run('neuron_distances', { count, dim, epsilon }, [all, all]);
      try { return await engine.read(d) as Float32Array; } finally { engine.release(d); }
    }
    const out = new Float32Array(count * count);
    const rows = Math.max(1, Math.floor(maxOutput / count));
    for (let r0 = 0; r0 < count; r0 += rows) {
      const r = Math.min(rows, count - r0);
      const block = engine.tensor('f32', [r, dim], vectors.subarray(r0 * dim, (r0 + r) * dim));
      try {
        const [d] = engine.run('neuron_distances', { count: r, countB: count, dim, epsilon }, [block, all]);
        try { out.set(await engine.read(d) as Float32Array, r0 * count); } finally { engine.release(d); }
      } finally {
        engine.release(block);
      }
    }
    return out;
  } finally {
    engine.release(all);
  }
}

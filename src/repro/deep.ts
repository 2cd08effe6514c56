/**
 * What the deep-network reproductions (Fig. 3, 4, 6) share: their settings (a VGG-16 with GELU, PAPER.md §5.1,
 * trained with SGD, momentum and coupled weight decay), training runs as checkpointed stages whose weights and
 * training checkpoints are blobs (so a long run resumes where it stopped), and the collapse analysis of the trained
 * weights (src/analysis: PAPER.md §4) with, beside the paper's fraction of independent neurons, the mean distance
 * of each neuron to its nearest neighbour: the continuous precursor of collapse, which moves long before pairs
 * fall below τ = 0.1.
 */
import { openWeights, type LayerAnalysis } from '../analysis/index.js';
import { invalidArgument } from '../errors.js';
import type { Model } from '../train/graph.js';
import { buildModel } from '../train/presets.js';
import { encodeModel } from '../train/checkpoint.js';
import { initialParameters } from '../train/init.js';
import type { MetricsRow } from '../train/train.js';
import { loadCifar, loadMnist, type Dataset } from '../train/data/datasets.js';
import { fmt } from '../plot/render.js';
import type { ReproContext, SettingSpec, Settings } from './types.js';

/** The network and optimizer settings every deep reproduction declares (quick: a narrow VGG-16 on MNIST). */
export const NET_SETTINGS: Readonly<Record<string, SettingSpec>> = {
  data: { description: "mnist (ships with the package, zero-padded to 32×32) or cifar10 / cifar100 (needs --data-dir)", kind: 'choice', quick: 'mnist', paper: 'cifar10', choices: ['mnist', 'cifar10', 'cifar100'] },
  width: { description: 'channel multiplier of VGG-16 (1 = the paper\'s 64 … 512 channels)', kind: 'number', quick: 0.0625, paper: 1, min: 0.01, max: 4 },
  batch: { description: 'minibatch size', kind: 'integer', quick: 16, paper: 256, min: 1, max: 4096 },
  momentum: { description: 'heavy-ball momentum (PyTorch SGD)', kind: 'number', quick: 0.9, paper: 0.9, min: 0, max: 0.999 },
  // quick: 20× the paper's, so that the total shrink η·λ·T of 10⁴ steps at η = 0.005–0.02 (0.5–2) spans the paper's
  // 10⁵ steps at η = 0.01–0.1 (0.5–5); at 5e-4 a few thousand steps decay the weights by ~1 % and nothing collapses
  weightDecay: { description: 'coupled L2 weight decay on every parameter (quick: scaled so that lr·decay·steps spans the paper\'s 0.5–5)', kind: 'number', quick: 0.01, paper: 5e-4, min: 0 },
  // without it the GELU VGG (no BatchNorm) at lr ≥ 0.01 and decay 0.01 can stall at the initial plateau (loss ln 10)
  warmup: { description: 'steps of linear learning-rate warm-up', kind: 'integer', quick: 1000, paper: 1000, min: 0 },
  replicates: { description: 'independent runs per setting (seed 6174·(r + 1) + the run seed, as the paper\'s 6174·(r + 1))', kind: 'integer', quick: 1, paper: 4, min: 1, max: 64 },
};

/** Layers from which the paper sees the fraction drop (conv8 … fc15 of VGG-16). */
export const DEEP_LAYERS = ['conv8', 'conv9', 'conv10', 'conv11', 'conv12', 'conv13', 'fc14', 'fc15'];
export const EARLY_LAYERS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'conv6', 'conv7'];

const n = (s: Settings, k: string) => s[k] as number;

const datasets = new Map<string, Promise<Dataset>>();

/** The data set of the settings (cached per process): MNIST padded to 32×32, or CIFAR from --data-dir. */
export function loadData(ctx: ReproContext): Promise<Dataset> {
  const name = ctx.settings.data as string;
  if (name !== 'mnist' && ctx.dataDir === undefined) {
    throw invalidArgument('data', name, `run with --data-dir pointing at the ${name === 'cifar10' ? 'cifar-10-batches-bin' : 'cifar-100-binary'} folder (nothing is downloaded), or --set data=mnist`);
  }
  const key = `${name}:${ctx.dataDir ?? ''}`;
  let p = datasets.get(key);
  if (!p) {
    p = name === 'mnist' ? loadMnist({ pad: 2 }) : loadCifar(ctx.dataDir as string, name === 'cifar10' ? 10 : 100);
    p.catch(() => datasets.delete(key));
    datasets.set(key, p);
  }
  return p;
}

/** VGG-16 (GELU, no BatchNorm) for the data set, at the settings' width. */
export function vggFor(data: Dataset, s: Settings): Model {
  return buildModel('vgg16', { inputShape: [data.channels, data.height, data.width], classes: data.classes, width: n(s, 'width') });
}

/** The paper's replicate seeds: 6174·(r + 1), offset by the run's --seed − 1 (so --seed 1 gives the paper's). */
export const replicateSeed = (seed: number, r: number) => (6174 * (r + 1) + seed - 1) >>> 0;

export interface RunSpec {
  readonly lr: number;
  readonly labelNoise: number;
  readonly steps: number;
  readonly seed: number;
  /** Learning-rate drops (×0.1) at these steps. */
  readonly drops?: readonly number[];
  /** Warm-up steps (default: the settings'). */
  readonly warmup?: number;
  /** Start from these weights (a blob name) with a fresh optimizer. */
  readonly from?: string;
  /** Keep the weights at these steps as blobs `<key>.step-<s>` (checkpoints of the run). */
  readonly keep?: readonly number[];
}

/** What a training stage keeps (JSON): where its weights are, and its metrics. */
export interface TrainedRun {
  readonly weights: string;
  readonly kept: Readonly<Record<string, string>>;
  readonly history: readonly MetricsRow[];
  readonly testAccuracy: number;
  readonly testLoss: number;
  readonly trainLoss: number;
  readonly stepsPerSecond: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * One training run as a stage: resumable from its last training checkpoint (every ~5 % of the run and at `keep`),
 * its final weights written as the blob `<key>.safetensors`.
 */
export function trainStage(ctx: ReproContext, key: string, spec: RunSpec): Promise<TrainedRun> {
  return ctx.stage(key, async (report) => {
    const s = ctx.settings;
    const data = await loadData(ctx);
    const model = vggFor(data, s);
    const blob = key.replace(/[^\w.-]/g, '_');
    const saved = ctx.load<{ step: number }>(key);
    const resume = saved ? ctx.readBlob(`${blob}.ckpt`) : undefined;
    const from = spec.from === undefined ? undefined : ctx.readBlob(spec.from);
    if (spec.from !== undefined && from === undefined) throw new Error(`${key}: the weights it starts from (${spec.from}) are missing`);
    const every = [...(spec.keep ?? []), Math.max(1, Math.round(spec.steps / 20))].reduce(gcd);
    const kept: Record<string, string> = {};
    for (const st of spec.keep ?? []) if (ctx.readBlob(`${blob}.step-${st}`)) kept[st] = `${blob}.step-${st}`;
    const r = await ctx.engine.train({
      model, data, lr: spec.lr, steps: spec.steps, batchSize: n(s, 'batch'), momentum: n(s, 'momentum'), weightDecay: n(s, 'weightDecay'),
      labelNoise: spec.labelNoise, seed: spec.seed, augment: data.name.startsWith('cifar') ? 'crop-flip' : 'none',
      schedule: { warmupSteps: spec.warmup ?? n(s, 'warmup'), drops: [...(spec.drops ?? [])], gamma: 0.1 },
      evaluateEvery: Math.max(1, Math.round(spec.steps / 10)), checkpointEvery: every,
      ...(resume ? { resume } : from ? { initialWeights: from } : {}),
      signal: ctx.signal,
      onStep: (p) => report(p.step / spec.steps, `step ${p.step}/${spec.steps}${p.metrics ? `, test accuracy ${(100 * p.metrics.testAccuracy).toFixed(1)} %` : ''}`),
      onCheckpoint: ({ step, bytes }) => {
        if (spec.keep?.includes(step)) { ctx.writeBlob(`${blob}.step-${step}`, bytes); kept[step] = `${blob}.step-${step}`; }
        ctx.writeBlob(`${blob}.ckpt`, bytes);
        ctx.save(key, { step });
      },
    });
    ctx.writeBlob(`${blob}.safetensors`, r.model);
    // the final step is never checkpointed by train(): keep it from the final weights
    if (spec.keep?.includes(spec.steps)) { ctx.writeBlob(`${blob}.step-${spec.steps}`, r.model); kept[spec.steps] = `${blob}.step-${spec.steps}`; }
    return { weights: `${blob}.safetensors`, kept, history: r.history, testAccuracy: r.testAccuracy, testLoss: r.testLoss, trainLoss: r.trainLoss, stepsPerSecond: r.stepsPerSecond };
  });
}

/** One layer's measures as a stage keeps them. */
export interface LayerSummary {
  readonly name: string;
  readonly neurons: number;
  readonly fraction: number;
  readonly independent: number;
  readonly vanishing: number;
  readonly largestGroup: number;
  /** Mean over neurons of the distance to the nearest other neuron (concatenated vectors). */
  readonly nearest: number;
  /** The three distance matrices (base64 f32, neurons²) and the figure's order, when asked for. */
  readonly incoming?: string;
  readonly outgoing?: string;
  readonly concatenated?: string;
  readonly order?: readonly number[];
  readonly clusterSizes?: readonly number[];
}

const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
export const fromB64 = (s: string) => { const b = Buffer.from(s, 'base64'); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };

function nearest(d: Float32Array, k: number): number {
  if (k < 2) return NaN;
  let sum = 0;
  for (let i = 0; i < k; i++) {
    let m = Infinity;
    for (let j = 0; j < k; j++) if (j !== i && d[i * k + j] < m) m = d[i * k + j];
    sum += m;
  }
  return sum / k;
}

/** Every layer's measures of weights (safetensors bytes), with the matrices of the `matrices` layers. */
async function analyzeBytes(ctx: ReproContext, bytes: Uint8Array, what: string, matrices: readonly string[]): Promise<LayerSummary[]> {
  const out: LayerSummary[] = [];
  await ctx.engine.analyze(openWeights(bytes, what), {
    figure: matrices.length > 0, keepMatrices: true, effectiveRank: false, signal: ctx.signal,
    onLayer: (l: LayerAnalysis) => {
      const m = l.matrices!;
      const withMatrices = matrices.includes(l.name) && m.incoming.length > 0;
      out.push({
        name: l.name, neurons: l.neurons, fraction: l.fraction, independent: l.independent, vanishing: l.vanishing.length,
        largestGroup: Math.max(1, ...l.groups.map((g) => g.length)), nearest: nearest(m.concatenated, l.neurons),
        ...(withMatrices ? { incoming: b64(m.incoming), outgoing: b64(m.outgoing), concatenated: b64(m.concatenated), order: l.order, clusterSizes: l.clusterSizes } : {}),
      });
    },
  });
  return out;
}

/** The collapse analysis of a weights blob as a stage: every layer's measures, the matrices of `matrices` layers. */
export function analysisStage(ctx: ReproContext, key: string, weights: string, matrices: readonly string[] = []): Promise<LayerSummary[]> {
  return ctx.stage(key, async () => {
    const bytes = ctx.readBlob(weights);
    if (!bytes) throw new Error(`${key}: the weights ${weights} are missing`);
    return analyzeBytes(ctx, bytes, weights, matrices);
  });
}

/**
 * The same analysis of the initial weights of a run with `seed` (before any step): the baseline against which the
 * nearest-neighbour distance shows how far training moved each layer toward collapse. Layers of different widths
 * differ at initialisation (more neurons, nearer neighbours), so layers are compared by their change.
 */
export function initialStage(ctx: ReproContext, key: string, seed: number): Promise<LayerSummary[]> {
  return ctx.stage(key, async () => {
    const model = vggFor(await loadData(ctx), ctx.settings);
    const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
    const bytes = encodeModel(model, {
      params: initialParameters(model, seed), buffers: new Map(model.buffers.map((b) => [b.name, new Float32Array(size(b.shape)).fill(b.value)])), batchesTracked: 0,
    }, 0);
    return analyzeBytes(ctx, bytes, 'the initial weights', []);
  });
}

/** Mean of a per-layer quantity over the named layers present. */
export function layerMean(layers: readonly LayerSummary[], names: readonly string[], pick: (l: LayerSummary) => number): number {
  const v = layers.filter((l) => names.includes(l.name)).map(pick).filter(Number.isFinite);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

/** "VGG-16 ×0.0625 on mnist, batch 16, momentum 0.9, weight decay 5e-4" */
export function netText(s: Settings): string {
  return `VGG-16 (GELU)${n(s, 'width') === 1 ? '' : ` ×${fmt(n(s, 'width'))} channels`} on ${s.data}${s.data === 'mnist' ? ' (32×32)' : ''}, batch ${n(s, 'batch')}, momentum ${fmt(n(s, 'momentum'))}, weight decay ${fmt(n(s, 'weightDecay'))}, warm-up ${n(s, 'warmup')}`;
}

/** The differences every deep reproduction shares with the paper's runs. */
export function deepDifferences(s: Settings): string[] {
  const out = [
    'Every layer gets its own concatenated vectors: conv13\'s outgoing vectors are fc14\'s columns (the paper\'s code reused conv12\'s matrix for conv13, PAPER.md §6.2); layers keep their own names (its ResNet labels were shifted, §6.4).',
    'The vanishing filter uses the concatenated vector\'s norm (the code\'s HEAD; the published figures used the incoming vector\'s, §6.3). Greedy grouping exactly as the paper\'s code (§4.4, not connected components).',
    'Training in f32 on the engine (the paper: mixed precision fp16 on A100s); label noise redrawn at every access, as the paper\'s.',
    'Beside the paper\'s fraction of independent neurons (pairs at normalised distance < 0.1), the reports give each layer\'s mean distance to the nearest other neuron: it falls long before pairs cross 0.1, so the direction shows at scales too small for the fraction to move.',
  ];
  if (s.data === 'mnist') {
    out.push(`Quick scale: ${netText(s)}: MNIST instead of CIFAR, a narrow network and 10⁴–3·10⁴ instead of 10⁵–10⁶ steps. The learning rates are scaled down (a narrow VGG-16 without BatchNorm fails to train at lr ≥ 0.05 on MNIST, even with warm-up) and the weight decay up (0.01 instead of 5e-4), so that the total decay lr·decay·steps (0.5–2 here) spans the paper's (0.5 at lr 0.01 to 5 at lr 0.1 over 10⁵ steps). The collapse is then partly neurons that vanish (norm below 0.1 of the layer's largest; the paper counts them as collapsed, onto the origin's invariant set) and partly neurons that merge: the tables give both. --scale paper (with --data-dir) runs the paper's settings.`);
  }
  return out;
}

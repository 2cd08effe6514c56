import type { InitSpec } from './job.js';
import type { ModelDefinition, ModelTheory } from './model.js';

/** Progress of a Monte Carlo estimate, reported through `onProgress`. */
export interface CollapseProgress {
  /** Grid points finished (all their paths and steps). */
  readonly gridDone: number;
  readonly gridTotal: number;
  readonly pathStepsDone: number;
  readonly pathStepsTotal: number;
  readonly elapsedSeconds: number;
  /** Throughput so far. */
  readonly pathStepsPerSecond: number;
}

/** Which part of a sweep to compute: grid points [gridStart, gridEnd) and paths [pathStart, pathEnd). */
export interface Shard {
  readonly gridStart?: number;
  readonly gridEnd?: number;
  readonly pathStart?: number;
  readonly pathEnd?: number;
}

export interface CollapseOptions {
  /** A built-in model name ('quartic', 'neuron', 'teacher-student', 'two-neuron') or a `defineModel` result. */
  readonly model: string | ModelDefinition;
  /** Values of the model's parameters (defaults from the model); the swept one is overridden by `noise`. */
  readonly params?: Readonly<Record<string, number>>;
  /** The grid of noise levels: values of the swept parameter. */
  readonly noise: readonly number[];
  /** Which parameter `noise` sweeps (default: the model's noise parameter). */
  readonly sweep?: string;
  /** Paths per grid point. */
  readonly paths: number;
  readonly steps: number;
  readonly dt: number;
  /** Steps at which to measure (default: [steps]); sorted and deduplicated. */
  readonly record?: readonly number[];
  /** Collapse threshold on the model's distance. */
  readonly epsilon: number;
  /** Philox key word 0 (default 0). */
  readonly seed?: number;
  /** Initial condition (default: the model's, e.g. θ₀ ~ N(0, 2²) shared across the grid for `quartic`). */
  readonly init?: { readonly mean?: number | readonly number[]; readonly std?: number | readonly number[]; readonly shared?: boolean };
  /** Data for the neuron / two-neuron models (default: generated from the seed). */
  readonly data?: { readonly x: readonly number[]; readonly y: readonly number[] };
  /** Sample the first `paths` trajectories of each grid point every `every` steps. */
  readonly trace?: { readonly paths: number; readonly every: number };
  /** Compute only part of the sweep; `mergeResults` joins the parts into exactly the unsharded result. */
  readonly shard?: Shard;
  readonly onProgress?: (progress: CollapseProgress) => void;
  readonly signal?: AbortSignal;
}

/** Arrays indexed [noise index][record index]. */
export type Grid2 = number[][];

export interface CollapseResult {
  readonly model: string;
  readonly params: Readonly<Record<string, number>>;
  readonly sweep: string;
  /** The noise values of this result (the shard's, when sharded). */
  readonly noise: number[];
  /** Global index of noise[0] in the full grid (0 unless sharded). */
  readonly gridStart: number;
  readonly record: number[];
  /** record × dt. */
  readonly recordTimes: number[];
  /** Paths per grid point in this result. */
  readonly paths: number;
  readonly pathStart: number;
  readonly steps: number;
  readonly dt: number;
  readonly epsilon: number;
  readonly seed: number;
  readonly init: InitSpec;
  readonly distance: string;
  readonly collapsed: Grid2;
  readonly diverged: Grid2;
  /** collapsed / paths. */
  readonly probability: Grid2;
  /** 95 % Wilson score interval of `probability`. */
  readonly lower: Grid2;
  readonly upper: Grid2;
  /** Sums over finite paths: distance, distance², ln max(distance, 2^-126). */
  readonly sumDistance: Grid2;
  readonly sumSquaredDistance: Grid2;
  readonly sumLogDistance: Grid2;
  /** Means over finite paths of the same. */
  readonly meanDistance: Grid2;
  readonly meanSquaredDistance: Grid2;
  readonly meanLogDistance: Grid2;
  readonly theory: ModelTheory;
  readonly backend: string;
  readonly device: string;
  readonly elapsedSeconds: number;
  readonly pathStepsPerSecond: number;
  /** Sampled trajectories: values[k][path][sample][component], samples at steps 0, every, 2·every, ... */
  readonly trace?: { readonly every: number; readonly steps: number[]; readonly values: number[][][][] };
}

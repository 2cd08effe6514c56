/** The Monte Carlo job as the em_collapse kernel sees it: the model, the grid piece, the paths, the steps. */
/** The RNG streams (Philox key word 1) the SDE kernels use. The random API lets users pick any stream. */
export const STREAM = { noise: 0, init: 1, data: 2 } as const;

/** Number of statistics accumulated per (record, grid point): see `SimStats`. */
export const STAT_FIELDS = 5;

/**
 * A model as the kernels see it: state dimension d, noise dimension m, a flat f32 parameter vector per
 * grid point (names in `paramNames`, the WGSL struct fields), optional data, and code per backend.
 */
export interface KernelModel {
  /** Model name; `native` dispatches on it. */
  readonly name: string;
  readonly d: number;
  readonly m: number;
  /** Names of the per-grid-point kernel parameters, in vector order. */
  readonly paramNames: readonly string[];
  /** Model data (read-only on every backend), e.g. the neuron model's x then y. May be empty. */
  readonly data: Float32Array;
  /**
   * Plain-JS reference. `drift` writes f(x) into out[0..d); `diffusion` writes column k of G(x) into
   * out[0..d); `distance` is the distance to the invariant set. `p` is the parameter vector.
   */
  readonly js: {
    drift(x: Float64Array, p: Float32Array, data: Float32Array, out: Float64Array): void;
    diffusion(x: Float64Array, p: Float32Array, data: Float32Array, k: number, out: Float64Array): void;
    distance(x: Float64Array, p: Float32Array, data: Float32Array): number;
  };
  /**
   * WGSL defining `fn drift(x: State, p: Params) -> State`, `fn diffusion(x: State, p: Params, k: u32) -> State`
   * and `fn distance(x: State, p: Params) -> f32`. The kernel generator declares `const D: u32`,
   * `const M: u32`, `alias State = array<f32, D>`, `struct Params { <paramNames>: f32 }` and
   * `var<storage, read> data: array<f32>` before it (data[i] for i < arrayLength), and `fn tanh_precise(x: f32) -> f32`
   * (the builtin tanh is only absolutely accurate, ~1e-7 near 0, which stalls collapsing distances).
   */
  readonly wgsl: string;
  /** True when the native addon has this model compiled in (`native/models.h`). */
  readonly native: boolean;
}

/** Initial condition x0[i] = mean[i] + std[i] * N(0,1), drawn from stream `init`; shared across the grid or not. */
export interface InitSpec {
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly shared: boolean;
}

/** One piece of a Monte Carlo problem, as handed to a backend. */
export interface SimJob {
  readonly model: KernelModel;
  /** Parameter vectors, gridCount × paramNames.length, row k for global grid index gridOffset + k. */
  readonly params: Float32Array;
  readonly gridOffset: number;
  readonly gridCount: number;
  /** Paths per grid point in this job, with global path indices pathOffset .. pathOffset + paths - 1. */
  readonly paths: number;
  readonly pathOffset: number;
  readonly steps: number;
  readonly dt: number;
  /** Sorted, distinct step indices in [0, steps] at which to measure. */
  readonly record: readonly number[];
  readonly epsilon: number;
  readonly seed: number;
  readonly init: InitSpec;
  /** Optional trajectory sampling: the first `paths` paths of each grid point, every `every` steps (step 0 included). */
  readonly trace?: { readonly paths: number; readonly every: number };
  /** Called from time to time with the number of path-steps done so far in this job. */
  readonly onProgress?: (pathStepsDone: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * Statistics of a job, indexed [(record r * gridCount + k) * STAT_FIELDS + f] with fields
 * 0 collapsed count (finite paths with distance < epsilon), 1 diverged count (any non-finite state),
 * 2 sum of distance, 3 sum of distance², 4 sum of ln(max(distance, 2^-126)), sums over finite paths.
 */
export interface SimStats {
  readonly stats: Float64Array;
  /** When traced: [k][path][sample][component], gridCount × trace.paths × (floor(steps/every)+1) × d. */
  readonly trace?: Float32Array;
}

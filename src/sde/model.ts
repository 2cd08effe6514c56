import type { InitSpec, KernelModel } from './job.js';

/** One parameter of a model. */
export interface ParamSpec {
  readonly default: number;
  readonly description: string;
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
}

/** What a model knows of the paper's theory at one grid point (any field may be absent). */
export interface PointTheory {
  /** α of Theorem 4.1/5.1 sign convention: > 0 means the invariant set attracts. */
  readonly alpha?: number;
  /** Lyapunov exponent of the distance near the invariant set, per unit time (continuous time). */
  readonly lyapunov?: number;
  /** The same, including the O(dt) Euler–Maruyama correction where it is known. */
  readonly lyapunovEM?: number;
  /** Predicted collapse probability at each recorded step (same order as `record`), where a closed form exists. */
  readonly probability?: readonly (number | null)[];
  /** Stationary moments of the model's distance where they exist (E[distance], E[distance²]). */
  readonly stationaryMean?: number;
  readonly stationarySecondMoment?: number;
  readonly stationaryVariance?: number;
}

export interface ModelTheory {
  /** Value of the swept parameter at which the invariant set becomes attractive (the closed-form threshold). */
  readonly threshold?: number;
  /** How the threshold is written in the paper. */
  readonly thresholdLabel?: string;
  /** Other model-wide facts (e.g. the neuron data's r = Σxy/Σx²). */
  readonly facts?: Readonly<Record<string, number>>;
  /** Per grid point. */
  readonly points: readonly PointTheory[];
}

export interface BuildContext {
  readonly seed: number;
  /** Model data given by the user (the neuron and two-neuron models' x and y). */
  readonly data?: { readonly x: readonly number[]; readonly y: readonly number[] };
}

/** A model bound to its non-swept parameter values and data. */
export interface BuiltModel {
  readonly kernel: KernelModel;
  /** Kernel parameter vector for a full set of user parameter values. */
  pack(values: Readonly<Record<string, number>>): number[];
  readonly init: InitSpec;
  theory(grid: readonly Readonly<Record<string, number>>[], run: { dt: number; record: readonly number[]; epsilon: number }): ModelTheory;
}

/** A model users can name (`--model quartic`) or define (`defineModel`). */
export interface ModelDefinition {
  readonly name: string;
  readonly summary: string;
  readonly params: Readonly<Record<string, ParamSpec>>;
  /** The parameter a noise grid sweeps by default. */
  readonly noiseParam: string;
  /** Axis label for the swept noise parameter. */
  readonly noiseLabel: string;
  /** What `distance` measures (shown in results and plots). */
  readonly distanceLabel: string;
  /** Suggested run settings (the paper's). */
  readonly defaults: { readonly dt: number; readonly steps: number; readonly record: readonly number[]; readonly epsilon: number };
  build(values: Readonly<Record<string, number>>, context: BuildContext): BuiltModel;
}

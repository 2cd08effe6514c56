import type { InitSpec, KernelModel } from './job.js';

/** One parameter of a model. */
export interface ParamSpec {
  readonly default: number;
  readonly description: string;
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
}

/**
 * What a model knows of the paper's theory at one grid point (any field may be absent).
 *
 * One convention in every model: the collapse is decided along one coordinate z near the invariant set
 * (quartic: θ; neuron: u = w₁ + w₂ or v = w₁ − w₂, whichever is less attracted; teacher–student: s = s_u s_v),
 * which near the set obeys dz = z(a dt + g dB). Theorem 4.1 (PAPER.md §2.1) applied to z gives
 * α = L″(0) + g₁²/2 = g²/2 − a, and the Lyapunov exponent of |z| is −α.
 */
export interface PointTheory {
  /** Theorem 4.1's α along the deciding coordinate: > 0 means the invariant set attracts. Equals −lyapunov. */
  readonly alpha?: number;
  /** Lyapunov exponent of |z| per unit time, continuous time: a − g²/2 = −α. */
  readonly lyapunov?: number;
  /**
   * The exponent of the scheme that is run: Euler–Maruyama with step dt gives z' = z(1 + a·dt + g√dt ξ), so
   * E ln|1 + a·dt + g√dt ξ| / dt (by quadrature; exact for the linearised step). This, not `lyapunov`, is the
   * slope of E ln|z| the simulation shows.
   */
  readonly lyapunovEM?: number;
  /** Neuron: the exponents along u = w₁ + w₂ and v = w₁ − w₂ (continuous, and of the scheme). */
  readonly lyapunovU?: number;
  readonly lyapunovV?: number;
  readonly lyapunovUEM?: number;
  readonly lyapunovVEM?: number;
  /**
   * Predicted P(distance < ε) at each recorded step (same order as `record`) for the scheme that is run,
   * valid at every noise level and every time, where the model has such a form.
   */
  readonly probability?: readonly (number | null)[];
  /** lim_{t→∞} P(distance < ε) under the continuous SDE (quartic: P(ν, ε/ζ²) below ζ_c, 1 at and above it). */
  readonly stationaryProbability?: number;
  /** Stationary moments of the model's distance where they exist (E[distance], E[distance²], Var[distance]). */
  readonly stationaryMean?: number;
  readonly stationarySecondMoment?: number;
  readonly stationaryVariance?: number;
}

export interface ModelTheory {
  /** Value of the swept parameter at which the invariant set becomes attractive (the closed-form threshold). */
  readonly threshold?: number;
  /** How the threshold is written in the paper. */
  readonly thresholdLabel?: string;
  /**
   * Other model-wide facts, e.g. the neuron data's r = Σxy/Σx², and `thresholdEM`: where `lyapunovEM`
   * changes sign, the threshold of the scheme that is run at this dt.
   */
  readonly facts?: Readonly<Record<string, number>>;
  /** Per grid point. */
  readonly points: readonly PointTheory[];
}

/** The run a theory is computed for: the step, the recorded steps, ε, and (when known) the initial condition. */
export interface RunSettings {
  readonly dt: number;
  readonly record: readonly number[];
  readonly epsilon: number;
  readonly init?: InitSpec;
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
  theory(grid: readonly Readonly<Record<string, number>>[], run: RunSettings): ModelTheory;
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
  /** Which theory fields the model reports, in a line (`collapse models` shows it; meanings in THEORY_HELP). */
  readonly theoryNote?: string;
  /** Suggested run settings (the paper's). */
  readonly defaults: { readonly dt: number; readonly steps: number; readonly record: readonly number[]; readonly epsilon: number };
  build(values: Readonly<Record<string, number>>, context: BuildContext): BuiltModel;
}

import { gammaP, logGamma } from '../special.js';
import { discreteExponent, quarticCollapseProbability, signChange } from '../theory.js';
import type { ModelDefinition, PointTheory, RunSettings } from '../model.js';

/**
 * Fig. 1: dθ = (μθ − θ³) dt + ζθ dB (PAPER.md §2.2). The invariant set is θ = 0; the collapse measure is
 * θ² (the paper counts θ_t² < ε), so `distance` here is the squared distance.
 */
export const quartic: ModelDefinition = {
  name: 'quartic',
  summary: 'Fig. 1 toy: dθ = (μθ − θ³)dt + ζθ dB, collapse onto θ = 0 when ζ > √(2μ)',
  params: {
    mu: { default: 1.5, description: 'μ, minus the curvature at the origin (a local maximum when μ > 0)' },
    zeta: { default: 1, description: 'ζ, the multiplicative noise level (swept by --noise)', min: 0 },
  },
  noiseParam: 'zeta',
  noiseLabel: 'noise level ζ',
  distanceLabel: 'θ²',
  theoryNote: 'threshold ζ_c = √(2μ) and thresholdEM; alpha = ζ²/2 − μ, lyapunov, lyapunovEM; probability at every recorded step (both sides of ζ_c); stationaryProbability and stationary moments of θ² below ζ_c',
  defaults: { dt: 0.0025, steps: 80_000, record: [10_000, 20_000, 40_000, 80_000], epsilon: 1e-30 },
  build() {
    return {
      kernel: {
        name: 'quartic',
        d: 1,
        m: 1,
        paramNames: ['mu', 'zeta'],
        data: new Float32Array(0),
        native: true,
        js: {
          drift: (x, p, _data, out) => { out[0] = p[0] * x[0] - x[0] * x[0] * x[0]; },
          diffusion: (x, p, _data, _k, out) => { out[0] = p[1] * x[0]; },
          distance: (x) => x[0] * x[0],
        },
        wgsl: /* wgsl */ `
fn drift(x: State, p: Params) -> State { return State(p.mu * x[0] - x[0] * x[0] * x[0]); }
fn diffusion(x: State, p: Params, k: u32) -> State { return State(p.zeta * x[0]); }
fn distance(x: State, p: Params) -> f32 { return x[0] * x[0]; }
`,
      },
      pack: (v) => [v.mu, v.zeta],
      init: { mean: [0], std: [2], shared: true },
      theory(grid, run) {
        const mu = grid[0]?.mu ?? 1.5;
        const zetaEM = mu > 0 ? signChange((z) => discreteExponent(mu, z, run.dt).exponent, 0, Math.max(4 * Math.sqrt(2 * mu), 1)) : undefined;
        return {
          threshold: mu > 0 ? Math.sqrt(2 * mu) : 0,
          thresholdLabel: 'ζ = √(2μ)',
          ...(zetaEM === undefined ? {} : { facts: { thresholdEM: zetaEM } }),
          points: grid.map((v) => quarticPoint(v.mu, v.zeta, run)),
        };
      },
    };
  },
};

/**
 * The theory of one grid point. α and the continuous exponent are Theorem 4.1's; `lyapunovEM` and the
 * probability are for the Euler–Maruyama run at step dt, from the same formula on both sides of ζ_c
 * (`quarticCollapseProbability`); the t → ∞ law below ζ_c is kept apart as `stationaryProbability`.
 */
function quarticPoint(mu: number, zeta: number, run: RunSettings): PointTheory {
  const z2 = zeta * zeta;
  const alpha = z2 / 2 - mu;
  const scheme = discreteExponent(mu, zeta, run.dt);
  const init = { mean: run.init?.mean[0] ?? 0, std: run.init?.std[0] ?? 2 };
  const probability = quarticCollapseProbability({
    mu, exponent: scheme.exponent, variance: scheme.variance, init, epsilon: run.epsilon,
    times: run.record.map((step) => step * run.dt),
  });
  const point: PointTheory = { alpha, lyapunov: -alpha, lyapunovEM: scheme.exponent, probability };
  if (zeta > 0 && alpha < 0) {
    // θ²/ζ² ~ Gamma(ν, 1), ν = μ/ζ² − ½ (PAPER.md §2.2): reached only after the (slow, near ζ_c) mixing time.
    const nu = mu / z2 - 0.5;
    return {
      ...point,
      stationaryProbability: gammaP(nu, run.epsilon / z2),
      stationaryMean: mu - z2 / 2,
      stationarySecondMoment: mu * mu - (z2 * z2) / 4,
      stationaryVariance: z2 * (mu - z2 / 2),
    };
  }
  return zeta > 0 ? { ...point, stationaryProbability: 1 } : point;
}

/** E|θ| under the stationary law (exported for tests). */
export function quarticStationaryAbsMean(mu: number, zeta: number): number {
  const nu = mu / (zeta * zeta) - 0.5;
  return zeta * Math.exp(logGamma(nu + 0.5) - logGamma(nu));
}

/**
 * The stationary density of Fig. 1, unnormalized: p(θ) ∝ |θ|^{2μ/ζ²−2} e^{−θ²/ζ²} (normalizable iff 0 < ζ² < 2μ).
 * Computed in log space and scaled by a constant so that its maximum is 1 when μ > ζ² (the peaks at
 * θ² = μ − ζ²), which keeps small ζ from underflowing; normalize it numerically on a grid.
 * @example
 * const p = quarticStationaryDensity(1.5, 1, 1.2);
 */
export function quarticStationaryDensity(mu: number, zeta: number, theta: number): number {
  const z2 = zeta * zeta;
  const a = (2 * mu) / z2 - 2;
  const logAt = (t2: number) => (a === 0 ? 0 : (a / 2) * Math.log(t2)) - t2 / z2;
  const peak = mu > z2 ? logAt(mu - z2) : 0;
  if (theta === 0) return a > 0 ? 0 : a === 0 ? 1 : Infinity;
  return Math.exp(logAt(theta * theta) - peak);
}

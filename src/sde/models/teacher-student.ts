import type { ModelDefinition } from '../model.js';
import { gammaP } from '../special.js';
import { discreteExponent } from '../theory.js';

/**
 * Fig. 5, one mode of the linear teacher–student model (PAPER.md §2.5): with s = s_u s_v,
 *   ds_u = −(s − ŝ*) s_v dt − √η σ s_v dB,   ds_v = −(s − ŝ*) s_u dt − √η σ s_u dB   (one dB).
 * With dt = η this is exactly the paper's discrete SGD update with label noise σ. Invariant set s = 0;
 * distance |s|. Theory: s̃ = ŝ* − ησ²/2; collapse iff s̃ < 0, else s → Gamma(s̃/(ησ²), ησ²).
 */
export const teacherStudent: ModelDefinition = {
  name: 'teacher-student',
  summary: 'Fig. 5 mode of the linear teacher–student model: s → max(0, ŝ* − ησ²/2), collapse when σ > √(2ŝ*/η)',
  params: {
    sStar: { default: 1, description: 'ŝ*, the empirical teacher singular value of this mode', min: 0 },
    sigma: { default: 10, description: 'σ, the label-noise std (swept by --noise)', min: 0 },
    eta: { default: 3 / 1024, description: 'η = lr/N, the SGD step (use --dt equal to it to mimic SGD)', min: 0 },
  },
  noiseParam: 'sigma',
  noiseLabel: 'label noise σ',
  distanceLabel: '|s| = |s_u s_v|',
  theoryNote: 'threshold σ = √(2ŝ*/η); alpha = ησ² − 2ŝ* (= −2s̃), lyapunov, lyapunovEM on both sides; stationary Gamma law of s (mean s̃, variance s̃ησ², stationaryProbability) when s̃ > 0',
  defaults: { dt: 3 / 1024, steps: 50_000, record: [10_000, 25_000, 50_000], epsilon: 1e-20 },
  build() {
    return {
      kernel: {
        name: 'teacher-student',
        d: 2,
        m: 1,
        paramNames: ['sStar', 'g'],
        data: new Float32Array(0),
        native: true,
        js: {
          drift(x, p, _data, out) {
            const r = x[0] * x[1] - p[0];
            out[0] = -r * x[1];
            out[1] = -r * x[0];
          },
          diffusion(x, p, _data, _k, out) {
            out[0] = -p[1] * x[1];
            out[1] = -p[1] * x[0];
          },
          distance: (x) => Math.abs(x[0] * x[1]),
        },
        wgsl: /* wgsl */ `
fn drift(x: State, p: Params) -> State {
  let r = x[0] * x[1] - p.sStar;
  return State(-r * x[1], -r * x[0]);
}
fn diffusion(x: State, p: Params, k: u32) -> State { return State(-p.g * x[1], -p.g * x[0]); }
fn distance(x: State, p: Params) -> f32 { return abs(x[0] * x[1]); }
`,
      },
      pack: (v) => [v.sStar, Math.sqrt(v.eta) * v.sigma],
      init: { mean: [1, 1], std: [0, 0], shared: true },
      theory(grid, run) {
        const first = grid[0];
        return {
          threshold: first && first.eta > 0 ? Math.sqrt((2 * first.sStar) / first.eta) : undefined,
          thresholdLabel: 'σ = √(2ŝ*/η)',
          points: grid.map((v) => {
            const noise = v.eta * v.sigma * v.sigma;
            const sTilde = v.sStar - noise / 2;
            // Near s = 0 (balanced, s_u = s_v): s_u' = s_u(1 + ŝ*·dt − √η σ √dt ξ) and s = s_u², so s has twice
            // s_u's exponents. Theorem 4.1 on ds = −2s(s − ŝ* − ησ²/2)dt + 2σ√η s dB gives α = ησ² − 2ŝ* = −2s̃.
            const exponents = {
              alpha: -2 * sTilde,
              lyapunov: 2 * sTilde,
              lyapunovEM: 2 * discreteExponent(v.sStar, Math.sqrt(v.eta) * v.sigma, run.dt).exponent,
            };
            if (sTilde <= 0) return { ...exponents, stationaryMean: 0, stationaryVariance: 0, stationaryProbability: 1 };
            return {
              ...exponents,
              stationaryMean: sTilde,
              stationaryVariance: sTilde * noise,
              stationarySecondMoment: sTilde * noise + sTilde * sTilde,
              stationaryProbability: gammaP(sTilde / noise, run.epsilon / noise),
            };
          }),
        };
      },
    };
  },
};

import type { ModelDefinition } from '../model.js';
import { dataNormals, givenOrGenerated, packData } from './data.js';
import { discreteExponent, signChange } from '../theory.js';

/**
 * Fig. 2 (PAPER.md §2.4): f(x) = w₂ tanh(w₁x) on m data points, L = (1/2m) Σ (f(xᵢ) − yᵢ)²,
 * dw = −∇L dt + (√η ζ/√m) Σᵢ ∇_w f(xᵢ) dBᵢ. The swept noise level is α = ηζ²σ′(0)/2 (σ′(0) = 1), so the
 * diffusion coefficient is c = √(2α/m). Invariant set w = 0; distance ‖w‖.
 */
export const neuron: ModelDefinition = {
  name: 'neuron',
  summary: 'Fig. 2 single neuron f(x) = w₂ tanh(w₁x): collapse onto w = 0 when α > Σxy/Σx²',
  params: {
    alpha: { default: 1, description: 'α = ηζ²σ′(0)/2, the noise level (swept by --noise)', min: 0 },
    m: { default: 32, description: 'number of data points (generated xᵢ ~ N(0,1), yᵢ = xᵢ + labelNoise·N(0,1))', min: 1, max: 4096, integer: true },
    labelNoise: { default: 0.1, description: 'std of the label noise in the generated data', min: 0 },
  },
  noiseParam: 'alpha',
  noiseLabel: 'noise level α = ηζ²σ′(0)/2',
  distanceLabel: '‖w‖',
  theoryNote: 'threshold r = Σxy/Σx² (Theorem 5.1) and thresholdEM; alpha = (Σx²/m)(α − |r|), lyapunov, lyapunovEM, and lyapunovU/V(EM) along w₁ ± w₂',
  // Fig. 2 reads its curves at t = 1000·k/99 for k = 3, 7, 15, 31, 63 (saved indices 4…64 of LinRange(0, 1000, 100)):
  // t ≈ 30.3, 70.7, 151.5, 313.1, 636.4, i.e. these steps at dt = 0.01
  defaults: { dt: 0.01, steps: 63_636, record: [3_030, 7_071, 15_152, 31_313, 63_636], epsilon: 1e-2 },
  build(values, context) {
    const { x, y } = givenOrGenerated(context, 'neuron', () => {
      const n = dataNormals(context.seed, 2 * values.m);
      const xs = n.slice(0, values.m);
      return { x: xs, y: xs.map((xi, i) => xi + values.labelNoise * n[values.m + i]) };
    });
    const m = x.length;
    const data = packData(x, y);
    const sxy = x.reduce((s, xi, i) => s + xi * y[i], 0);
    const sxx = x.reduce((s, xi) => s + xi * xi, 0);
    const r = sxy / sxx;
    const grad = (w1: number, w2: number, i: number, out: Float64Array): number => {
      const xi = data[i];
      const t = Math.tanh(w1 * xi);
      out[0] = w2 * (1 - t * t) * xi;
      out[1] = t;
      return w2 * t - data[m + i];
    };
    const g = new Float64Array(2);
    return {
      kernel: {
        name: 'neuron',
        d: 2,
        m,
        paramNames: ['c'],
        data,
        native: true,
        js: {
          drift(w, _p, _data, out) {
            out[0] = 0; out[1] = 0;
            for (let i = 0; i < m; i++) {
              const res = grad(w[0], w[1], i, g);
              out[0] -= (res * g[0]) / m;
              out[1] -= (res * g[1]) / m;
            }
          },
          diffusion(w, p, _data, k, out) {
            grad(w[0], w[1], k, out);
            out[0] *= p[0]; out[1] *= p[0];
          },
          distance: (w) => Math.hypot(w[0], w[1]),
        },
        wgsl: /* wgsl */ `
fn grad_f(x: State, i: u32) -> State {
  let t = tanh_precise(x[0] * data[i]); // the builtin is only absolutely accurate (~1e-7 near 0)
  return State(x[1] * (1.0 - t * t) * data[i], t);
}
fn drift(x: State, p: Params) -> State {
  var f = State(0.0, 0.0);
  for (var i = 0u; i < M; i++) {
    let g = grad_f(x, i);
    let res = x[1] * g[1] - data[M + i];
    f[0] -= res * g[0];
    f[1] -= res * g[1];
  }
  return State(f[0] / f32(M), f[1] / f32(M));
}
fn diffusion(x: State, p: Params, k: u32) -> State {
  let g = grad_f(x, k);
  return State(p.c * g[0], p.c * g[1]);
}
fn distance(x: State, p: Params) -> f32 { return length(vec2f(x[0], x[1])); }
`,
      },
      pack: (v) => [Math.sqrt((2 * v.alpha) / m)],
      init: { mean: [0, 0], std: [1e-3, 1e-3], shared: true },
      theory(grid, run) {
        const meanXX = sxx / m;
        // near w = 0, u = w₁ + w₂ and v = w₁ − w₂ obey du = u(a dt + c dW), dv = −v(a dt + c dW) with
        // a = Σxy/m and c² = 2α Σx²/m (PAPER.md §2.4); Theorem 4.1 along u gives α_u = c²/2 − a = (Σx²/m)(α − r)
        const a = sxy / m;
        const exponents = (alpha: number) => {
          const c = Math.sqrt(2 * alpha * meanXX);
          return { u: discreteExponent(a, c, run.dt).exponent, v: discreteExponent(-a, c, run.dt).exponent };
        };
        const thresholdEM = signChange((alpha) => { const e = exponents(alpha); return Math.max(e.u, e.v); }, 0, 4 * Math.abs(r) + 1);
        return {
          threshold: Math.abs(r),
          thresholdLabel: 'α = Σxᵢyᵢ / Σxᵢ² (Theorem 5.1)',
          facts: { r, sumXY: sxy, sumXX: sxx, ...(thresholdEM === undefined ? {} : { thresholdEM }) },
          points: grid.map((v) => {
            const lu = meanXX * (r - v.alpha);
            const lv = -meanXX * (r + v.alpha);
            const em = exponents(v.alpha);
            // the less attracted direction decides: α = min(α_u, α_v) = (Σx²/m)(α − |r|)
            return {
              alpha: -Math.max(lu, lv), lyapunov: Math.max(lu, lv), lyapunovEM: Math.max(em.u, em.v),
              lyapunovU: lu, lyapunovV: lv, lyapunovUEM: em.u, lyapunovVEM: em.v,
            };
          }),
        };
      },
    };
  },
};

import type { ModelDefinition } from '../model.js';
import { dataNormals, givenOrGenerated, packData } from './data.js';

/**
 * The appendix toy (PAPER.md §3, "two GELU neurons"): f(x) = b₁ GELU(a₁x) + b₂ GELU(a₂x) on n points,
 * L = (1/2n) Σ (f(xᵢ) − yᵢ)², label noise σ at learning rate η: dw = −∇L dt + (√η σ/n) Σᵢ ∇f(xᵢ) dBᵢ,
 * state (a₁, a₂, b₁, b₂). Invariant set a₁ = a₂, b₁ = b₂; distance ‖w₁ − w₂‖. No closed form: the paper
 * shows it numerically (momentum, used by the paper's notebook, is not part of this SDE).
 * GELU uses erf from Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7) on every backend.
 */
export const twoNeuron: ModelDefinition = {
  name: 'two-neuron',
  summary: 'appendix toy: two GELU neurons collapse onto w₁ = w₂ under label noise',
  params: {
    sigma: { default: 0.1, description: 'σ, the label-noise std (swept by --noise)', min: 0 },
    lr: { default: 0.1, description: 'η, the learning rate (use --dt equal to it to mimic SGD)', min: 0 },
    n: { default: 8, description: 'number of data points (x, y ~ N(0,1) independent)', min: 1, max: 4096, integer: true },
  },
  noiseParam: 'sigma',
  noiseLabel: 'label noise σ',
  distanceLabel: '‖w₁ − w₂‖',
  defaults: { dt: 0.1, steps: 10_000, record: [1_000, 2_500, 5_000, 10_000], epsilon: 1e-5 },
  build(values, context) {
    const { x, y } = givenOrGenerated(context, 'two-neuron', () => {
      const v = dataNormals(context.seed, 2 * values.n);
      return { x: v.slice(0, values.n), y: v.slice(values.n) };
    });
    const n = x.length;
    const data = packData(x, y);
    const g = new Float64Array(4);
    /** ∇_w f(x_i) into out; returns f(x_i) − y_i. */
    const grad = (w: Float64Array, i: number, out: Float64Array): number => {
      const xi = data[i];
      const z1 = w[0] * xi, z2 = w[1] * xi;
      out[0] = w[2] * geluPrime(z1) * xi;
      out[1] = w[3] * geluPrime(z2) * xi;
      out[2] = gelu(z1);
      out[3] = gelu(z2);
      return w[2] * out[2] + w[3] * out[3] - data[n + i];
    };
    return {
      kernel: {
        name: 'two-neuron',
        d: 4,
        m: n,
        paramNames: ['c'],
        data,
        native: true,
        js: {
          drift(w, _p, _data, out) {
            out.fill(0);
            for (let i = 0; i < n; i++) {
              const res = grad(w, i, g);
              for (let j = 0; j < 4; j++) out[j] -= (res * g[j]) / n;
            }
          },
          diffusion(w, p, _data, k, out) {
            grad(w, k, out);
            for (let j = 0; j < 4; j++) out[j] *= p[0];
          },
          distance: (w) => Math.hypot(w[0] - w[1], w[2] - w[3]),
        },
        wgsl: /* wgsl */ `
fn erf_as(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-z * z);
  return select(-y, y, x >= 0.0);
}
fn gelu(z: f32) -> f32 { return 0.5 * z * (1.0 + erf_as(z * 0.70710678118654752)); }
fn gelu_prime(z: f32) -> f32 { return 0.5 * (1.0 + erf_as(z * 0.70710678118654752)) + z * 0.39894228040143268 * exp(-0.5 * z * z); }
fn grad_f(w: State, i: u32) -> State {
  let z1 = w[0] * data[i];
  let z2 = w[1] * data[i];
  return State(w[2] * gelu_prime(z1) * data[i], w[3] * gelu_prime(z2) * data[i], gelu(z1), gelu(z2));
}
fn drift(w: State, p: Params) -> State {
  var f = State(0.0, 0.0, 0.0, 0.0);
  for (var i = 0u; i < M; i++) {
    let g = grad_f(w, i);
    let res = w[2] * g[2] + w[3] * g[3] - data[M + i];
    for (var j = 0u; j < 4u; j++) { f[j] -= res * g[j] / f32(M); }
  }
  return f;
}
fn diffusion(w: State, p: Params, k: u32) -> State {
  var g = grad_f(w, k);
  for (var j = 0u; j < 4u; j++) { g[j] *= p.c; }
  return g;
}
fn distance(w: State, p: Params) -> f32 { return length(vec2f(w[0] - w[1], w[2] - w[3])); }
`,
      },
      pack: (v) => [(Math.sqrt(v.lr) * v.sigma) / n],
      init: { mean: [1.0, 0.6, -0.6, -0.4], std: [0, 0, 0, 0], shared: true },
      theory: (grid) => ({ points: grid.map(() => ({})) }),
    };
  },
};

/** erf by Abramowitz–Stegun 7.1.26, the same formula as the WGSL and C++ kernels. */
export function erfAS(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * z);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? y : -y;
}
const gelu = (z: number): number => 0.5 * z * (1 + erfAS(z * Math.SQRT1_2));
const geluPrime = (z: number): number => 0.5 * (1 + erfAS(z * Math.SQRT1_2)) + z * 0.3989422804014327 * Math.exp(-0.5 * z * z);

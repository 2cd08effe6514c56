import type { BuildContext, ModelDefinition } from '../model.js';
import { dataNormals, givenOrGenerated, packData } from './data.js';

/**
 * The appendix toy without momentum (plain SGD with label noise): f(x) = b₁ GELU(a₁x) + b₂ GELU(a₂x) on n
 * points, L = (1/2n) Σ (f(xᵢ) − yᵢ)², label noise σ at learning rate η: dw = −∇L dt + (√η σ/n) Σᵢ ∇f(xᵢ) dBᵢ,
 * state (a₁, a₂, b₁, b₂). With dt = η a step is exactly one SGD step. Invariant set a₁ = a₂, b₁ = b₂; distance
 * ‖w₁ − w₂‖. Its effective learning rate is (1 − 0.9) = 10× smaller than the paper's run (`two-neuron`).
 * GELU uses erf from Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7) on every backend.
 */
export const twoNeuronSgd: ModelDefinition = {
  name: 'two-neuron-sgd',
  theoryNote: 'none in closed form',
  summary: 'appendix toy without momentum: two GELU neurons collapse onto w₁ = w₂ under label noise (plain SGD)',
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
    const { n, data, grad } = twoNeuronData(values, context, 'two-neuron-sgd');
    const g = new Float64Array(4);
    return {
      kernel: {
        name: 'two-neuron-sgd',
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
${GELU_WGSL}
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

/**
 * The appendix toy as the paper runs it (PAPER.md, appendix toy): two GELU neurons, label noise σ, SGD with
 * heavy-ball momentum β = 0.9 (PyTorch: v ← βv + g, w ← w − ηv, v₀ = 0), where g is the full-batch gradient of
 * (1/2n) Σ (f(xᵢ) − yᵢ − σξᵢ)², i.e. g = ∇L − (σ/n) Σ ξᵢ ∇f(xᵢ). State (a₁, a₂, b₁, b₂, v_a₁, v_a₂, v_b₁, v_b₂).
 * As an SDE whose Euler–Maruyama step with dt = η is exactly that update (v is the pre-step velocity):
 *   dw = (−βv − ∇L) dt + (√η σ/n) Σᵢ ∇f(xᵢ) dBᵢ,   dv = ((β − 1)v + ∇L)/η dt − (σ/(n√η)) Σᵢ ∇f(xᵢ) dBᵢ.
 * Use --dt equal to lr (smaller dt refines it; larger is unstable, the velocity relaxes at rate (1 − β)/η).
 * Invariant set a₁ = a₂, b₁ = b₂, v_a₁ = v_a₂, v_b₁ = v_b₂; distance ‖w₁ − w₂‖ on the weights, as the paper plots.
 */
export const twoNeuron: ModelDefinition = {
  name: 'two-neuron',
  theoryNote: 'none in closed form; facts.effectiveLr = lr/(1 − β)',
  summary: 'appendix toy as the paper runs it: two GELU neurons, label noise, SGD with momentum 0.9; collapse onto w₁ = w₂',
  params: {
    sigma: { default: 0.1, description: 'σ, the label-noise std (swept by --noise)', min: 0 },
    lr: { default: 0.1, description: 'η, the learning rate (use --dt equal to it: one step is one SGD step)', min: 0 },
    beta: { default: 0.9, description: 'β, the heavy-ball momentum (PyTorch, no dampening)', min: 0, max: 0.9999 },
    n: { default: 8, description: 'number of data points (x, y ~ N(0,1) independent)', min: 1, max: 4096, integer: true },
  },
  noiseParam: 'sigma',
  noiseLabel: 'label noise σ',
  distanceLabel: '‖w₁ − w₂‖',
  defaults: { dt: 0.1, steps: 10_000, record: [1_000, 2_500, 5_000, 10_000], epsilon: 1e-5 },
  build(values, context) {
    const { n, data, grad } = twoNeuronData(values, context, 'two-neuron');
    const g = new Float64Array(4), gradL = new Float64Array(4);
    return {
      kernel: {
        name: 'two-neuron',
        d: 8,
        m: n,
        paramNames: ['c', 'beta', 'invLr'],
        data,
        native: true,
        js: {
          drift(w, p, _data, out) {
            gradL.fill(0);
            for (let i = 0; i < n; i++) {
              const res = grad(w, i, g);
              for (let j = 0; j < 4; j++) gradL[j] += (res * g[j]) / n;
            }
            for (let j = 0; j < 4; j++) {
              out[j] = -p[1] * w[4 + j] - gradL[j];
              out[4 + j] = ((p[1] - 1) * w[4 + j] + gradL[j]) * p[2];
            }
          },
          diffusion(w, p, _data, k, out) {
            grad(w, k, g);
            for (let j = 0; j < 4; j++) { out[j] = p[0] * g[j]; out[4 + j] = -p[0] * p[2] * g[j]; }
          },
          distance: (w) => Math.hypot(w[0] - w[1], w[2] - w[3]),
        },
        wgsl: /* wgsl */ `
${GELU_WGSL}
fn grad_f(w: State, i: u32) -> vec4f {
  let z1 = w[0] * data[i];
  let z2 = w[1] * data[i];
  return vec4f(w[2] * gelu_prime(z1) * data[i], w[3] * gelu_prime(z2) * data[i], gelu(z1), gelu(z2));
}
fn drift(w: State, p: Params) -> State {
  var gl = vec4f(0.0);
  for (var i = 0u; i < M; i++) {
    let g = grad_f(w, i);
    let res = w[2] * g.z + w[3] * g.w - data[M + i];
    gl += res * g / f32(M);
  }
  let v = vec4f(w[4], w[5], w[6], w[7]);
  let fw = -p.beta * v - gl;
  let fv = ((p.beta - 1.0) * v + gl) * p.invLr;
  return State(fw.x, fw.y, fw.z, fw.w, fv.x, fv.y, fv.z, fv.w);
}
fn diffusion(w: State, p: Params, k: u32) -> State {
  let g = p.c * grad_f(w, k);
  let gv = -p.invLr * g;
  return State(g.x, g.y, g.z, g.w, gv.x, gv.y, gv.z, gv.w);
}
fn distance(w: State, p: Params) -> f32 { return length(vec2f(w[0] - w[1], w[2] - w[3])); }
`,
      },
      // c = √η σ/n as in the SGD variant; 1/η turns per-step velocity changes into a rate
      pack: (v) => [(Math.sqrt(v.lr) * v.sigma) / n, v.beta, 1 / v.lr],
      init: { mean: [1.0, 0.6, -0.6, -0.4, 0, 0, 0, 0], std: [0, 0, 0, 0, 0, 0, 0, 0], shared: true },
      theory: (grid) => ({ facts: { effectiveLr: values.lr / (1 - values.beta) }, points: grid.map(() => ({})) }),
    };
  },
};

/** The data (given, or x, y ~ N(0,1) from the seed) and ∇_w f(xᵢ) of the two-neuron models. */
function twoNeuronData(values: Readonly<Record<string, number>>, context: BuildContext, model: string) {
  const { x, y } = givenOrGenerated(context, model, () => {
    const v = dataNormals(context.seed, 2 * values.n);
    return { x: v.slice(0, values.n), y: v.slice(values.n) };
  });
  const n = x.length;
  const data = packData(x, y);
  /** ∇_w f(x_i) into out (weights a₁, a₂, b₁, b₂); returns f(x_i) − y_i. */
  const grad = (w: Float64Array, i: number, out: Float64Array): number => {
    const xi = data[i];
    const z1 = w[0] * xi, z2 = w[1] * xi;
    out[0] = w[2] * geluPrime(z1) * xi;
    out[1] = w[3] * geluPrime(z2) * xi;
    out[2] = gelu(z1);
    out[3] = gelu(z2);
    return w[2] * out[2] + w[3] * out[3] - data[n + i];
  };
  return { n, data, grad };
}

const GELU_WGSL = /* wgsl */ `fn erf_as(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-z * z);
  return select(-y, y, x >= 0.0);
}
fn gelu(z: f32) -> f32 { return 0.5 * z * (1.0 + erf_as(z * 0.70710678118654752)); }
fn gelu_prime(z: f32) -> f32 { return 0.5 * (1.0 + erf_as(z * 0.70710678118654752)) + z * 0.39894228040143268 * exp(-0.5 * z * z); }`;

/** erf by Abramowitz–Stegun 7.1.26, the same formula as the WGSL and C++ kernels. */
export function erfAS(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * z);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? y : -y;
}
const gelu = (z: number): number => 0.5 * z * (1 + erfAS(z * Math.SQRT1_2));
const geluPrime = (z: number): number => 0.5 * (1 + erfAS(z * Math.SQRT1_2)) + z * 0.3989422804014327 * Math.exp(-0.5 * z * z);

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsBackend } from '../src/backends/js.js';
import { NativeBackend } from '../src/backends/native.js';
import type { WebgpuBackend } from '../src/backends/webgpu.js';
import { STAT_FIELDS, type SimStats } from '../src/sde/job.js';
import { builtinModels } from '../src/sde/models/index.js';
import { buildJob, simulate, type JobCase } from './helpers/jobs.js';
import { describeWebgpu, openBackend } from './helpers/webgpu.js';

/**
 * The appendix toy as the paper runs it: two GELU neurons, label noise, SGD with heavy-ball momentum 0.9
 * ('two-neuron', state with the velocity), and the momentum-free variant ('two-neuron-sgd', the former model).
 */
const js = new JsBackend();
const native = NativeBackend.load();

describe('two-neuron: one Euler–Maruyama step with dt = lr is one PyTorch heavy-ball step', () => {
  it('v ← βv + g, w ← w − ηv with g = ∇L − (σ/n) Σ ξᵢ ∇f(xᵢ)', () => {
    const lr = 0.1, sigma = 0.3, beta = 0.9;
    const built = builtinModels['two-neuron'].build({ sigma, lr, beta, n: 5 }, { seed: 3 });
    const k = built.kernel;
    const p = Float32Array.from(built.pack({ sigma, lr, beta, n: 5 }));
    const { data } = k;
    const n = data.length / 2;
    const x = Float64Array.from([0.9, 0.7, -0.5, -0.45, 0.02, -0.01, 0.03, 0.015]);
    const xi = [0.3, -1.2, 0.7, 2.1, -0.4];
    // the step as the kernels take it: x + f(x) dt + Σ_k G_k(x) ξ_k √dt
    const f = new Float64Array(8), col = new Float64Array(8);
    k.js.drift(x, p, data, f);
    const em = Float64Array.from(x, (v, j) => v + f[j] * lr);
    for (let i = 0; i < n; i++) {
      k.js.diffusion(x, p, data, i, col);
      for (let j = 0; j < 8; j++) em[j] += col[j] * xi[i] * Math.sqrt(lr);
    }
    // the step as PyTorch takes it, in f64 from the definition (β, σ as the kernel sees them: f32)
    const erf = (z: number) => { const t = 1 / (1 + 0.3275911 * Math.abs(z)); const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z); return z >= 0 ? y : -y; };
    const gelu = (z: number) => 0.5 * z * (1 + erf(z / Math.SQRT2));
    const geluPrime = (z: number) => 0.5 * (1 + erf(z / Math.SQRT2)) + (z * Math.exp(-0.5 * z * z)) / Math.sqrt(2 * Math.PI);
    const g = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      const xi_ = data[i], z1 = x[0] * xi_, z2 = x[1] * xi_;
      const grad = [x[2] * geluPrime(z1) * xi_, x[3] * geluPrime(z2) * xi_, gelu(z1), gelu(z2)];
      const residual = x[2] * gelu(z1) + x[3] * gelu(z2) - data[n + i] - sigma * xi[i];   // label noise on yᵢ
      for (let j = 0; j < 4; j++) g[j] += (residual * grad[j]) / n;
    }
    const b = Math.fround(beta);
    for (let j = 0; j < 4; j++) {
      const v = b * x[4 + j] + g[j];
      expect(em[4 + j], `v[${j}]`).toBeCloseTo(v, 6);
      expect(em[j], `w[${j}]`).toBeCloseTo(x[j] - lr * v, 6);
    }
  });

  it('collapses under label noise, much faster than without momentum, and not without noise', async () => {
    const run = { noise: [0, 0.2, 0.4], paths: 4, steps: 5000, dt: 0.1, record: [5000], epsilon: 1e-5, seed: 1 };
    const job = (model: string) => buildJob({ model, fixed: { sigma: 0.1, lr: 0.1, beta: 0.9, n: 8 }, noise: run.noise, dt: run.dt, epsilon: run.epsilon, steps: run.steps, record: run.record }, { paths: run.paths, seed: run.seed });
    const log = (s: SimStats, k: number) => s.stats[k * STAT_FIELDS + 4] / run.paths;   // mean ln‖w₁ − w₂‖
    const momentum = await simulate(native, job('two-neuron'));
    const sgd = await simulate(native, job('two-neuron-sgd'));
    expect(log(momentum, 0)).toBeGreaterThan(Math.log(1e-2));          // σ = 0: stays apart
    expect(log(momentum, 2)).toBeLessThan(Math.log(1e-5));             // σ = 0.4: collapsed
    expect(log(momentum, 1)).toBeLessThan(log(momentum, 0) - 1);       // faster for larger σ
    expect(log(momentum, 2)).toBeLessThan(log(momentum, 1));
    expect(log(sgd, 2)).toBeGreaterThan(log(momentum, 2) + 10);       // 10× smaller effective lr without momentum
  });
});

// 3 noise levels spanning no collapse → collapse within a few hundred steps at the paper's lr = dt = 0.1. Not
// larger σ: there the momentum dynamics fluctuate at O(1) (as in the paper) and amplify f32-vs-f64 rounding. Not
// longer: collapsed f32 paths then reach exactly w₁ = w₂ (ln distance clamps to −87) at rounding-dependent steps.
const CASES: JobCase[] = [
  { model: 'two-neuron', fixed: { sigma: 0.1, lr: 0.1, beta: 0.9, n: 6 }, noise: [0.05, 0.3, 0.6], dt: 0.1, steps: 250, record: [0, 1, 100, 250], epsilon: 0.05 },
  { model: 'two-neuron-sgd', fixed: { sigma: 0.1, lr: 0.1, n: 5 }, noise: [0.3, 3, 6], dt: 0.1, steps: 300, record: [0, 1, 150, 300], epsilon: 0.2 },
];

/**
 * Equal counts (and some collapse, some not: the comparison can fail); distance sums within `rel`, log-distance
 * sums within 2·10⁻³ (collapsing paths: ‖w₁ − w₂‖ of f32 weights near 0.5 is quantised, the f64 reference not).
 */
function expectSame(got: SimStats, want: SimStats, label: string, rel: number, paths: number): void {
  expect(got.stats.length).toBe(want.stats.length);
  for (let i = 0; i < want.stats.length; i++) {
    const f = i % STAT_FIELDS;
    const tol = f === 4 ? 2e-3 : rel;
    if (f < 2) expect(got.stats[i], `${label} stats[${i}]`).toBe(want.stats[i]);
    else expect(Math.abs(got.stats[i] - want.stats[i]), `${label} stats[${i}]`).toBeLessThanOrEqual(tol * Math.max(Math.abs(want.stats[i]), 1));
  }
  const collapsed = want.stats.filter((_, i) => i % STAT_FIELDS === 0);
  expect(collapsed.some((c) => c > 0), `${label}: some paths collapse`).toBe(true);
  expect(collapsed.some((c) => c < paths), `${label}: some paths survive`).toBe(true);
}

describe('two-neuron models: native equals the js reference', () => {
  for (const c of CASES) {
    it(`${c.model}: same counts, moments within 1e-4`, async () => {
      const job = buildJob(c, { paths: 37 });
      const [want, got] = await Promise.all([simulate(js, job), simulate(native, job)]);
      expectSame(got, want, c.model, 1e-4, job.paths);
    });
  }
});

describeWebgpu('two-neuron models: webgpu equals the js reference', () => {
  let gpu: WebgpuBackend;
  beforeAll(async () => { gpu = await openBackend(); });
  afterAll(() => gpu?.close());
  for (const c of CASES) {
    it(`${c.model}: same counts, moments within 1e-3`, async () => {
      const job = buildJob(c, { paths: 70 });
      const [want, got] = await Promise.all([simulate(js, job), simulate(gpu, job)]);
      expectSame(got, want, c.model, 1e-3, job.paths);
    });
  }
});

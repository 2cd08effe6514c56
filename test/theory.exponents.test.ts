import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/index.js';
import { builtinModels } from '../src/sde/models/index.js';
import { discreteExponent } from '../src/sde/theory.js';

/**
 * The reported exponents of the scheme that is run (`lyapunovEM`, and the neuron's `lyapunovUEM`/`lyapunovVEM`)
 * against the slope of E ln(distance) in the simulation, on both sides of each threshold, and one meaning of
 * `alpha` (Theorem 4.1's, = −lyapunov) in every model. Native backend, fixed seeds; tolerance 4 standard errors
 * of the slope, from the predicted log-variance per unit time.
 */
let engine: Engine;
beforeAll(async () => { engine = await createEngine({ backend: 'native' }); });
afterAll(() => engine.close());

const slope = (r: Awaited<ReturnType<Engine['collapse']>>, k: number, t: number) => (r.meanLogDistance[k][1] - r.meanLogDistance[k][0]) / t;

describe('single neuron: exponents along u = w₁ + w₂ and v = w₁ − w₂ (dt = 0.01)', () => {
  // 32 fixed points spread over [−1.4, 1.4]; y = ±x + a small perturbation, so that r ≈ +1 (u decides) or r ≈ −1 (v decides)
  const x = Array.from({ length: 32 }, (_, i) => Math.sin(1.7 * i + 0.3) * 1.4);
  const data = (sign: number) => ({ x, y: x.map((xi, i) => sign * xi + 0.1 * Math.cos(3.1 * i)) });
  const sxx = x.reduce((s, xi) => s + xi * xi, 0);
  const dt = 0.01, t = 5, steps = t / dt, paths = 2000;

  for (const [sign, dir] of [[1, 'u'], [-1, 'v']] as const) {
    it(`the slope of E ln‖w‖ is lyapunov${dir.toUpperCase()}EM with w₀ along ${dir}, below and above the threshold`, async () => {
      const d = data(sign);
      const r0 = d.x.reduce((s, xi, i) => s + xi * d.y[i], 0) / sxx;
      const noise = [Math.abs(r0) - 0.5, Math.abs(r0) + 0.5];
      // w₀ = 1e-6·(1, ±1): along u or v, far from the nonlinear region; the other direction stays ~0
      const r = await engine.collapse({ model: 'neuron', noise, paths, steps, dt, record: [0, steps], epsilon: 1e-2, seed: 91, data: d, init: { mean: [1e-6, sign * 1e-6], std: 0 } });
      expect(r.theory.facts!.r).toBeCloseTo(r0, 12);
      noise.forEach((alpha, k) => {
        const th = r.theory.points[k];
        const meanXX = sxx / x.length;
        expect(th.lyapunovU).toBeCloseTo(meanXX * (r0 - alpha), 12);
        expect(th.lyapunovV).toBeCloseTo(-meanXX * (r0 + alpha), 12);
        expect(th.alpha).toBeCloseTo(meanXX * (alpha - Math.abs(r0)), 12);   // Theorem 4.1 along the deciding direction
        expect(th.lyapunov).toBeCloseTo(-th.alpha!, 12);
        const predicted = dir === 'u' ? th.lyapunovUEM! : th.lyapunovVEM!;
        const se = Math.sqrt((2 * alpha * meanXX) / (paths * t));   // ln|u| diffuses with variance c² = 2αΣx²/m
        expect(Math.abs(slope(r, k, t) - predicted), `α=${alpha}: slope ${slope(r, k, t)} vs ${predicted}`).toBeLessThan(4 * se);
      });
      expect(Math.sign(r.theory.points[0].lyapunovEM!)).toBe(1);
      expect(Math.sign(r.theory.points[1].lyapunovEM!)).toBe(-1);
    });
  }

  it('puts the threshold of the scheme (thresholdEM) a little below r at dt = 0.01', async () => {
    const r = await engine.collapse({ model: 'neuron', noise: [1], paths: 1, steps: 1, dt: 0.01, epsilon: 1e-2, seed: 21 });
    const { r: rr, thresholdEM } = r.theory.facts!;
    expect(thresholdEM).toBeLessThan(Math.abs(rr));
    expect(thresholdEM).toBeGreaterThan(Math.abs(rr) - 0.05);
  });
});

describe('teacher–student mode: exponent of s on both sides of ŝ* = ησ²/2', () => {
  const eta = 3 / 1024;
  it('reports alpha = −2s̃ and lyapunovEM = the slope of E ln s, collapsing or not', async () => {
    const cases = [{ sStar: 1, sigma: 10 }, { sStar: 0.3, sigma: 20 }];   // s̃ = 0.854 > 0, s̃ = −0.286 < 0
    const t = 5, steps = Math.round(t / eta), paths = 2000;
    for (const [i, c] of cases.entries()) {
      // s₀ = 1e-8: near the invariant set, where ln s is a random walk
      const r = await engine.collapse({ model: 'teacher-student', params: { sStar: c.sStar, eta }, noise: [c.sigma], paths, steps, dt: eta, record: [0, steps], epsilon: 1e-20, seed: 95 + i, init: { mean: [1e-4, 1e-4], std: 0 } });
      const th = r.theory.points[0];
      const sTilde = c.sStar - (eta * c.sigma ** 2) / 2;
      expect(th.alpha).toBeCloseTo(-2 * sTilde, 12);
      expect(th.lyapunov).toBeCloseTo(2 * sTilde, 12);
      const se = Math.sqrt((4 * eta * c.sigma ** 2) / (paths * steps * eta));
      expect(Math.abs(slope(r, 0, steps * eta) - th.lyapunovEM!), `σ=${c.sigma}: ${slope(r, 0, steps * eta)} vs ${th.lyapunovEM}`).toBeLessThan(4 * se);
    }
  });
});

describe('one meaning of alpha', () => {
  it('is Theorem 4.1’s α = −lyapunov in every model with a theory', () => {
    const run = { dt: 0.01, record: [100], epsilon: 1e-3 };
    for (const name of ['quartic', 'neuron', 'teacher-student']) {
      const def = builtinModels[name];
      const values = Object.fromEntries(Object.entries(def.params).map(([k, p]) => [k, p.default]));
      const theory = def.build(values, { seed: 1 }).theory([values, { ...values, [def.noiseParam]: 2 * values[def.noiseParam] }], run);
      for (const p of theory.points) expect(p.alpha, name).toBeCloseTo(-p.lyapunov!, 12);
    }
    expect(discreteExponent(0, 0, 0.01).exponent).toBe(0);
  });
});

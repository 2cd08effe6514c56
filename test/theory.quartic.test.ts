import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/index.js';
import { discreteExponent } from '../src/sde/theory.js';

/**
 * The quartic's reported theory against the Euler–Maruyama simulation it sits beside (ISSUE 8 items 1–2), on the
 * native backend at fixed seeds. Tolerances: a stated model/numerical error plus 4 Monte Carlo standard
 * errors computed from the predicted values, never from the observed ones.
 */
let engine: Engine;
beforeAll(async () => { engine = await createEngine({ backend: 'native' }); });
afterAll(() => engine.close());

const mu = 1.5;
const zetaC = Math.sqrt(2 * mu);
const binomialSe = (p: number, n: number) => Math.sqrt(Math.max(p * (1 - p), 1 / n) / n);

/** ψ(x) for x > 0: recurrence up to x ≥ 10, then the asymptotic series. */
function digamma(x: number): number {
  let s = 0;
  while (x < 10) { s -= 1 / x; x += 1; }
  const x2 = 1 / (x * x);
  return s + Math.log(x) - 0.5 / x - x2 * (1 / 12 - x2 * (1 / 120 - x2 * (1 / 252 - x2 / 240)));
}

/**
 * E ln|1 + hμ + ζ√h ξ| / h by an independent route: (ξ + c)² is noncentral χ²₁(c²), a Poisson(c²/2) mixture
 * of χ²_{1+2j}, and E ln χ²_k = ln 2 + ψ(k/2).
 */
function exponentBySeries(a: number, g: number, h: number): number {
  const s = g * Math.sqrt(h), c = (1 + a * h) / s, lam = (c * c) / 2;
  let sum = 0, weights = 0;
  for (let j = 0; j < lam + 40 * Math.sqrt(lam) + 50; j++) {
    const w = Math.exp(-lam + j * Math.log(lam) - lgammaInt(j + 1));
    sum += w * (Math.LN2 + digamma(0.5 + j));
    weights += w;
  }
  return (Math.log(s) + sum / weights / 2) / h;
}
function lgammaInt(n: number): number { let s = 0; for (let k = 2; k < n; k++) s += Math.log(k); return s; }

describe('the exponent of the Euler–Maruyama scheme (exact, by quadrature)', () => {
  it('matches an independent noncentral-χ² series, and the audit values at dt = 0.0025', () => {
    expect(discreteExponent(mu, 2.5, 0.0025).exponent).toBeCloseTo(-1.6807, 4);
    expect(discreteExponent(mu, 3, 0.0025).exponent).toBeCloseTo(-3.1316, 4);
    for (const [zeta, h] of [[0.5, 0.0025], [1.72, 0.0025], [2.5, 0.0025], [3, 0.0025], [1, 0.02], [2.5, 0.02], [1, 0.1], [3, 0.2]]) {
      expect(discreteExponent(mu, zeta, h).exponent, `ζ=${zeta} h=${h}`).toBeCloseTo(exponentBySeries(mu, zeta, h), 7);
    }
    // h → 0: the continuous exponent μ − ζ²/2 and variance ζ²
    const small = discreteExponent(mu, 2, 1e-7);
    expect(small.exponent).toBeCloseTo(mu - 2, 5);
    expect(small.variance).toBeCloseTo(4, 5);
  });

  it('is the slope of E ln θ² / 2 in the simulation, on both sides of ζ_c (dt = 0.02, where it differs from μ − ζ²/2)', async () => {
    const dt = 0.02, t = 3, steps = t / dt, paths = 4000;
    const noise = [1.0, 1.5, 2.0, 2.5];
    // θ₀ = 1e-6: the cubic term is negligible (θ² ≪ μ), and ln θ² stays clear of the f32 floor 2^-126 until t = 3
    const r = await engine.collapse({ model: 'quartic', params: { mu }, noise, paths, steps, dt, record: [0, steps], epsilon: 1e-30, seed: 81, init: { mean: 1e-6, std: 0 } });
    noise.forEach((zeta, k) => {
      const th = r.theory.points[k];
      const slope = (r.meanLogDistance[k][1] - r.meanLogDistance[k][0]) / 2 / t;
      const se = Math.sqrt(discreteExponent(mu, zeta, dt).variance / (paths * t));
      const tol = 4 * se;
      expect(Math.abs(slope - th.lyapunovEM!), `ζ=${zeta}: slope ${slope} vs lyapunovEM ${th.lyapunovEM}`).toBeLessThan(tol);
      if (zeta >= 2.5) expect(Math.abs(slope - th.lyapunov!), `ζ=${zeta}: the continuous exponent is visibly wrong at this dt`).toBeGreaterThan(tol);
    });
  });
});

describe('P(θ_t² < ε) for the run, at every recorded step, on both sides of ζ_c = √3', () => {
  const check = (r: Awaited<ReturnType<Engine['collapse']>>, slack: number) => {
    r.noise.forEach((zeta, k) => r.record.forEach((step, j) => {
      const p = r.theory.points[k].probability![j]!;
      expect(Math.abs(r.probability[k][j] - p), `ζ=${zeta.toFixed(4)} t=${step * r.dt}: MC ${r.probability[k][j]} vs ${p.toFixed(4)}`)
        .toBeLessThan(slack + 4 * binomialSe(p, r.paths));
    }));
  };

  it('near ζ_c: ζ_c − 0.05, 1.72, ζ_c, ζ_c + 0.05 at t = 25, 50, 100, 200 (Fig. 1 settings)', async () => {
    const noise = [zetaC - 0.05, 1.72, zetaC, zetaC + 0.05];
    const r = await engine.collapse({ model: 'quartic', params: { mu }, noise, paths: 2000, steps: 80_000, dt: 0.0025, record: [10_000, 20_000, 40_000, 80_000], epsilon: 1e-30, seed: 82 });
    // 0.01: the solver's grid error (< 0.002) plus the O(dt) scheme effects away from θ = 0 it leaves out
    check(r, 0.01);
    // below ζ_c the t → ∞ law is reported on its own, not as the finite-time probability
    expect(r.theory.points[1].stationaryProbability).toBeGreaterThan(0.5);
    expect(r.theory.points[1].probability![0]).toBeLessThan(0.01);
  });

  it('away from ζ_c: ζ = 1.2, 1.6, 2.0, 2.4, 2.8 at t = 25, 50, 100', async () => {
    const r = await engine.collapse({ model: 'quartic', params: { mu }, noise: [1.2, 1.6, 2.0, 2.4, 2.8], paths: 2000, steps: 40_000, dt: 0.0025, record: [10_000, 20_000, 40_000], epsilon: 1e-30, seed: 83 });
    check(r, 0.01);
  });
});

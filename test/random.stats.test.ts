import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/index.js';
import { normalCdf } from '../src/sde/special.js';
import { backendsUnderTest } from './helpers/backends.js';

/**
 * Distribution tests of the normals each backend generates, at fixed seeds (deterministic). Tolerances are
 * 4.5 standard errors of each statistic under N(0,1); the KS bound is the 0.1 % critical value 1.95/√n.
 */
const N = 1 << 20;
const engines: Engine[] = [];
afterAll(() => engines.forEach((e) => e.close()));

for (const backend of await backendsUnderTest()) {
  describe(`normals on ${backend}`, () => {
    it.each([1, 20260522])('seed %i: moments and Kolmogorov–Smirnov', async (seed) => {
      const engine = await createEngine({ backend });
      engines.push(engine);
      const z = await engine.random.normal(N, { seed, stream: 3 });
      let s1 = 0, s2 = 0, s3 = 0, s4 = 0;
      for (const v of z) { s1 += v; s2 += v * v; s3 += v * v * v; s4 += v * v * v * v; }
      const mean = s1 / N;
      const variance = s2 / N - mean * mean;
      expect(Math.abs(mean)).toBeLessThan(4.5 / Math.sqrt(N));
      expect(Math.abs(variance - 1)).toBeLessThan(4.5 * Math.sqrt(2 / N));
      expect(Math.abs(s3 / N)).toBeLessThan(4.5 * Math.sqrt(15 / N)); // Var(z³) = 15
      expect(Math.abs(s4 / N - 3)).toBeLessThan(4.5 * Math.sqrt(96 / N)); // Var(z⁴) = 105 − 9
      const sorted = Float64Array.from(z).sort();
      let ks = 0;
      for (let i = 0; i < N; i++) {
        const F = normalCdf(sorted[i]);
        ks = Math.max(ks, Math.abs(F - i / N), Math.abs(F - (i + 1) / N));
      }
      expect(ks).toBeLessThan(1.95 / Math.sqrt(N));
    });

    it('uniforms: mean, variance and KS against U(0,1)', async () => {
      const engine = await createEngine({ backend });
      engines.push(engine);
      const u = await engine.random.uniform(N, { seed: 9 });
      let s1 = 0, s2 = 0;
      for (const v of u) { s1 += v; s2 += v * v; }
      expect(Math.abs(s1 / N - 0.5)).toBeLessThan(4.5 * Math.sqrt(1 / 12 / N));
      expect(Math.abs(s2 / N - s1 * s1 / N / N - 1 / 12)).toBeLessThan(4.5 * Math.sqrt(1 / 180 / N));
      const sorted = Float64Array.from(u).sort();
      let ks = 0;
      for (let i = 0; i < N; i++) ks = Math.max(ks, Math.abs(sorted[i] - i / N), Math.abs(sorted[i] - (i + 1) / N));
      expect(ks).toBeLessThan(1.95 / Math.sqrt(N));
      expect(sorted[0]).toBeGreaterThan(0);
      expect(sorted[N - 1]).toBeLessThan(1);
    });
  });
}

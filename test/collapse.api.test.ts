import { describe, expect, it } from 'vitest';
import { CollapseError, createEngine, defineModel, mergeResults, type CollapseOptions } from '../src/index.js';

const small: CollapseOptions = {
  model: 'quartic', params: { mu: 1.5 }, noise: [0.5, 1.5, 2.2, 2.8], paths: 40, steps: 600, dt: 0.01,
  record: [0, 200, 600], epsilon: 1e-6, seed: 5,
};

async function codeOf(promise: Promise<unknown>): Promise<[string, string]> {
  const e = await promise.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(CollapseError);
  return [(e as CollapseError).code, (e as CollapseError).message];
}

describe('collapse: bad input is a clear INVALID_ARGUMENT', async () => {
  const engine = await createEngine({ backend: 'js' });
  const cases: [string, Partial<Record<keyof CollapseOptions, unknown>>, RegExp][] = [
    ['unknown model', { model: 'quintic' }, /model must be one of 'quartic', 'neuron', 'teacher-student', 'two-neuron'/],
    ['unknown parameter', { params: { nu: 1 } }, /parameter name must be a parameter of model 'quartic' \(mu, zeta\); got "nu"/],
    ['epsilon 0', { epsilon: 0 }, /epsilon must be a finite number > 0; got 0/],
    ['negative dt', { dt: -1 }, /dt must be a finite number > 0/],
    ['fractional paths', { paths: 10.5 }, /paths must be an integer/],
    ['huge paths', { paths: 2 ** 40 }, /paths must be an integer in \[1, 4294967295\]/],
    ['huge steps', { steps: 2 ** 50 }, /steps must be an integer in \[1, 4294967295\]/],
    ['record past steps', { record: [100, 700] }, /record must be steps ≤ steps \(600\); got 700/],
    ['empty noise grid', { noise: [] }, /noise must be a non-empty list of values of 'zeta'/],
    ['negative noise', { noise: [1, -1] }, /noise\[1\] \(a value of 'zeta'\) must be ≥ 0/],
    ['non-numeric noise', { noise: [1, 'x'] }, /noise\[1\].*finite number/],
    ['bad seed', { seed: 0.5 }, /seed must be an integer/],
    ['bad init', { init: { mean: [1, 2] } }, /init.mean must be a finite number or 1 finite numbers/],
    ['bad shard', { shard: { gridStart: 9 } }, /shard.gridStart must be an integer in \[0, 3\]/],
  ];
  it.each(cases)('%s', async (_name, patch, message) => {
    const [code, text] = await codeOf(engine.collapse({ ...small, ...patch } as CollapseOptions));
    expect(code).toBe('INVALID_ARGUMENT');
    expect(text).toMatch(message);
  });
});

describe('collapse: results', () => {
  it('has counts, probabilities with Wilson intervals, moments and theory, shaped [noise][record]', async () => {
    const engine = await createEngine({ backend: 'js' });
    const r = await engine.collapse(small);
    expect(r.collapsed).toHaveLength(4);
    expect(r.collapsed[0]).toHaveLength(3);
    expect(r.record).toEqual([0, 200, 600]);
    expect(r.recordTimes).toEqual([0, 2, 6]);
    expect(r.collapsed.map((row) => row[0])).toEqual([0, 0, 0, 0]); // θ₀ ~ N(0, 4): nothing starts collapsed
    for (let k = 0; k < 4; k++) {
      for (let j = 0; j < 3; j++) {
        expect(r.probability[k][j]).toBe(r.collapsed[k][j] / 40);
        expect(r.lower[k][j]).toBeLessThanOrEqual(r.probability[k][j]);
        expect(r.upper[k][j]).toBeGreaterThanOrEqual(r.probability[k][j]);
      }
    }
    // initial moments are shared across the grid (θ₀ is drawn once per path)
    expect(new Set(r.meanDistance.map((row) => row[0])).size).toBe(1);
    expect(r.theory.threshold).toBeCloseTo(Math.sqrt(3), 12);
    expect(r.theory.points).toHaveLength(4);
    expect(r.theory.points[3].alpha).toBeCloseTo(2.8 ** 2 / 2 - 1.5, 12);
    expect(r.backend).toBe('js');
    expect(r.pathStepsPerSecond).toBeGreaterThan(0);
    engine.close();
  });

  it('sharding by grid and by paths, then merging, gives exactly the unsharded counts', async () => {
    const engine = await createEngine({ backend: 'js' });
    const whole = await engine.collapse(small);
    const parts = await Promise.all([
      engine.collapse({ ...small, shard: { gridStart: 0, gridEnd: 1 } }),
      engine.collapse({ ...small, shard: { gridStart: 1, gridEnd: 4, pathStart: 0, pathEnd: 13 } }),
      engine.collapse({ ...small, shard: { gridStart: 1, gridEnd: 4, pathStart: 13 } }),
    ]);
    const merged = mergeResults([parts[2], parts[0], parts[1]]);
    expect(merged.noise).toEqual(whole.noise);
    expect(merged.paths).toBe(40);
    expect(merged.collapsed).toEqual(whole.collapsed);
    expect(merged.diverged).toEqual(whole.diverged);
    expect(merged.probability).toEqual(whole.probability);
    for (let k = 0; k < 4; k++) for (let j = 0; j < 3; j++) expect(merged.sumLogDistance[k][j]).toBeCloseTo(whole.sumLogDistance[k][j], 8);
    expect(() => mergeResults([parts[0], parts[0]])).toThrow(/paths/);
    engine.close();
  });

  it('reports progress and can be aborted', async () => {
    const engine = await createEngine({ backend: 'js' });
    const seen: number[] = [];
    const r = await engine.collapse({ ...small, onProgress: (p) => seen.push(p.pathStepsDone) });
    expect(seen.at(-1)).toBe(4 * 40 * 600);
    expect(r.paths).toBe(40);
    const controller = new AbortController();
    controller.abort();
    const [code] = await codeOf(engine.collapse({ ...small, signal: controller.signal }));
    expect(code).toBe('ABORTED');
    engine.close();
  });

  it('counts diverged paths separately, never as collapsed', async () => {
    const engine = await createEngine({ backend: 'js' });
    // dt far too large for the cubic drift: every path blows up to ±Inf/NaN
    const r = await engine.collapse({ ...small, noise: [0.1], dt: 5, steps: 50, record: [50], epsilon: 1e30 });
    expect(r.diverged[0][0]).toBe(40);
    expect(r.collapsed[0][0]).toBe(0);
    engine.close();
  });

  it('runs a user-defined model on js and refuses it on native with a clear error', async () => {
    const gbm = defineModel({
      name: 'gbm', state: ['x'], noiseDim: 1, noiseParam: 'sigma', init: { mean: [1], std: [0] },
      params: { a: { default: 0, description: 'drift rate' }, sigma: { default: 1, description: 'volatility', min: 0 } },
      js: { drift: (x, p, out) => { out[0] = p.a * x[0]; }, diffusion: (x, p, _k, out) => { out[0] = p.sigma * x[0]; }, distance: (x) => Math.abs(x[0]) },
    });
    const js = await createEngine({ backend: 'js' });
    // geometric Brownian motion: log|x| has drift a − σ²/2 = −0.5 per unit time
    const r = await js.collapse({ model: gbm, noise: [1], paths: 2000, steps: 200, dt: 0.01, record: [200], epsilon: 1e-9, seed: 2 });
    const slope = r.meanLogDistance[0][0] / 2;
    expect(Math.abs(slope + 0.5)).toBeLessThan(4 * (1 / Math.sqrt(2)) / Math.sqrt(2000) + 0.01);
    const native = await createEngine({ backend: 'native' });
    const [code, message] = await codeOf(native.collapse({ model: gbm, noise: [1], paths: 10, steps: 10, dt: 0.01, epsilon: 1e-9 }));
    expect(code).toBe('BACKEND_UNAVAILABLE');
    expect(message).toMatch(/gbm/);
    js.close();
    native.close();
  });
});

describe('collapse: memory', () => {
  it('stays flat as steps grow: the state is O(paths), nothing is stored per step', async () => {
    const engine = await createEngine({ backend: 'native' });
    const run = (steps: number) => engine.collapse({ model: 'quartic', noise: [1, 2], paths: 20_000, steps, dt: 0.0025, record: [0, steps], epsilon: 1e-30, seed: 3 });
    await run(10);
    const before = process.memoryUsage().rss;
    const r = await run(20_000); // 2000× more steps: per-step storage of the 40 000 paths would be 3.2 GB
    const grown = process.memoryUsage().rss - before;
    expect(r.collapsed[1][1]).toBeGreaterThan(0);
    expect(grown).toBeLessThan(64 * 2 ** 20);
    engine.close();
  });
});

import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, defineModel, mergeResults, type CollapseOptions, type Engine } from '../src/index.js';
import { backendsUnderTest } from './helpers/backends.js';

/** Issue 7, library side: no crash of the host process, no silently wrong answer, typed errors for bad input. */
const dist = new URL('../dist/index.js', import.meta.url).href;
const small: CollapseOptions = { model: 'quartic', params: { mu: 1.5 }, noise: [1, 2.5], paths: 64, steps: 400, dt: 0.01, record: [400], epsilon: 1e-6, seed: 1 };

describe('the host process survives', () => {
  it('terminating a worker thread in the middle of a long native collapse: the worker stops at once, the process exits cleanly', () => {
    const script = `
      import { Worker } from 'node:worker_threads';
      const code = \`
        import { parentPort } from 'node:worker_threads';
        import { createEngine } from ${JSON.stringify(dist)};
        const engine = await createEngine({ backend: 'native' });
        parentPort.postMessage('started');
        await engine.collapse({ model: 'quartic', params: { mu: 1.5 }, noise: [1, 2], paths: 100000, steps: 1000000, dt: 0.001, record: [1000000], epsilon: 1e-6, seed: 1 });
        parentPort.postMessage('finished');
      \`;
      const worker = new Worker(code, { eval: true });
      worker.on('message', (m) => {
        if (m !== 'started') return console.log('unexpected', m);
        setTimeout(async () => {
          const t0 = Date.now();
          await worker.terminate();
          console.log('terminated in', Date.now() - t0, 'ms');
        }, 200);
      });
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.error, 'the process hung').toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/terminated in (\d+) ms/);
    expect(Number(/terminated in (\d+) ms/.exec(run.stdout)![1])).toBeLessThan(5_000);
    expect(run.stderr).not.toMatch(/terminate called|Napi::Error/);
  });
});

for (const backend of await backendsUnderTest()) {
  describe(`${backend}: user code that throws or is wrong rejects the call`, () => {
    let engine: Engine;
    beforeAll(async () => { engine = await createEngine({ backend }); });
    afterAll(() => engine.close());

    it('a throwing onProgress rejects collapse with that error (not an uncaught exception)', async () => {
      const boom = new Error('boom from onProgress');
      const uncaught: unknown[] = [];
      const onUncaught = (e: unknown) => uncaught.push(e);
      process.on('uncaughtException', onUncaught);
      try {
        await expect(engine.collapse({ ...small, paths: 2000, steps: 20_000, record: [20_000], onProgress: () => { throw boom; } })).rejects.toBe(boom);
        await new Promise((r) => setTimeout(r, 200)); // a timer that would rethrow it has had its chance
      } finally {
        process.off('uncaughtException', onUncaught);
      }
      expect(uncaught).toEqual([]);
      // and the engine still works afterwards
      expect((await engine.collapse(small)).collapsed.length).toBe(2);
    });
  });
}

describe('silently wrong answers are refused', () => {
  const ou = (js: Record<string, unknown>) => defineModel({
    name: 'ou', state: ['x'], noiseDim: 1, noiseParam: 'sigma', init: { mean: [1], std: [0] },
    params: { theta: { default: 1, description: 'reversion' }, sigma: { default: 0.5, description: 'noise' } },
    js: { drift: (x: Float64Array, p: Record<string, number>, out: Float64Array) => { out[0] = -p.theta * x[0]; },
      diffusion: (x: Float64Array, p: Record<string, number>, _k: number, out: Float64Array) => { out[0] = p.sigma * x[0]; },
      distance: (x: Float64Array) => Math.abs(x[0]), ...js } as never,
  });
  const run = async (model: ReturnType<typeof defineModel>) => {
    const engine = await createEngine({ backend: 'js' });
    try {
      return await engine.collapse({ model, noise: [0.5], paths: 4, steps: 10, dt: 0.01, epsilon: 1e-3 });
    } finally {
      engine.close();
    }
  };

  it('a custom drift that returns an array instead of filling out', async () => {
    await expect(run(ou({ drift: (x: Float64Array) => [-x[0]] }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/js\.drift must write its result into `out`.*returned an array/) });
  });

  it('a custom distance that is negative (or not a number)', async () => {
    await expect(run(ou({ distance: (x: Float64Array) => x[0] - 10 }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/js\.distance must return a number ≥ 0/) });
    await expect(run(ou({ distance: () => 'far' }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await run(ou({}))).collapsed).toEqual([[0]]); // the well-formed model runs
  });

  it('mergeResults of parts with different init, or of things that are not results', async () => {
    const engine = await createEngine({ backend: 'native' });
    try {
      const a = await engine.collapse({ ...small, shard: { gridEnd: 1 } });
      const b = await engine.collapse({ ...small, shard: { gridStart: 1 }, init: { mean: 0.5, std: 2 } });
      expect(() => mergeResults([a, b])).toThrow(/the same init in every part/);
      expect(() => mergeResults([null as never])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/parts\[0\] must be a result of engine.collapse/) }));
      expect(() => mergeResults([a, {} as never])).toThrow(/parts\[1\]/);
    } finally {
      engine.close();
    }
  });
});

describe('typed errors for malformed options', () => {
  let engine: Engine;
  beforeAll(async () => { engine = await createEngine({ backend: 'js' }); });
  afterAll(() => engine.close());

  it.each([
    ['model "__proto__"', { model: '__proto__' }, /model must be one of 'quartic'/],
    ['model "constructor"', { model: 'constructor' }, /model must be one of/],
    ['onProgress: 42', { onProgress: 42 }, /onProgress must be a function/],
    ['signal: {}', { signal: {} }, /signal must be an AbortSignal/],
    ['a grid past the per-call bound', { noise: new Array(10_001).fill(1) }, /at most 10000 grid points per call/],
  ])('%s', async (_name, bad, message) => {
    const started = performance.now();
    await expect(engine.collapse({ ...small, ...(bad as object) } as CollapseOptions)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('cancellation is prompt on every backend', () => {
  for (const backend of ['js', 'native'] as const) {
    it(`${backend}: an AbortSignal stops a long run within a second`, async () => {
      const engine = await createEngine({ backend });
      try {
        const started = performance.now();
        await expect(engine.collapse({ ...small, paths: 100_000, steps: 100_000, record: [100_000], signal: AbortSignal.timeout(150) }))
          .rejects.toMatchObject({ code: 'ABORTED' });
        expect(performance.now() - started).toBeLessThan(1_150);
      } finally {
        engine.close();
      }
    });
  }
});

describe('a WGSL error in a custom model names the line of the model', async () => {
  const webgpu = (await backendsUnderTest()).includes('webgpu');
  // Skipped only without an adapter (and SC_REQUIRE_WEBGPU unset): the name says so.
  it.runIf(webgpu)(`webgpu${webgpu ? '' : ' [skipped: no WebGPU adapter]'}`, async () => {
    const bad = defineModel({
      name: 'bad', state: ['x'], noiseDim: 1, noiseParam: 'sigma', init: { mean: [1], std: [0] },
      params: { sigma: { default: 0.5, description: 'noise' } },
      wgsl: `fn drift(x: State, p: Params) -> State { return State(-x[0]); }
fn diffusion(x: State, p: Params, k: u32) -> State { return State(p.sigma * x[0] +); }
fn distance(x: State, p: Params) -> f32 { return abs(x[0]); }`,
    });
    const engine = await createEngine({ backend: 'webgpu' });
    try {
      await expect(engine.collapse({ model: bad, noise: [0.5], paths: 4, steps: 10, dt: 0.01, epsilon: 1e-3 }))
        .rejects.toMatchObject({ code: 'SHADER_COMPILE', message: expect.stringMatching(/model 'bad' WGSL line 2:\d+/) });
    } finally {
      engine.close();
    }
  });
});

describe('a sweep over a parameter fixed at build time is refused by the library too', () => {
  it('neuron: m (the data size) cannot be swept; alpha can', async () => {
    const engine = await createEngine({ backend: 'js' });
    try {
      await expect(engine.collapse({ model: 'neuron', sweep: 'm', noise: [4, 8], paths: 2, steps: 2, dt: 0.01, epsilon: 1e-3 }))
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/sweep must be a parameter model 'neuron' varies per grid point \(alpha.*'m' is fixed/) });
      await expect(engine.collapse({ model: 'quartic', noise: [1], paths: 2, steps: 2 ** 32, dt: 0.01, epsilon: 1e-3 }))
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/steps must be an integer in \[1, 4294967295\]/) });
    } finally {
      engine.close();
    }
  });
});

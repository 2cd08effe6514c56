import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsBackend } from '../../src/backends/js.js';
import { matmul } from '../../src/kernels/matmul.js';
import { callKernel } from '../../src/kernels/run.js';
import { createEngine, type Engine } from '../../src/index.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { randomArray } from './cases.js';

const js = new JsBackend();
const f32 = (...v: number[]) => Float32Array.from(v);

describe('matmul reference: hand-checked products', () => {
  it('2×3 · 3×2, and with each operand stored transposed', async () => {
    const a = f32(1, 2, 3, 4, 5, 6); // [[1,2,3],[4,5,6]]
    const b = f32(7, 8, 9, 10, 11, 12); // [[7,8],[9,10],[11,12]]
    const want = [58, 64, 139, 154];
    expect(Array.from((await callKernel(js, matmul, { m: 2, n: 2, k: 3 }, [a, b]))[0])).toEqual(want);
    const aT = f32(1, 4, 2, 5, 3, 6); // A stored 3×2
    const bT = f32(7, 9, 11, 8, 10, 12); // B stored 2×3
    expect(Array.from((await callKernel(js, matmul, { m: 2, n: 2, k: 3, transposeA: true, transposeB: true }, [aT, bT]))[0])).toEqual(want);
  });

  it('accumulates into C, k = 0 gives zeros, and a shared B serves the whole batch', async () => {
    const c = f32(1, 1, 1, 1);
    const [acc] = await callKernel(js, matmul, { m: 2, n: 2, k: 1, accumulate: true }, [f32(1, 2), f32(3, 4)], [c]);
    expect(Array.from(acc)).toEqual([4, 5, 7, 9]);
    expect(Array.from((await callKernel(js, matmul, { m: 2, n: 2, k: 0 }, [f32(), f32()]))[0])).toEqual([0, 0, 0, 0]);
    const [batched] = await callKernel(js, matmul, { m: 1, n: 1, k: 2, batch: 3 }, [f32(1, 0, 0, 1, 1, 1), f32(2, 3)]);
    expect(Array.from(batched)).toEqual([2, 3, 5]);
  });
});

for (const backend of await backendsUnderTest()) {
  describe(`engine.kernels.matmul and the tensor API on ${backend}`, () => {
    let engine: Engine;
    beforeAll(async () => { engine = await createEngine({ backend }); });
    afterAll(() => engine.close());

    it('host arrays in, a Float32Array out', async () => {
      const c = await engine.kernels.matmul({ a: f32(1, 2, 3, 4, 5, 6), b: f32(7, 8, 9, 10, 11, 12), m: 2, n: 2, k: 3 });
      expect(c).toBeInstanceOf(Float32Array);
      expect(Array.from(c)).toEqual([58, 64, 139, 154]);
      expect(engine.memory().tensors).toBe(0);
    });

    it('refuses bad shapes and flags with INVALID_ARGUMENT naming what was expected', async () => {
      await expect(engine.kernels.matmul({ a: new Float32Array(5), b: new Float32Array(6), m: 2, n: 2, k: 3 }))
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/matmul A must be 2×3 \(6 elements\); got "5 elements"/) });
      await expect(engine.kernels.matmul({ a: new Float32Array(6), b: new Float32Array(6), m: 2, n: 2, k: 3, transposeB: 1 as unknown as boolean }))
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/transposeB must be true or false/) });
      await expect(engine.kernels.matmul({ a: [1, 2] as unknown as Float32Array, b: new Float32Array(2), m: 1, n: 1, k: 2 }))
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/matmul a must be a Float32Array/) });
      await expect(engine.kernels.matmul({ a: new Float32Array(2), b: new Float32Array(2), m: 1, n: 1, k: 2, accumulate: true }))
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/matmul c must be a Float32Array/) });
      await expect(engine.kernels.matmul({ a: new Float32Array(2), b: new Float32Array(2), m: -1, n: 1, k: 2 }))
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/matmul m must be an integer/) });
      expect(engine.memory().tensors).toBe(0);
    });

    it('chains runs on resident tensors (a two-layer product) and reads only the end', async () => {
      const [m, k, h, n] = [37, 70, 19, 5];
      const x = randomArray(m * k, 1), w1 = randomArray(k * h, 2), w2 = randomArray(h * n, 3);
      const before = engine.memory();
      const tx = engine.tensor('f32', [m, k], x);
      const t1 = engine.tensor('f32', [k, h], w1);
      const t2 = engine.tensor('f32', [h, n], w2);
      const [hidden] = engine.run('matmul', { m, n: h, k }, [tx, t1]);
      const [out] = engine.run('matmul', { m, n, k: h }, [hidden, t2]);
      expect(out.shape).toEqual([m, n]);
      expect(engine.memory().tensors).toBe(before.tensors + 5);
      expect(engine.memory().bytes).toBe(before.bytes + 4 * (m * k + k * h + h * n + m * h + m * n));
      const got = await engine.read(out);
      const hRef = await engine.kernels.matmul({ a: x, b: w1, m, n: h, k });
      const want = await engine.kernels.matmul({ a: hRef, b: w2, m, n, k: h });
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i])));
      // accumulate into an existing output, then overwrite an input after the run: the run saw the old data
      engine.run('matmul', { m, n, k: h, accumulate: true }, [hidden, t2], [out]);
      engine.write(t2, new Float32Array(h * n));
      const twice = await engine.read(out);
      for (let i = 0; i < want.length; i++) expect(Math.abs(twice[i] - 2 * got[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(got[i])));
      engine.release(tx, t1, t2, hidden, out);
      expect(engine.memory().tensors).toBe(before.tensors);
      expect(engine.memory().bytes).toBe(before.bytes);
      expect(engine.memory().peakBytes).toBeGreaterThanOrEqual(4 * (m * k + k * h + h * n + m * h + m * n));
    });

    it('refuses released tensors, wrong output shapes, aliasing and foreign tensors', async () => {
      const a = engine.tensor('f32', [2, 2], f32(1, 2, 3, 4));
      const wrong = engine.tensor('f32', [3, 2]);
      expect(() => engine.run('matmul', { m: 2, n: 2, k: 2 }, [a, a], [wrong])).toThrow(/output 0 must be a tensor f32\[2, 2\]/);
      expect(() => engine.run('matmul', { m: 2, n: 2, k: 2 }, [a, a], [a])).toThrow(/not also an input/);
      // Shapes are views of flat buffers: an output of the right element count and dtype is taken as it is.
      const flat = engine.tensor('f32', [4]);
      expect(engine.run('matmul', { m: 2, n: 2, k: 2 }, [a, a], [flat])).toEqual([flat]);
      expect(() => engine.run('nope' as 'matmul', { m: 2, n: 2, k: 2 }, [a, a])).toThrow(/kernel must be one of 'matmul', 'philox_fill'/);
      expect(() => engine.tensor('f32', [2, 2], new Float32Array(3))).toThrow(/a Float32Array of 4 elements/);
      expect(() => engine.tensor('f64' as 'f32', [2])).toThrow(/dtype must be one of/);
      const other = await createEngine({ backend: backend === 'js' ? 'native' : 'js' });
      try {
        const foreign = other.tensor('f32', [2, 2]);
        expect(() => engine.run('matmul', { m: 2, n: 2, k: 2 }, [a, foreign])).toThrow(/a tensor of this engine's backend/);
      } finally {
        other.close();
      }
      engine.release(a, wrong);
      expect(() => engine.run('matmul', { m: 2, n: 2, k: 2 }, [a, a])).toThrow(/was released/);
      await expect(engine.read(a)).rejects.toThrow(/was released/);
    });
  });
}

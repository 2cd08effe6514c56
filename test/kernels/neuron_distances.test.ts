import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsBackend } from '../../src/backends/js.js';
import { NativeBackend } from '../../src/backends/native.js';
import { neuronDistances, neuronDistancesCore } from '../../src/kernels/neuron_distances.js';
import { callKernel } from '../../src/kernels/run.js';
import { createEngine, type Engine } from '../../src/index.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { randomArray } from './cases.js';
import { nearDuplicates } from './cases/analysis.js';

const js = new JsBackend();
const f32 = (...v: number[]) => Float32Array.from(v);
const distances = async (vectors: Float32Array, count: number, dim: number, epsilon?: number) =>
  (await callKernel(js, neuronDistances, { count, dim, ...(epsilon === undefined ? {} : { epsilon }) }, [vectors, vectors]))[0] as Float32Array;

/** The truth in f64: the definition evaluated on the f32 inputs, by differences. */
function truth(a: Float32Array, count: number, dim: number): Float64Array {
  const out = new Float64Array(count * count);
  neuronDistancesCore({ count, dim }, a, a, out);
  return out;
}

describe('neuron_distances reference: the definition on hand-checked vectors', () => {
  it('d(a, a) = 0, d(a, −a) = 4, orthogonal equal norms give 2', async () => {
    const d = await distances(f32(1, 2, 3, /**/ -1, -2, -3, /**/ 1, 2, 3, /**/ 3, 0, -1), 4, 3);
    // rows: a, −a, a, b with a·b = 0 and |b|² = 10 ≠ |a|² = 14; then an orthogonal pair of equal norms below
    expect(d[0 * 4 + 2]).toBe(0);
    expect(d[0 * 4 + 1]).toBe(4);
    expect(d[0 * 4 + 3]).toBeCloseTo((2 * (14 + 10)) / (14 + 10), 6); // orthogonal: |a−b|² = |a|² + |b|²
    const e = await distances(f32(3, 4, 0, /**/ 0, 0, 5), 2, 3);
    expect(e[1]).toBe(2);
    expect(Array.from({ length: 4 }, (_, i) => d[i * 5])).toEqual([0, 0, 0, 0]);
  });

  it('scaled copies: d = 2(1 − ρ)²/(1 + ρ²), and d(a, 0) = 2 whatever the scale', async () => {
    for (const rho of [0.5, 0.729, 1, 1.372, 3]) {
      const d = await distances(f32(1, -2, 0.5, rho, -2 * rho, 0.5 * rho), 2, 3);
      expect(d[1]).toBeCloseTo((2 * (1 - rho) ** 2) / (1 + rho ** 2), 6);
    }
    expect((await distances(f32(1e-20, 0, 0, 0), 2, 2))[1]).toBeCloseTo(2, 6);
  });

  it('ε enters the denominator only; with ε = 0 two zero vectors are at distance 0, not NaN', async () => {
    const zero = await distances(f32(0, 0, 0, 0, 1, 1), 3, 2);
    expect(zero[1]).toBe(0);
    expect(zero[2]).toBe(2);
    const withEps = await distances(f32(1, 0, -1, 0), 2, 2, 2);
    expect(withEps[1]).toBeCloseTo((2 * 4) / (1 + 1 + 2), 6);
  });

  it('NaN entries give NaN distances for that row only; dim 0 gives zeros', async () => {
    const d = await distances(f32(1, NaN, 1, 2, 3, 4), 3, 2);
    expect(Number.isNaN(d[1])).toBe(true);
    expect(Number.isNaN(d[3])).toBe(true);
    expect(d[2 * 3 + 1]).toBeGreaterThan(0);
    expect(Array.from(await distances(new Float32Array(0), 3, 0))).toEqual(new Array(9).fill(0));
  });

  it('the cross form gives count × countB and equals the self form on the same rows', async () => {
    const a = randomArray(5 * 7, 1), b = randomArray(3 * 7, 2);
    const [cross] = await callKernel(js, neuronDistances, { count: 5, countB: 3, dim: 7 }, [a, b]);
    expect(cross.length).toBe(15);
    const both = new Float32Array([...a, ...b]);
    const self = await distances(both, 8, 7);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 3; j++) expect(cross[i * 3 + j]).toBe(self[i * 8 + 5 + j]);
  });

  it('the expanded form |a|² + |b|² − 2a·b in f32 loses near-identical pairs; the reference does not', () => {
    const dim = 512, a = nearDuplicates(2, dim, 1e-4, 9);
    const want = truth(a, 2, dim)[1];
    expect(want).toBeGreaterThan(1e-9);
    expect(want).toBeLessThan(1e-7);
    let na = 0, nb = 0, dot = 0;
    for (let k = 0; k < dim; k++) {
      na = Math.fround(na + Math.fround(a[k] * a[k]));
      nb = Math.fround(nb + Math.fround(a[dim + k] * a[dim + k]));
      dot = Math.fround(dot + Math.fround(a[k] * a[dim + k]));
    }
    const expanded = (2 * Math.fround(na + nb - 2 * dot)) / (na + nb);
    expect(Math.abs(expanded - want) / want).toBeGreaterThan(0.5); // noise, possibly negative
  });

  it('refuses bad sizes and parameters, naming what was expected', async () => {
    await expect(callKernel(js, neuronDistances, { count: 2, dim: 3 }, [new Float32Array(5), new Float32Array(5)]))
      .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/neuron_distances A must be count × dim = 2×3 \(6 elements\)/) });
    await expect(callKernel(js, neuronDistances, { count: 2, dim: 3 }, [new Float32Array(6), new Float32Array(3)]))
      .rejects.toMatchObject({ message: expect.stringMatching(/B must be A again/) });
    await expect(callKernel(js, neuronDistances, { count: 2, countB: 2, dim: 3 }, [new Float32Array(6), new Float32Array(3)]))
      .rejects.toMatchObject({ message: expect.stringMatching(/countB × dim = 2×3/) });
    await expect(callKernel(js, neuronDistances, { count: 2, dim: 3, epsilon: -1 }, [new Float32Array(6), new Float32Array(6)]))
      .rejects.toMatchObject({ message: expect.stringMatching(/epsilon must be a finite number ≥ 0/) });
    await expect(callKernel(js, neuronDistances, { count: 1.5, dim: 3 }, [new Float32Array(6), new Float32Array(6)]))
      .rejects.toMatchObject({ message: expect.stringMatching(/count must be an integer/) });
    await expect(callKernel(js, neuronDistances, { count: 2, dim: 3 }, [new Float32Array(6)]))
      .rejects.toMatchObject({ message: expect.stringMatching(/two tensors, A and B/) });
  });
});

describe('neuron_distances native: symmetry and thread-count independence', () => {
  it('the self form is exactly symmetric with a zero diagonal, and bit-identical on 1 and 2 threads', async () => {
    const count = 150, dim = 333; // edges of the 64-pair blocks, the 2 × 4 register block and the 256-entry chunks
    const a = randomArray(count * dim, 5);
    const [one] = await callKernel(NativeBackend.load({ threads: 1 }), neuronDistances, { count, dim }, [a, a]);
    const [two] = await callKernel(NativeBackend.load({ threads: 2 }), neuronDistances, { count, dim }, [a, a]);
    expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    for (let i = 0; i < count; i++) {
      expect(one[i * count + i]).toBe(0);
      for (let j = 0; j < i; j++) if (one[i * count + j] !== one[j * count + i]) throw new Error(`asymmetric at ${i}, ${j}`);
    }
  });
});

for (const backend of await backendsUnderTest()) {
  describe(`engine.kernels.neuronDistances on ${backend}`, () => {
    let engine: Engine;
    beforeAll(async () => { engine = await createEngine({ backend }); });
    afterAll(() => engine.close());

    it('host arrays in, a count × count Float32Array out; the cross form with others', async () => {
      const d = await engine.kernels.neuronDistances({ vectors: f32(1, 2, -1, -2, 2, 4), count: 3, dim: 2 });
      expect(d).toBeInstanceOf(Float32Array);
      expect(Array.from(d)).toEqual([0, 4, (2 * 5) / 25, 4, 0, 2 * 45 / 25, (2 * 5) / 25, 2 * 45 / 25, 0].map(Math.fround));
      const c = await engine.kernels.neuronDistances({ vectors: f32(1, 0), count: 1, dim: 2, others: f32(0, 1, 1, 0, -1, 0), otherCount: 3 });
      expect(Array.from(c)).toEqual([2, 0, 4]);
      expect(engine.memory().tensors).toBe(0);
    });

    it('near-identical neurons (d from 1e-4 down to 1e-12) keep their relative accuracy', async () => {
      for (const scale of [1e-2, 1e-4, 1e-6]) {
        const count = 70, dim = 700;
        const a = nearDuplicates(count, dim, scale, 11);
        const got = await engine.kernels.neuronDistances({ vectors: a, count, dim });
        const want = truth(a, count, dim);
        let worst = 0;
        for (let i = 0; i < count * count; i++) if (want[i] > 0) worst = Math.max(worst, Math.abs(got[i] - want[i]) / want[i]);
        // (2·dim + 10)·2^-24 ≈ 8e-5 is the worst case of the f32 sums; in practice a few ulps (native) to ~50 (webgpu).
        expect(worst).toBeLessThan((2 * dim + 10) * 2 ** -24);
        expect(Math.min(...Array.from(want).filter((x) => x > 0))).toBeLessThan(scale * scale * 2);
      }
    });

    it('refuses others without otherCount and otherCount without others', async () => {
      await expect(engine.kernels.neuronDistances({ vectors: f32(1, 2), count: 1, dim: 2, others: f32(1, 2) }))
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/otherCount must be the number of vectors in others/) });
      await expect(engine.kernels.neuronDistances({ vectors: f32(1, 2), count: 1, dim: 2, otherCount: 1 }))
        .rejects.toMatchObject({ message: expect.stringMatching(/otherCount must be absent unless others is given/) });
      await expect(engine.kernels.neuronDistances({ vectors: [1, 2] as unknown as Float32Array, count: 1, dim: 2 }))
        .rejects.toMatchObject({ message: expect.stringMatching(/vectors must be a Float32Array/) });
    });
  });
}

describe('neuron_distances native: both instruction-set families', () => {
  // The addon picks the AVX-512 family at run time where the processor has it; SC_NATIVE_AVX512=0 forces the AVX2
  // family. Each is run in a child process (the choice is made once per process) on edges of both register blocks.
  const count = 45, dim = 1031;
  const a = nearDuplicates(count, dim, 1e-3, 21);
  const want = (() => { const o = new Float64Array(count * count); neuronDistancesCore({ count, dim }, a, a, o); return o; })();
  const script = `
    const addon = require(${JSON.stringify(`${process.cwd()}/build/Release/stochastic_collapse.node`)});
    const bytes = require('node:fs').readFileSync(0);
    const a = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const out = new Float32Array(${count * count});
    addon.run('neuron_distances', '', Float64Array.of(${count}, ${count}, ${dim}, 1, 0, 0, 0, 0), [a, a, out], 2, null, false);
    process.stdout.write(Buffer.from(out.buffer).toString('base64'));`;
  for (const family of ['0', '1']) {
    it(`SC_NATIVE_AVX512=${family}: within the f32 bound of the f64 truth, relative to each distance`, () => {
      const run = spawnSync(process.execPath, ['-e', script], { input: Buffer.from(a.buffer), encoding: 'utf8', env: { ...process.env, SC_NATIVE_AVX512: family } });
      expect(run.status, run.stderr).toBe(0);
      const got = new Float32Array(Buffer.from(run.stdout, 'base64').buffer.slice(0));
      let worst = 0;
      for (let i = 0; i < count * count; i++) worst = Math.max(worst, want[i] === 0 ? Math.abs(got[i]) : Math.abs(got[i] - want[i]) / want[i]);
      expect(worst).toBeLessThan((2 * dim + 10) * 2 ** -24);
    });
  }
});

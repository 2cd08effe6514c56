import { describe, expect, it } from 'vitest';
import { NativeBackend } from '../src/backends/native.js';
import { drawInto } from '../src/kernels/philox_fill.js';
import { fillDraws, type Distribution } from '../src/rng/philox.js';
import { cpuHasAvx512, f64, families, runInChild, type ChildCall } from './helpers/isa-child.js';

const backend = NativeBackend.load();

function jsDraws(kind: Distribution, n: number, seed: number, stream: number, offset: number): Uint32Array | Float32Array {
  const out = kind === 'uint32' ? new Uint32Array(n) : new Float32Array(n);
  fillDraws(kind, out, seed, stream, offset);
  return out;
}

async function nativeDraws(kind: Distribution, n: number, seed: number, stream: number, offset: number, b = backend): Promise<Uint32Array | Float32Array> {
  const out = kind === 'uint32' ? new Uint32Array(n) : new Float32Array(n);
  await drawInto(b, kind, out, seed, stream, offset);
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// (seed, stream, offset, length): aligned and unaligned offsets and lengths, big seeds, 64-bit block carry.
const CASES: [number, number, number, number][] = [
  [0, 0, 0, 0], [0, 0, 0, 1], [1, 0, 0, 4], [1, 0, 1, 3], [1, 0, 2, 7], [1, 0, 3, 9], [7, 1, 0, 1000],
  [0xffffffff, 0xffffffff, 5, 333], [123456789, 2, 1_000_003, 517], [42, 7, 2 ** 34 - 6, 23], // blockLo carries into blockHi
  [42, 3, 4 * (2 ** 32 - 2) + 1, 19], [9, 9, 2 ** 52 + 1, 11], [3, 0, 0, 70_001], // 70 001: the threaded path
];

describe('native random: equal to the js reference (src/rng/philox.ts)', () => {
  it('u32 streams are bit-identical', async () => {
    for (const [seed, stream, offset, n] of CASES) {
      const expected = jsDraws('uint32', n, seed, stream, offset);
      const got = await nativeDraws('uint32', n, seed, stream, offset);
      expect(Array.from(got), `seed ${seed} stream ${stream} offset ${offset} n ${n}`).toEqual(Array.from(expected));
    }
  });

  it('uniforms are bit-identical and inside (0, 1)', async () => {
    for (const [seed, stream, offset, n] of CASES) {
      const expected = jsDraws('uniform', n, seed, stream, offset);
      const got = await nativeDraws('uniform', n, seed, stream, offset);
      expect(Array.from(got)).toEqual(Array.from(expected));
      expect(got.every((u) => u > 0 && u < 1)).toBe(true);
    }
  });

  it('normals agree with the f64 Box–Muller to 2e-6 absolute (the bound 3e-7 max(1, r) plus the reference\'s f32 rounding)', async () => {
    for (const [seed, stream, offset, n] of CASES) {
      const expected = jsDraws('normal', n, seed, stream, offset);
      const got = await nativeDraws('normal', n, seed, stream, offset);
      expect(maxAbsDiff(got, expected), `seed ${seed} offset ${offset}`).toBeLessThan(2e-6);
    }
  });

  it('normals stay accurate in the tails (u near 0 and 1) over a million draws', async () => {
    const n = 1 << 20;
    const expected = jsDraws('normal', n, 2024, 5, 12345);
    const got = await nativeDraws('normal', n, 2024, 5, 12345);
    expect(maxAbsDiff(got, expected)).toBeLessThan(2e-6);
    let mean = 0, sq = 0;
    for (const z of got) { mean += z; sq += z * z; }
    mean /= n; sq /= n;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(sq - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  it('chunked calls with offsets equal one call', async () => {
    for (const kind of ['uint32', 'uniform', 'normal'] as const) {
      const whole = await nativeDraws(kind, 200_003, 11, 3, 7);
      const cuts = [0, 1, 6, 4097, 65_536, 70_001, 131_073, 200_003];
      const parts = kind === 'uint32' ? new Uint32Array(200_003) : new Float32Array(200_003);
      for (let i = 0; i + 1 < cuts.length; i++) {
        const part = parts.subarray(cuts[i], cuts[i + 1]);
        await drawInto(backend, kind, part, 11, 3, 7 + cuts[i]);
      }
      expect(Buffer.from(parts.buffer).equals(Buffer.from(whole.buffer)), kind).toBe(true);
    }
  });

  it('thread counts 1, 2 and 3 give identical arrays', async () => {
    const backends = [1, 2, 3].map((threads) => NativeBackend.load({ threads }));
    for (const kind of ['uint32', 'normal'] as const) {
      const outs = await Promise.all(backends.map((b) => nativeDraws(kind, 1_000_001, 5, 1, 3, b)));
      for (const o of outs.slice(1)) expect(Buffer.from(o.buffer).equals(Buffer.from(outs[0].buffer))).toBe(true);
    }
  });

  it('reports its device and thread count', () => {
    const b = NativeBackend.load({ threads: 3 });
    expect(b.info.name).toBe('native');
    expect(b.info.threads).toBe(3);
    expect(b.info.device).toMatch(/3 threads$/);
    expect(() => NativeBackend.load({ threads: 0 })).toThrow(/threads/);
  });

  it('rejects a mismatched array type with an INVALID_ARGUMENT naming the expected array', async () => {
    await expect(drawInto(backend, 'normal', new Uint32Array(4) as unknown as Float32Array, 1, 0, 0)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/Float32Array/) });
  });
});

/**
 * The SIMD core of native/sde_simd.h (engine.random.normal and em_collapse) in both families, through the
 * sde_probe kernel (native/sde_probe.cc): the normals of 10^8 draws against the f64 Box–Muller of
 * src/rng/philox.ts on the same u32s, tails included, and bit-identical to the scalar box_muller of the
 * scalar Philox words (so the SIMD Philox words are the reference's); the SDE addressing (counter word c2 =
 * path) across the block counter's carry into its high word and the path word's wrap at 2^32.
 */
describe('native SIMD normals, both families (AVX-512 where present, AVX2 forced)', () => {
  const probe = (fields: number[], length: number, threads = 2): ChildCall => ({ kernel: 'sde_probe', fields, arrays: [{ type: 'f64', length }], threads });
  const N = 100_000_000;
  const calls = [
    probe([1, N, 0, 1, 0], 7),                           // draws 0 .. 1e8 - 1 of key (1, 0)
    probe([1, 1 << 18, 2 ** 32 - (1 << 14), 0xffffffff, 7], 7), // across the block carry
    probe([2, 64, 2 ** 32 - 32, 0xfffffff0, 3], 2),    // paths wrap at 2^32, blocks carry
    probe([2, 16, 12345, 100, 0], 2),
  ];
  const wantAvx512 = cpuHasAvx512();
  for (const fam of families) {
    it(`${fam.name}: within 3e-7 max(1, r) of f64 over 1e8 draws, bit-identical to the scalar path`, () => {
      if (fam.name === 'default' && !wantAvx512) return; // the AVX2 run below is the same family
      const { results } = runInChild(calls, fam.env);
      const [all, carry, paths, paths0] = results.map((r) => f64(r[0]));
      const width = fam.name === 'default' ? 16 : 8;
      for (const s of [all, carry]) {
        expect(s[6], 'family width').toBe(width);
        expect(s[4], 'SIMD bits differing from the scalar Box–Muller of the scalar Philox words').toBe(0);
        expect(s[5], 'max (|dz| - 3e-7 max(1, r))').toBeLessThanOrEqual(0);
        expect(s[0], 'max |dz|').toBeLessThan(1.8e-6);
      }
      expect(all[2], 'largest |z| reached (the tail)').toBeGreaterThan(5.3);
      expect(all[3], 'draws with |z| > 5').toBeGreaterThan(10);
      expect(paths[0], 'SDE-addressed normals differing from the scalar path').toBe(0);
      expect(paths0[0]).toBe(0);
      expect(paths[1]).toBe(width);
    }, 120_000);
  }
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebgpuBackend } from '../src/backends/webgpu.js';
import { CollapseError } from '../src/errors.js';
import { drawInto } from '../src/kernels/philox_fill.js';
import { fillDraws, type Distribution } from '../src/rng/philox.js';
import { describeWebgpu, openBackend } from './helpers/webgpu.js';

type Out = Uint32Array | Float32Array;
const make = (kind: Distribution, n: number): Out => (kind === 'uint32' ? new Uint32Array(n) : new Float32Array(n));

function reference(kind: Distribution, n: number, seed: number, stream: number, offset: number): Out {
  const out = make(kind, n);
  fillDraws(kind, out, seed, stream, offset);
  return out;
}

/** u32 and uniform: bit-identical; normal: within 2e-5 absolute (GPU transcendentals). */
function expectMatches(kind: Distribution, got: Out, want: Out, label: string): void {
  expect(got.length, label).toBe(want.length);
  if (kind === 'normal') {
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    expect(worst, `${label}: max |gpu - js|`).toBeLessThanOrEqual(2e-5);
    expect(got.every(Number.isFinite), label).toBe(true);
  } else {
    const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
    const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
    let firstDiff = -1;
    for (let i = 0; i < a.length && firstDiff < 0; i++) if (a[i] !== b[i]) firstDiff = i;
    expect(firstDiff, `${label}: first differing index`).toBe(-1);
  }
}

// Offsets include unaligned ones and block indices just below 2^32 (the counter's low word carries)
// and far beyond it.
const CARRY = 4 * 0xffff_fffe + 1;
const CASES: [seed: number, stream: number, offset: number, n: number][] = [
  [0, 0, 0, 0], [0, 0, 0, 1], [1, 0, 0, 63], [1, 0, 0, 64], [1, 0, 0, 65], [42, 7, 3, 255], [42, 7, 1, 256],
  [0xffffffff, 0xffffffff, 2, 257], [12345, 2, 5, 1000], [9, 1, CARRY, 23], [9, 1, CARRY - 2, 1031],
  [3, 0, 4 * 0xffff_ffff, 9], [77, 5, 2 ** 40 + 3, 130], [5, 3, 2 ** 52 + 1, 17],
];

describeWebgpu('webgpu random (shaders/random.wgsl) against src/rng/philox.ts', () => {
  let gpu: WebgpuBackend;
  beforeAll(async () => { gpu = await openBackend(); });
  afterAll(() => gpu?.close());

  for (const kind of ['uint32', 'uniform', 'normal'] as const) {
    it(`${kind}: many (seed, stream, offset, length), incl. unaligned and a 2^32-block carry`, async () => {
      for (const [seed, stream, offset, n] of CASES) {
        const got = make(kind, n);
        await drawInto(gpu, kind, got, seed, stream, offset);
        expectMatches(kind, got, reference(kind, n, seed, stream, offset), `${kind} seed=${seed} stream=${stream} offset=${offset} n=${n}`);
      }
    });
  }

  it('every offset 0..7 × length 1..9 (u32)', async () => {
    for (let offset = 0; offset < 8; offset++) {
      for (let n = 1; n <= 9; n++) {
        const got = new Uint32Array(n);
        await drawInto(gpu, 'uint32', got, 11, 4, offset);
        expectMatches('uint32', got, reference('uint32', n, 11, 4, offset), `offset=${offset} n=${n}`);
      }
    }
  });

  it('writes into a subarray view without touching its neighbours', async () => {
    const whole = new Float32Array(40).fill(-1);
    await drawInto(gpu, 'uniform', whole.subarray(3, 33), 8, 0, 6);
    expect(Array.from(whole.subarray(0, 3))).toEqual([-1, -1, -1]);
    expect(Array.from(whole.subarray(33))).toEqual(new Array(7).fill(-1));
    expectMatches('uniform', whole.subarray(3, 33), reference('uniform', 30, 8, 0, 6), 'subarray');
  });

  it('chunked calls equal one call, for every split point', async () => {
    const n = 203;
    const whole = new Uint32Array(n);
    await drawInto(gpu, 'uint32', whole, 21, 1, 2);
    for (const cut of [1, 2, 3, 4, 5, 64, 101, 202]) {
      const a = new Uint32Array(cut);
      const b = new Uint32Array(n - cut);
      await drawInto(gpu, 'uint32', a, 21, 1, 2);
      await drawInto(gpu, 'uint32', b, 21, 1, 2 + cut);
      expect([...a, ...b], `cut at ${cut}`).toEqual(Array.from(whole));
    }
  });

  it('tiles past the storage binding size and splits past the workgroup-count limit (2-D dispatch): same draws', async () => {
    // 1 KiB bindings → 256-draw tiles; at most 2 workgroups per dimension → (x, y) dispatches with idle groups.
    const small = await openBackend({ limits: { maxStorageBufferBindingSize: 1024, maxComputeWorkgroupsPerDimension: 2 } });
    const twoD = await openBackend({ limits: { maxComputeWorkgroupsPerDimension: 3 } });
    // One workgroup per dimension: tiles of at most 64 blocks, each a single workgroup.
    const oneGroup = await openBackend({ limits: { maxComputeWorkgroupsPerDimension: 1 } });
    try {
      expect(small.context.limits.maxStorageBufferBindingSize).toBe(1024);
      expect(small.context.dispatchShape(4)).toEqual([2, 2]);
      expect(twoD.context.dispatchShape(4)).toEqual([2, 2]);
      expect(twoD.context.dispatchShape(7)).toEqual([3, 3]);
      expect(() => twoD.context.dispatchShape(10)).toThrow(CollapseError);
      for (const kind of ['uint32', 'uniform', 'normal'] as const) {
        for (const [offset, n] of [[0, 1700], [3, 1001], [CARRY, 700]] as const) {
          const want = reference(kind, n, 99, 2, offset);
          for (const [name, backend] of [['tiled', small], ['2-D', twoD], ['one group', oneGroup]] as const) {
            const got = make(kind, n);
            await drawInto(backend, kind, got, 99, 2, offset);
            expectMatches(kind, got, want, `${name} ${kind} offset=${offset} n=${n}`);
          }
        }
      }
    } finally {
      small.close();
      twoD.close();
      oneGroup.close();
    }
  });

  it('several contexts at once give the same draws', async () => {
    const others = await Promise.all([openBackend(), openBackend()]);
    try {
      const outs = [new Float32Array(777), new Float32Array(777), new Float32Array(777)];
      await Promise.all([gpu, ...others].map((b, i) => drawInto(b, 'normal', outs[i], 5, 0, 1)));
      expect(Array.from(outs[1])).toEqual(Array.from(outs[0]));
      expect(Array.from(outs[2])).toEqual(Array.from(outs[0]));
    } finally {
      for (const b of others) b.close();
    }
  });

  it('a shader compile error becomes CollapseError SHADER_COMPILE naming the kernel and line', async () => {
    const code = '@compute @workgroup_size(1)\nfn main() {\n  let x: u32 = 1.5;\n}\n';
    const error = await gpu.context.pipeline('broken_kernel', code).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CollapseError);
    expect((error as CollapseError).code).toBe('SHADER_COMPILE');
    expect((error as CollapseError).message).toMatch(/^broken_kernel: line 3:\d+: /);
    expect((error as CollapseError).details.kernel).toBe('broken_kernel');
    // The context stays usable after a failed compile.
    const ok = new Uint32Array(5);
    await drawInto(gpu, 'uint32', ok, 1, 1, 1);
    expectMatches('uint32', ok, reference('uint32', 5, 1, 1, 1), 'after error');
  });

  it('reports its adapter and refuses use after close', async () => {
    const b = await openBackend();
    expect(b.info.name).toBe('webgpu');
    expect(b.info.device).toContain(b.adapterInfo.architecture);
    expect(typeof b.isSoftware).toBe('boolean');
    expect(b.maxStatesPerJob).toBeGreaterThan(1 << 20);
    b.close();
    b.close();
    await expect(drawInto(b, 'uint32', new Uint32Array(4), 1, 1, 0)).rejects.toMatchObject({ code: 'ENGINE_CLOSED' });
  });
});

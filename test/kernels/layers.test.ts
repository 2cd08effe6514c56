/**
 * The layer kernels (activation_forward/backward, maxpool2d_forward/backward, global_avgpool_forward/backward,
 * add): hand-checked values of the references, f64 finite-difference checks of every backward through the
 * reference cores, special values (NaN, ±∞, −0) on every backend, thread-count independence of native, and the
 * validation errors. Sizes and rounding against js are in the conformance table (test/kernels/cases/layers.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, BackendName } from '../../src/backends/types.js';
import { JsBackend } from '../../src/backends/js.js';
import { NativeBackend } from '../../src/backends/native.js';
import {
  activationBackward, activationBackwardCore, activationForward, activationForwardCore, activations, derivatives, erf, erfc,
  type ActivationKind,
} from '../../src/kernels/activation.js';
import { add } from '../../src/kernels/add.js';
import { globalAvgpoolBackward, globalAvgpoolBackwardCore, globalAvgpoolForward, globalAvgpoolForwardCore } from '../../src/kernels/global_avgpool.js';
import { maxpool2dBackward, maxpool2dBackwardCore, maxpool2dForward, maxpool2dForwardCore, poolGeometry, type Maxpool2dParams } from '../../src/kernels/maxpool2d.js';
import { callKernel } from '../../src/kernels/run.js';
import type { HostArray, KernelSpec } from '../../src/kernels/types.js';
import { createEngine } from '../../src/index.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { describeWebgpu, openBackend } from '../helpers/webgpu.js';
import { randomArray } from './cases.js';

const js = new JsBackend();
const f32 = (...v: number[]) => Float32Array.from(v);
const relClose = (got: number, want: number, rel: number) => expect(Math.abs(got - want), `${got} vs ${want}`).toBeLessThanOrEqual(rel * Math.abs(want));

describe('f64 erf, erfc and the activations: hand-checked values (mpmath, 30 digits)', () => {
  it('erf and erfc across the series / continued-fraction switch at 1 and into the tail', () => {
    const erfs: [number, number][] = [[0.5, 0.52049987781304654], [0.9999, 0.84265927804875948], [1, 0.84270079294971487], [2, 0.99532226501895273],
      [2.4999, 0.99959283009966655], [2.5, 0.99959304798255504], [3, 0.99997790950300141]];
    for (const [x, want] of erfs) { relClose(erf(x), want, 2e-15); relClose(erf(-x), -want, 2e-15); }
    const erfcs: [number, number][] = [[-1, 1.8427007929497149], [0.1, 0.8875370839817151], [0.9999, 0.15734072195124052], [1, 0.15729920705028513], [2.5, 4.0695201744495894e-4],
      [3, 2.2090496998585441e-5], [5, 1.5374597944280349e-12], [10, 2.0884875837625448e-45], [26, 5.6631924088561428e-296]];
    for (const [x, want] of erfcs) relClose(erfc(x), want, 1e-14);
    expect(erf(0)).toBe(0);
    expect(erf(Infinity)).toBe(1);
    expect(erfc(Infinity)).toBe(0);
    expect(erfc(-Infinity)).toBe(2);
    expect(erf(NaN)).toBeNaN();
  });

  it('gelu, gelu\', tanh and tanh\' at hand-picked points', () => {
    relClose(activations.gelu(1), 0.8413447460685429, 1e-15);
    relClose(activations.gelu(-1), -0.15865525393145707, 1e-15);
    relClose(activations.gelu(3), 2.9959503059051097, 1e-15);
    relClose(activations.gelu(-3), -0.0040496940948902836, 5e-15);
    relClose(activations.gelu(-10), -7.6198530241605261e-23, 1e-13); // the tail keeps its relative accuracy (erfc)
    relClose(derivatives.gelu(1), 1.0833154705876863, 1e-15);
    relClose(derivatives.gelu(-1), -0.083315470587686298, 1e-14);
    relClose(derivatives.gelu(-10), -7.6184000964648141e-22, 1e-13);
    relClose(activations.tanh(0.5), 0.46211715726000976, 1e-15);
    relClose(derivatives.tanh(0.5), 0.78644773296592741, 1e-15);
    relClose(derivatives.tanh(-2), 0.070650824853164466, 1e-15);
    expect([-1, 0, 2].map(activations.relu)).toEqual([0, 0, 2]);
    expect([-1, 0, 2].map(derivatives.relu)).toEqual([0, 0, 1]);
  });
});

/** The 4×4 plane of the maxpool hand checks (the bottom-right 2×2 window holds a tie of 7s). */
const PLANE = f32(
  1, 3, 2, 0,
  5, 4, 4, 1,
  0, 2, 7, 7,
  6, 1, 3, 7,
);
const one = (p: Omit<Maxpool2dParams, 'batch' | 'channels'>): Maxpool2dParams => ({ batch: 1, channels: 1, ...p });

describe('maxpool2d and global_avgpool references: hand-checked (the same as torch 1.13)', () => {
  it('k=2 s=2 on a 4×4 plane: maxima, argmax (h·W + w), the first of tied maxima', async () => {
    const [y, argmax] = await callKernel(js, maxpool2dForward, one({ height: 4, width: 4, kernel: 2 }), [PLANE]);
    expect(Array.from(y)).toEqual([5, 4, 6, 7]);
    expect(argmax).toBeInstanceOf(Int32Array);
    expect(Array.from(argmax)).toEqual([4, 6, 12, 10]);
  });

  it('k=3 s=2 p=1: clipped windows, ties, and the backward scatter', async () => {
    const p = one({ height: 4, width: 4, kernel: 3, stride: 2, padding: 1 });
    const [y, argmax] = await callKernel(js, maxpool2dForward, p, [PLANE]);
    expect(Array.from(y)).toEqual([5, 4, 6, 7]);
    expect(Array.from(argmax)).toEqual([4, 5, 12, 10]);
    const [gradX] = await callKernel(js, maxpool2dBackward, p, [f32(1, 2, 3, 4), argmax]);
    expect(Array.from(gradX)).toEqual([0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 4, 0, 3, 0, 0, 0]);
  });

  it('overlapping windows that share an argmax sum their gradients (k=3 s=1 p=1)', async () => {
    const p = one({ height: 3, width: 3, kernel: 3, stride: 1, padding: 1 });
    const [, argmax] = await callKernel(js, maxpool2dForward, p, [f32(0, 0, 0, 0, 9, 0, 0, 0, 0)]);
    expect(Array.from(argmax)).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 4]);
    const [gradX] = await callKernel(js, maxpool2dBackward, p, [f32(1, 2, 3, 4, 5, 6, 7, 8, 9), argmax]);
    expect(Array.from(gradX)).toEqual([0, 0, 0, 0, 45, 0, 0, 0, 0]);
  });

  it('global average: means of two 2×2 planes, and the gradient spread over them', async () => {
    const p = { batch: 1, channels: 2, height: 2, width: 2 };
    const [y] = await callKernel(js, globalAvgpoolForward, p, [f32(1, 2, 3, 4, 5, 6, 7, 8)]);
    expect(Array.from(y)).toEqual([2.5, 6.5]);
    const [gradX] = await callKernel(js, globalAvgpoolBackward, p, [f32(4, 8)]);
    expect(Array.from(gradX)).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
  });

  it('add', async () => {
    const [y] = await callKernel(js, add, {}, [f32(1, 2, 0.5), f32(3, -4, 0.25)]);
    expect(Array.from(y)).toEqual([4, -2, 0.75]);
  });
});

/**
 * Central differences in f64 of L(x) = Σ gradY · forward(x) through the reference cores, against the backward
 * core on the same f64 arrays: |analytic − fd| ≤ 1e-6 (|analytic| + 1e-3).
 */
function checkGradient(n: number, forward: (x: Float64Array) => Float64Array, backward: (x: Float64Array, gy: Float64Array) => Float64Array,
  x: Float64Array, gradY: Float64Array): void {
  const loss = (v: Float64Array) => forward(v).reduce((s, y, i) => s + gradY[i] * y, 0);
  const analytic = backward(x, gradY);
  const h = 1e-6;
  for (let i = 0; i < n; i++) {
    const plus = x.slice(), minus = x.slice();
    plus[i] += h;
    minus[i] -= h;
    const fd = (loss(plus) - loss(minus)) / (2 * h);
    expect(Math.abs(analytic[i] - fd), `element ${i}: ${analytic[i]} vs ${fd}`).toBeLessThanOrEqual(1e-6 * (Math.abs(analytic[i]) + 1e-3));
  }
}

const f64Random = (n: number, seed: number, scale = 1) => Float64Array.from(randomArray(n, seed), (v) => v * scale);

describe('finite-difference gradient checks (f64, through the reference cores)', () => {
  it.each(['relu', 'gelu', 'tanh'] as const)('activation_backward %s', (kind: ActivationKind) => {
    const n = 40;
    // relu: keep away from the kink at 0, where the finite difference straddles it.
    const x = f64Random(n, 11, 4).map((v) => (kind === 'relu' && Math.abs(v) < 1e-3 ? v + 0.01 : v));
    const forward = (v: Float64Array) => { const y = new Float64Array(n); activationForwardCore(kind, v, y, n); return y; };
    const backward = (v: Float64Array, gy: Float64Array) => { const g = new Float64Array(n); activationBackwardCore(kind, v, gy, g, n); return g; };
    checkGradient(n, forward, backward, x, f64Random(n, 12));
    // the f64 erf's switch at |x|/√2 = 1 (and the f32 kernels' erf branch point), the tails
    const edges = Float64Array.from([0.3, -0.3, Math.SQRT2, -Math.SQRT2, Math.SQRT2 + 1e-5, -Math.SQRT2 + 1e-5, 5.6, -5.6, 9, -9]);
    const m = edges.length;
    checkGradient(m, (v) => { const y = new Float64Array(m); activationForwardCore(kind, v, y, m); return y; },
      (v, gy) => { const g = new Float64Array(m); activationBackwardCore(kind, v, gy, g, m); return g; }, edges, f64Random(m, 13));
  });

  it.each([
    ['k2 s2 4×6', { batch: 2, channels: 2, height: 4, width: 6, kernel: 2 }],
    ['k3 s2 p1 5×7', { batch: 1, channels: 2, height: 5, width: 7, kernel: 3, stride: 2, padding: 1 }],
    ['k3 s1 p1 overlapping 4×5', { batch: 1, channels: 1, height: 4, width: 5, kernel: 3, stride: 1, padding: 1 }],
  ] as [string, Maxpool2dParams][])('maxpool2d_backward %s', (_label, p) => {
    const g = poolGeometry('maxpool2d', p);
    const n = g.planes * g.height * g.width, m = g.planes * g.outH * g.outW;
    // Distinct values (random, well separated compared to h): the argmax does not move under ±h.
    const x = f64Random(n, 21);
    const argmax = new Float64Array(m);
    maxpool2dForwardCore(g, x, new Float64Array(m), argmax);
    const forward = (v: Float64Array) => { const y = new Float64Array(m); maxpool2dForwardCore(g, v, y, new Float64Array(m)); return y; };
    const backward = (_v: Float64Array, gy: Float64Array) => { const gx = new Float64Array(n); maxpool2dBackwardCore(g, gy, argmax, gx); return gx; };
    checkGradient(n, forward, backward, x, f64Random(m, 22));
  });

  it('global_avgpool_backward', () => {
    const planes = 6, plane = 15;
    const forward = (v: Float64Array) => { const y = new Float64Array(planes); globalAvgpoolForwardCore(planes, plane, v, y); return y; };
    const backward = (_v: Float64Array, gy: Float64Array) => { const gx = new Float64Array(planes * plane); globalAvgpoolBackwardCore(planes, plane, gy, gx); return gx; };
    checkGradient(planes * plane, forward, backward, f64Random(planes * plane, 31), f64Random(planes, 32));
  });
});

async function open(name: BackendName): Promise<Backend> {
  if (name === 'js') return new JsBackend();
  if (name === 'native') return NativeBackend.load();
  return openBackend();
}

const same = (got: HostArray, want: readonly number[]) => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(Object.is(got[i], w) || (Number.isNaN(w) && Number.isNaN(got[i])), `[${i}]: ${got[i]} vs ${w}`).toBe(true));
};

for (const name of await backendsUnderTest()) {
  describe(`special values on ${name} (PyTorch 1.13's results)`, () => {
    let backend: Backend;
    beforeAll(async () => { backend = await open(name); });
    afterAll(() => backend?.close());
    const run = <P>(kernel: KernelSpec<P>, p: P, inputs: HostArray[]) => callKernel(backend, kernel, p, inputs);

    it('relu passes NaN and −0, clamps −∞; its gradient is 0 at 0 and passes gradY at NaN', async () => {
      same((await run(activationForward, { kind: 'relu' }, [f32(NaN, -0, -Infinity, Infinity, -1, 2)]))[0], [NaN, -0, 0, Infinity, 0, 2]);
      same((await run(activationBackward, { kind: 'relu' }, [f32(NaN, 0, -0, -Infinity, 1, Infinity), f32(5, 5, 5, 5, 5, 5)]))[0], [5, 0, 0, 0, 5, 5]);
    });

    it('gelu and tanh: NaN propagates, gelu(−∞) = NaN (∞·0), tanh(±∞) = ±1, gradients at ±∞', async () => {
      const x = f32(NaN, Infinity, -Infinity, 0, -0);
      const ones = f32(1, 1, 1, 1, 1);
      // gelu(±0) = 0 (torch gives +0 for both; the sign of a zero gelu is not specified here)
      same((await run(activationForward, { kind: 'gelu' }, [x]))[0].map(Math.abs), [NaN, Infinity, NaN, 0, 0]);
      same((await run(activationBackward, { kind: 'gelu' }, [x, ones]))[0], [NaN, NaN, NaN, 0.5, 0.5]);
      same((await run(activationForward, { kind: 'tanh' }, [x]))[0], [NaN, 1, -1, 0, -0]);
      same((await run(activationBackward, { kind: 'tanh' }, [x, ones]))[0], [NaN, 0, 0, 1, 1]);
    });

    it('maxpool: a window with NaNs gives NaN and the index of its last NaN; a −∞ window its first element', async () => {
      const x = f32(1, 3, 3, 0, 2, NaN, 1, NaN, 5, 5, 0, 0, 5, 4, -1, -2);
      const [y, argmax] = await run(maxpool2dForward, one({ height: 4, width: 4, kernel: 2 }), [x]);
      same(y, [NaN, NaN, 5, 0]);
      same(argmax, [5, 7, 8, 10]);
      const [y2, argmax2] = await run(maxpool2dForward, one({ height: 2, width: 2, kernel: 2 }), [f32(1, NaN, NaN, 2)]);
      same(y2, [NaN]);
      same(argmax2, [2]);
      const [y3, argmax3] = await run(maxpool2dForward, one({ height: 3, width: 3, kernel: 3, stride: 2, padding: 1 }), [new Float32Array(9).fill(-Infinity)]);
      same(y3, [-Infinity, -Infinity, -Infinity, -Infinity]);
      same(argmax3, [0, 1, 3, 4]);
    });
  });
}

describe('native results do not depend on the thread count', () => {
  it('1 and 2 threads give the same bits on tensors large enough for the pool', async () => {
    const [a, b] = [NativeBackend.load({ threads: 1 }), NativeBackend.load({ threads: 2 })];
    const n = 2 ** 17 + 5;
    const x = randomArray(n, 41).map((v) => 6 * v), g = randomArray(n, 42);
    // 4 × 16 × 35 × 31 = 69 440 elements: above the 2^16 that sends work to the pool.
    const pool = { batch: 4, channels: 16, height: 35, width: 31, kernel: 3, stride: 2, padding: 1 };
    const pooled = poolGeometry('maxpool2d', pool);
    const planes = pool.batch * pool.channels;
    const calls: [KernelSpec<never>, unknown, HostArray[]][] = [
      [activationForward as never, { kind: 'gelu' }, [x]],
      [activationBackward as never, { kind: 'gelu' }, [x, g]],
      [activationBackward as never, { kind: 'tanh' }, [x, g]],
      [add as never, {}, [x, g]],
      [maxpool2dForward as never, pool, [randomArray(planes * 35 * 31, 43)]],
      [maxpool2dBackward as never, pool, [randomArray(planes * pooled.outH * pooled.outW, 44),
        (await callKernel(js, maxpool2dForward, pool, [randomArray(planes * 35 * 31, 43)]))[1]]],
      [globalAvgpoolForward as never, { batch: 4, channels: 16, height: 35, width: 31 }, [randomArray(planes * 35 * 31, 45)]],
      [maxpool2dForward as never, { ...pool, kernel: 2, stride: 2, padding: 0 }, [randomArray(planes * 35 * 31, 46)]],
    ];
    for (const [kernel, p, inputs] of calls) {
      const one1 = await callKernel(a, kernel, p as never, inputs);
      const two = await callKernel(b, kernel, p as never, inputs);
      one1.forEach((o, k) => expect(Buffer.from(o.buffer).equals(Buffer.from(two[k].buffer)), `${kernel.name} output ${k}`).toBe(true));
    }
  });
});

describeWebgpu('webgpu dispatch split over (x, y): 7 workgroups per dimension at most', () => {
  it('every layer kernel decodes the 2-D workgroup id and skips the padding groups', async () => {
    const small = await openBackend({ limits: { maxComputeWorkgroupsPerDimension: 7 } });
    try {
      const n = 30_001; // 30 elementwise workgroups: a 7 × 5 grid with 5 idle groups
      const x = randomArray(n, 51).map((v) => 5 * v), g = randomArray(n, 52);
      const pool = { batch: 2, channels: 5, height: 33, width: 31, kernel: 3, stride: 2, padding: 1 };
      const planes = pool.batch * pool.channels;
      const image = randomArray(planes * 33 * 31, 53);
      const [, argmax] = await callKernel(js, maxpool2dForward, pool, [image]);
      const geometry = poolGeometry('maxpool2d', pool);
      const gy = randomArray(planes * geometry.outH * geometry.outW, 54);
      const avg = { batch: 2, channels: 20, height: 5, width: 7 }; // 40 planes: one workgroup each, a 7 × 6 grid
      const calls: [KernelSpec<never>, unknown, HostArray[], number][] = [
        [activationForward as never, { kind: 'gelu' }, [x], 3],
        [activationBackward as never, { kind: 'tanh' }, [x, g], 40],
        [add as never, {}, [x, g], 0],
        [maxpool2dForward as never, pool, [image], 0],
        [maxpool2dBackward as never, pool, [gy, argmax], 0],
        [globalAvgpoolForward as never, avg, [randomArray(40 * 35, 55)], 70],
        [globalAvgpoolBackward as never, avg, [randomArray(40, 56)], 5],
      ];
      for (const [kernel, p, inputs, ulps] of calls) {
        const want = await callKernel(js, kernel, p as never, inputs);
        const got = await callKernel(small, kernel, p as never, inputs);
        got.forEach((o, k) => {
          for (let i = 0; i < o.length; i++) {
            const bound = ulps * 2 ** -24 * (Math.abs(want[k][i]) + 1) + 1e-30;
            if (!(Math.abs(o[i] - want[k][i]) <= bound)) expect.fail(`${kernel.name} output ${k}[${i}]: ${o[i]} vs ${want[k][i]}`);
          }
        });
      }
    } finally {
      small.close();
    }
  });
});

describe('validation errors name what was wrong and what was expected', () => {
  const fails = async <P>(kernel: KernelSpec<P>, p: P, inputs: HostArray[], message: RegExp) => {
    await expect(callKernel(js, kernel, p, inputs)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
  };

  it('activations: the kind, and the element counts of x and gradY', async () => {
    await fails(activationForward, { kind: 'sigmoid' as ActivationKind }, [f32(1)], /activation_forward kind must be one of 'relu', 'gelu', 'tanh'; got "sigmoid"/);
    await fails(activationBackward, {} as { kind: ActivationKind }, [f32(1), f32(1)], /activation_backward kind must be one of/);
    await fails(activationBackward, { kind: 'gelu' }, [new Float32Array(6), new Float32Array(5)], /activation_backward gradY must be 6 elements \(as many as x\); got "5 elements"/);
    await fails(activationForward, { kind: 'relu' }, [new Int32Array(3)], /activation_forward x must be an f32 tensor; got "a i32 tensor"/);
    await fails(activationForward, { kind: 'relu' }, [], /activation_forward inputs must be one tensor: x; got "0 tensors"/);
  });

  it('maxpool2d: kernel larger than the padded input, padding above kernel / 2, sizes and dtypes', async () => {
    await fails(maxpool2dForward, one({ height: 2, width: 2, kernel: 5 }), [new Float32Array(4)], /maxpool2d_forward kernel must be at most the padded input \(2×2 for 2×2 and padding 0\); got 5/);
    await fails(maxpool2dForward, one({ height: 2, width: 8, kernel: 5, padding: 1 }), [new Float32Array(16)], /kernel must be at most the padded input \(4×10/);
    await fails(maxpool2dForward, one({ height: 4, width: 4, kernel: 3, padding: 2 }), [new Float32Array(16)], /maxpool2d_forward padding must be at most half the kernel \(1 for kernel 3\), as PyTorch requires; got 2/);
    await fails(maxpool2dForward, { batch: 2, channels: 3, height: 4, width: 4, kernel: 2 }, [new Float32Array(95)], /maxpool2d_forward x must be 2×3×4×4 \(96 elements\); got "95 elements"/);
    await fails(maxpool2dForward, one({ height: 0, width: 4, kernel: 1 }), [new Float32Array(0)], /maxpool2d_forward height must be an integer in \[1, /);
    await fails(maxpool2dForward, one({ height: 4, width: 4, kernel: 2, stride: 0 }), [new Float32Array(16)], /maxpool2d_forward stride must be an integer in \[1, /);
    const p = { batch: 1, channels: 2, height: 4, width: 4, kernel: 2 };
    await fails(maxpool2dBackward, p, [new Float32Array(7), new Int32Array(8)], /maxpool2d_backward gradY must be 1×2×2×2 \(8 elements\); got "7 elements"/);
    await fails(maxpool2dBackward, p, [new Float32Array(8), new Int32Array(9)], /maxpool2d_backward argmax must be 1×2×2×2 \(8 elements\); got "9 elements"/);
    await fails(maxpool2dBackward, p, [new Float32Array(8), new Float32Array(8)], /maxpool2d_backward argmax must be an i32 tensor \(maxpool2d_forward's second output\)/);
  });

  it('global_avgpool and add: element counts and parameters', async () => {
    await fails(globalAvgpoolForward, { batch: 2, channels: 3, height: 2, width: 2 }, [new Float32Array(23)], /global_avgpool_forward x must be 2×3×2×2 \(24 elements\); got "23 elements"/);
    await fails(globalAvgpoolBackward, { batch: 2, channels: 3, height: 2, width: 2 }, [new Float32Array(5)], /global_avgpool_backward gradY must be 2×3 \(6 elements\); got "5 elements"/);
    await fails(globalAvgpoolForward, { batch: 1, channels: 1, height: 1, width: 0 }, [new Float32Array(0)], /global_avgpool_forward width must be an integer in \[1, /);
    await fails(add, {}, [new Float32Array(4), new Float32Array(3)], /add b must be 4 elements \(as many as a\); got "3 elements"/);
    await fails(add, { n: 4 } as never, [new Float32Array(4), new Float32Array(4)], /add params must be an empty object/);
  });

  it('errors surface through the engine on native too, before anything runs', async () => {
    const engine = await createEngine({ backend: 'native' });
    try {
      const x = engine.tensor('f32', [1, 1, 4, 4], PLANE);
      expect(() => engine.run('maxpool2d_forward', { batch: 1, channels: 1, height: 4, width: 4, kernel: 3, padding: 2 }, [x]))
        .toThrow(/padding must be at most half the kernel/);
      const [y, argmax] = engine.run('maxpool2d_forward', { batch: 1, channels: 1, height: 4, width: 4, kernel: 2 }, [x]);
      expect(Array.from(await engine.read(argmax))).toEqual([4, 6, 12, 10]);
      const [act] = engine.run('activation_forward', { kind: 'gelu' }, [y]);
      const [sum] = engine.run('add', {}, [act, y]);
      const [mean] = engine.run('global_avgpool_forward', { batch: 1, channels: 1, height: 2, width: 2 }, [sum]);
      const gelu = [5, 4, 6, 7].map(activations.gelu);
      expect((await engine.read(mean))[0]).toBeCloseTo((gelu.reduce((s, v) => s + v, 0) + 22) / 4, 5);
      engine.release(x, y, argmax, act, sum, mean);
      expect(engine.memory().tensors).toBe(0);
    } finally {
      engine.close();
    }
  });
});

/**
 * The training kernels: batch norm, the two losses and the SGD step. Hand-checked values on the js reference,
 * f64 finite-difference checks of every gradient through the reference cores, the in-place contracts on every
 * backend, out-of-range labels, refused arguments, determinism of native, and (when Debian's PyTorch is
 * installed) the same calls in torch. test/kernels/cases/norm.ts compares native and webgpu with js.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsBackend } from '../../src/backends/js.js';
import { NativeBackend } from '../../src/backends/native.js';
import { createEngine, type Engine } from '../../src/index.js';
import { batchnorm2dBackward, batchnorm2dForward, batchnormBackwardCore, batchnormForwardCore, type BatchNormShape } from '../../src/kernels/batchnorm2d.js';
import { mseLoss, mseLossCore } from '../../src/kernels/mse_loss.js';
import { callKernel } from '../../src/kernels/run.js';
import { fma64, fmaf, sgdUpdate, sgdUpdateCore } from '../../src/kernels/sgd_update.js';
import { softmaxCrossEntropy, softmaxCrossEntropyCore } from '../../src/kernels/softmax_cross_entropy.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { describeWebgpu, openBackend } from '../helpers/webgpu.js';
import type { HostArray, KernelSpec } from '../../src/kernels/types.js';
import { randomArray } from './cases.js';

const js = new JsBackend();
const f32 = (...v: number[]) => Float32Array.from(v);
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
const U = 2 ** -24;

/** Central differences of a scalar function of `x` at every coordinate (x is restored). */
function numericGradient(x: Float64Array, loss: () => number, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = x0 + h;
    const up = loss();
    x[i] = x0 - h;
    const down = loss();
    x[i] = x0;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** |analytic − numeric| ≤ tol · (max |numeric| over the vector), coordinate by coordinate. */
function expectGradient(analytic: ArrayLike<number>, numeric: ArrayLike<number>, tol = 1e-6): void {
  const scale = Math.max(...Array.from(numeric, Math.abs), 1e-12);
  expect(analytic.length).toBe(numeric.length);
  for (let i = 0; i < numeric.length; i++) {
    expect(Math.abs(analytic[i] - numeric[i]), `coordinate ${i}: ${analytic[i]} vs ${numeric[i]}`).toBeLessThanOrEqual(tol * scale);
  }
}

// ------------------------------------------------------------------------------------------------ batch norm

describe('batchnorm2d: hand-checked values on the reference', () => {
  it('training: batch statistics, y, and the running update with the unbiased variance', async () => {
    // One channel of 4 values over N = 2, H = 1, W = 2: mean 2.5, biased variance 1.25, unbiased 5/3.
    const p = { batch: 2, channels: 1, height: 1, width: 2, training: true };
    const [y, mean, invstd, rm, rv] = await callKernel(js, batchnorm2dForward, p, [f32(1, 2, 3, 4), f32(2), f32(1)],
      [undefined, undefined, undefined, f32(0), f32(1)]);
    const s = 1 / Math.sqrt(1.25 + Math.fround(1e-5));
    expect(mean[0]).toBe(2.5);
    expect(invstd[0]).toBeCloseTo(s, 6);
    [1, 2, 3, 4].forEach((x, i) => expect(y[i]).toBeCloseTo(2 * (x - 2.5) * s + 1, 6));
    expect(rm[0]).toBeCloseTo(0.25, 7);              // 0.9·0 + 0.1·2.5
    expect(rv[0]).toBeCloseTo(0.9 + 0.1 * (5 / 3), 6); // 0.9·1 + 0.1·(1.25·4/3)
  });

  it('eval: the running statistics normalise, are saved, and stay as they were', async () => {
    const p = { batch: 1, channels: 2, height: 1, width: 2, training: false, eps: 0.25 };
    const [y, mean, invstd, rm, rv] = await callKernel(js, batchnorm2dForward, p, [f32(1, 3, 5, 7), f32(1, 2), f32(0, -1)],
      [undefined, undefined, undefined, f32(1, 5), f32(0.75, 3.75)]);
    expect(Array.from(mean)).toEqual([1, 5]);
    expect(Array.from(invstd)).toEqual([1, 0.5]);   // 1/√(0.75 + 0.25), 1/√(3.75 + 0.25)
    expect(Array.from(y)).toEqual([0, 2, -1, 1]);   // (x − 1)·1·1 + 0, (x − 5)·0.5·2 − 1
    expect(Array.from(rm)).toEqual([1, 5]);
    expect(Array.from(rv)).toEqual([0.75, 3.75]);
  });

  it('backward, hand-checked: a constant gradient passes nothing through the batch statistics', async () => {
    const p = { batch: 4, channels: 1, height: 1, width: 1, training: true };
    const [gx, gg, gb] = await callKernel(js, batchnorm2dBackward, p, [f32(1, 1, 1, 1), f32(1, 2, 3, 4), f32(3), f32(2.5), f32(0.5)]);
    expect(Array.from(gx)).toEqual([0, 0, 0, 0]);
    expect(gg[0]).toBe(0);   // Σ 1·(x − 2.5)·0.5
    expect(gb[0]).toBe(4);
    const [ex] = await callKernel(js, batchnorm2dBackward, { ...p, training: false }, [f32(1, 2, 0, -1), f32(1, 2, 3, 4), f32(3), f32(2.5), f32(0.5)]);
    expect(Array.from(ex)).toEqual([1.5, 3, 0, -1.5]);   // γ·invstd·gY
  });
});

describe('batchnorm2d gradients: f64 central differences through the reference cores', () => {
  const s: BatchNormShape = { batch: 3, channels: 2, height: 2, width: 3 };
  const size = s.batch * s.channels * s.height * s.width;
  for (const training of [true, false]) {
    it(`${training ? 'training' : 'eval'}: gradX, gradGamma, gradBeta of L = Σ gY·y`, () => {
      const x = f64(randomArray(size, 11)), gy = f64(randomArray(size, 12));
      const gamma = f64([1.3, -0.7]), beta = f64([0.2, -0.4]);
      const runMean = f64([0.1, -0.2]), runVar = f64([0.8, 1.7]);
      const forward = () => {
        const y = new Float64Array(size), m = new Float64Array(2), r = new Float64Array(2);
        batchnormForwardCore(s, training, 0.1, 1e-5, x, gamma, beta, y, m, r, runMean.slice(), runVar.slice());
        return { y, m, r };
      };
      const loss = () => forward().y.reduce((a, v, i) => a + v * gy[i], 0);
      const { m, r } = forward();
      const gx = new Float64Array(size), gg = new Float64Array(2), gb = new Float64Array(2);
      batchnormBackwardCore(s, training, gy, x, gamma, m, r, gx, gg, gb);
      expectGradient(gx, numericGradient(x, loss));
      expectGradient(gg, numericGradient(gamma, loss));
      expectGradient(gb, numericGradient(beta, loss));
    });
  }
});

// ------------------------------------------------------------------------------------------------ losses

describe('softmax_cross_entropy: hand-checked values on the reference', () => {
  it('uniform logits: loss ln K, gradient (1/K − onehot)/N, ties go to class 0', async () => {
    const K = 10, N = 4;
    const [grad, stats] = await callKernel(js, softmaxCrossEntropy, { batch: N, classes: K, targets: 'labels' },
      [new Float32Array(N * K).fill(0.3), Uint32Array.from([0, 3, 9, 0])]);
    expect(stats[0]).toBeCloseTo(Math.log(K), 6);
    expect(stats[1]).toBe(2);   // argmax of a constant row is 0: rows labelled 0 count
    expect(grad[0]).toBeCloseTo((0.1 - 1) / N, 7);
    expect(grad[1]).toBeCloseTo(0.1 / N, 7);
    expect(grad[K + 3]).toBeCloseTo((0.1 - 1) / N, 7);
    // Soft targets: uniform logits against any distribution cost ln K too; the target row's argmax counts.
    const soft = new Float32Array(N * K).fill(0.1);
    soft.fill(0, 10, 20);
    soft[12] = 1;
    const [gs, ss] = await callKernel(js, softmaxCrossEntropy, { batch: N, classes: K, targets: 'soft' }, [new Float32Array(N * K), soft]);
    expect(ss[0]).toBeCloseTo(Math.log(K), 6);
    expect(ss[1]).toBe(3);      // rows 0, 2, 3 (uniform targets: argmax 0); row 1's target is class 2
    expect(gs[12]).toBeCloseTo((0.1 - 1) / N, 7);
  });

  it('a two-class row: p = (1/4, 3/4), loss −ln(3/4), and a stable result for logits near 1e4', async () => {
    const [g, s] = await callKernel(js, softmaxCrossEntropy, { batch: 1, classes: 2, targets: 'labels' }, [f32(0, Math.log(3)), Uint32Array.of(1)]);
    expect(s[0]).toBeCloseTo(-Math.log(0.75), 6);
    expect(s[1]).toBe(1);
    expect(g[0]).toBeCloseTo(0.25, 6);
    expect(g[1]).toBeCloseTo(-0.25, 6);
    const [, big] = await callKernel(js, softmaxCrossEntropy, { batch: 1, classes: 2, targets: 'labels' }, [f32(10_000, 10_000 + Math.log(3)), Uint32Array.of(1)]);
    expect(big[0]).toBeCloseTo(-Math.log(0.75), 3);
  });

  it('batch 0 gives stats [0, 0]', async () => {
    const [g, s] = await callKernel(js, softmaxCrossEntropy, { batch: 0, classes: 5, targets: 'labels' }, [f32(), new Uint32Array()]);
    expect(g.length).toBe(0);
    expect(Array.from(s)).toEqual([0, 0]);
  });
});

describe('loss gradients: f64 central differences through the reference cores', () => {
  const N = 5, K = 4;
  const logits = f64(randomArray(N * K, 21).map((v) => 3 * v));
  it('softmax cross-entropy with labels', () => {
    const labels = [0, 3, 1, 1, 2];
    const grad = new Float64Array(N * K), stats = new Float64Array(2);
    const loss = () => { softmaxCrossEntropyCore(N, K, false, logits, labels, new Float64Array(N * K), stats); return stats[0]; };
    softmaxCrossEntropyCore(N, K, false, logits, labels, grad, new Float64Array(2));
    expectGradient(grad, numericGradient(logits, loss));
  });

  it('softmax cross-entropy with soft targets, including rows that do not sum to 1 (PyTorch\'s gradient)', () => {
    const t = f64(randomArray(N * K, 22).map((v) => v + 1.1));
    for (let i = 0; i < N; i++) {
      const sum = t.slice(i * K, (i + 1) * K).reduce((a, b) => a + b, 0);
      for (let k = 0; k < K; k++) t[i * K + k] /= i === 0 ? sum / 1.25 : sum;   // row 0 sums to 1.25
    }
    const grad = new Float64Array(N * K), stats = new Float64Array(2);
    const loss = () => { softmaxCrossEntropyCore(N, K, true, logits, t, new Float64Array(N * K), stats); return stats[0]; };
    softmaxCrossEntropyCore(N, K, true, logits, t, grad, new Float64Array(2));
    expectGradient(grad, numericGradient(logits, loss));
  });

  it('mean squared error', () => {
    const p = f64(randomArray(13, 23)), t = f64(randomArray(13, 24));
    const grad = new Float64Array(13), stats = new Float64Array(2);
    const loss = () => { mseLossCore(p, t, new Float64Array(13), stats); return stats[0]; };
    mseLossCore(p, t, grad, new Float64Array(2));
    expectGradient(grad, numericGradient(p, loss));
  });
});

describe('mse_loss: hand-checked values', () => {
  it('p = (1, 2, 3), t = 1: loss 5/3, gradient 2(p − t)/3, stats[1] = 0; n = 0 gives [0, 0]', async () => {
    const [g, s] = await callKernel(js, mseLoss, {}, [f32(1, 2, 3), f32(1, 1, 1)]);
    expect(s[0]).toBeCloseTo(5 / 3, 6);
    expect(s[1]).toBe(0);
    expect(Array.from(g)).toEqual([0, Math.fround(2 / 3), Math.fround(4 / 3)]);
    expect(Array.from((await callKernel(js, mseLoss, {}, [f32(), f32()]))[1])).toEqual([0, 0]);
  });
});

// ------------------------------------------------------------------------------------------------ SGD

describe('sgd_update: the torch.optim.SGD formula', () => {
  it('two steps with momentum and weight decay, by hand (f64 core)', () => {
    // torch: d = g + wd·p; buf = d on the first step, momentum·buf + d after; p −= lr·buf.
    const p = [1], buf = [0];
    sgdUpdateCore(0.1, 0.9, 0.01, [0.5], p, buf, fma64);
    expect(buf[0]).toBeCloseTo(0.51, 15);            // 0.5 + 0.01·1
    expect(p[0]).toBeCloseTo(0.949, 15);             // 1 − 0.1·0.51
    sgdUpdateCore(0.1, 0.9, 0.01, [-0.25], p, buf, fma64);
    expect(buf[0]).toBeCloseTo(0.21849, 15);         // 0.9·0.51 + (−0.25 + 0.01·0.949)
    expect(p[0]).toBeCloseTo(0.927151, 15);          // 0.949 − 0.1·0.21849
    const q = [1], qb = [7];
    sgdUpdateCore(0.1, 0, 0.01, [0.5], q, qb, fma64);   // momentum 0: the buffer is d, its old value unused
    expect(qb[0]).toBeCloseTo(0.51, 15);
    expect(q[0]).toBeCloseTo(0.949, 15);
  });

  it('fmaf rounds once: the double-rounding case Math.fround(a·b + c) gets wrong', () => {
    const a = 2 ** -12 * (1 + 2 ** -23), b = 2 ** -12 * (1 - 2 ** -23), c = 1 + 2 ** -23;
    expect([a, b, c].every((v) => Math.fround(v) === v)).toBe(true);
    expect(Math.fround(a * b + c)).toBe(1 + 2 ** -22);
    expect(fmaf(a, b, c)).toBe(1 + 2 ** -23);
    expect(fmaf(-a, b, -c)).toBe(-(1 + 2 ** -23));
    expect(fmaf(3, 0.5, -1.5)).toBe(0);
    expect(fmaf(2 ** 100, 2 ** 100, 0)).toBe(Infinity);
  });

  it('native equals the reference bit for bit (hardware FMA, the same order)', async () => {
    const native = NativeBackend.load({ threads: 2 });
    try {
      const n = 100_003;
      for (const params of [{ lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }, { lr: 0.02, momentum: 0, weightDecay: 5e-4 }]) {
        const args = [[randomArray(n, 31)], [randomArray(n, 32), randomArray(n, 33)]] as const;
        const want = await callKernel(js, sgdUpdate, params, args[0], args[1]);
        const got = await callKernel(native, sgdUpdate, params, args[0], args[1]);
        for (const o of [0, 1]) expect(Buffer.from(got[o].buffer).equals(Buffer.from(want[o].buffer))).toBe(true);
      }
    } finally {
      native.close();
    }
  });
});

// ------------------------------------------------------------------------------------------------ every backend

for (const backend of await backendsUnderTest()) {
  describe(`training kernels on ${backend}: in-place state, bad labels, refused arguments`, () => {
    let engine: Engine;
    beforeAll(async () => { engine = await createEngine({ backend }); });
    afterAll(() => engine.close());

    it('two SGD steps on resident tensors match the hand computation to f32 rounding', async () => {
      const param = engine.tensor('f32', [1, 3], f32(1, -2, 0.5));
      const buf = engine.tensor('f32', [1, 3], new Float32Array(3));
      const g1 = engine.tensor('f32', [1, 3], f32(0.5, 0.25, -1));
      const g2 = engine.tensor('f32', [1, 3], f32(-0.25, 0.5, 2));
      const params = { lr: 0.1, momentum: 0.9, weightDecay: 0.01 };
      engine.run('sgd_update', params, [g1], [param, buf]);
      engine.run('sgd_update', params, [g2], [param, buf]);
      const [p, b] = [await engine.read(param), await engine.read(buf)];
      const wantP = [1, -2, 0.5], wantB = [0, 0, 0];
      for (const g of [[0.5, 0.25, -1], [-0.25, 0.5, 2]]) sgdUpdateCore(0.1, 0.9, 0.01, g, wantP, wantB, fma64);
      expect(wantP[0]).toBeCloseTo(0.927151, 12);
      for (let i = 0; i < 3; i++) {
        expect(Math.abs(p[i] - wantP[i])).toBeLessThanOrEqual(8 * U * (Math.abs(wantP[i]) + 1));
        expect(Math.abs(b[i] - wantB[i])).toBeLessThanOrEqual(8 * U * (Math.abs(wantB[i]) + 1));
      }
      engine.release(param, buf, g1, g2);
    });

    it('batch norm running statistics accumulate in place over calls; eval reads them', async () => {
      const shape = { batch: 4, channels: 2, height: 1, width: 1 };
      const x = engine.tensor('f32', [4, 2, 1, 1], f32(1, 10, 2, 20, 3, 30, 4, 40));
      const gamma = engine.tensor('f32', [2], f32(1, 1)), beta = engine.tensor('f32', [2], f32(0, 0));
      const rm = engine.tensor('f32', [2], f32(0, 0)), rv = engine.tensor('f32', [2], f32(1, 1));
      const outs = [engine.tensor('f32', [4, 2, 1, 1]), engine.tensor('f32', [2]), engine.tensor('f32', [2]), rm, rv];
      engine.run('batchnorm2d_forward', { ...shape, training: true, momentum: 0.5 }, [x, gamma, beta], outs);
      engine.run('batchnorm2d_forward', { ...shape, training: true, momentum: 0.5 }, [x, gamma, beta], outs);
      // Channel 0: mean 2.5, unbiased variance 5/3; two steps of 0.5: 2.5·0.75, 1·0.25 + (5/3)·0.75.
      const m = await engine.read(rm), v = await engine.read(rv);
      expect(m[0]).toBeCloseTo(1.875, 6);
      expect(m[1]).toBeCloseTo(18.75, 5);
      expect(v[0]).toBeCloseTo(0.25 + 1.25, 6);
      expect(v[1]).toBeCloseTo(0.25 + (500 / 3) * 0.75, 3);
      engine.run('batchnorm2d_forward', { ...shape, training: false }, [x, gamma, beta], outs);
      const y = await engine.read(outs[0]);
      expect(y[0]).toBeCloseTo((1 - 1.875) / Math.sqrt(1.5 + 1e-5), 5);
      expect(Array.from(await engine.read(rm))).toEqual(Array.from(m));
      engine.release(x, gamma, beta, ...outs);
    });

    it('a label >= classes makes the mean loss NaN and its row NaN; other rows stay finite', async () => {
      const logits = engine.tensor('f32', [3, 4], randomArray(12, 41));
      const labels = engine.tensor('u32', [3], Uint32Array.of(1, 4, 0));
      const [grad, stats] = engine.run('softmax_cross_entropy', { batch: 3, classes: 4, targets: 'labels' }, [logits, labels]);
      const g = await engine.read(grad), s = await engine.read(stats);
      expect(Number.isNaN(s[0])).toBe(true);
      expect(s[1]).toBeLessThanOrEqual(2);
      expect(Array.from(g.slice(4, 8)).every(Number.isNaN)).toBe(true);
      expect(Array.from(g.slice(0, 4)).concat(Array.from(g.slice(8))).every(Number.isFinite)).toBe(true);
      engine.write(labels, Uint32Array.of(1, 0xffff_ffff, 0));
      engine.run('softmax_cross_entropy', { batch: 3, classes: 4, targets: 'labels' }, [logits, labels], [grad, stats]);
      expect(Number.isNaN((await engine.read(stats))[0])).toBe(true);
      engine.release(logits, labels, grad, stats);
    });

    it('refuses what PyTorch refuses and malformed calls, with INVALID_ARGUMENT naming the problem', () => {
      const t = (n: number) => engine.tensor('f32', [n]);
      const x1 = t(3), g3 = t(3), b3 = t(3);
      const bn = { batch: 1, channels: 3, height: 1, width: 1 };
      expect(() => engine.run('batchnorm2d_forward', { ...bn, training: true }, [x1, g3, b3])).toThrow(/Expected more than 1 value per channel when training/);
      expect(() => engine.run('batchnorm2d_forward', { ...bn, training: 'yes' as unknown as boolean }, [x1, g3, b3])).toThrow(/training must be true or false/);
      expect(() => engine.run('batchnorm2d_forward', { ...bn, training: false, momentum: 2 }, [x1, g3, b3])).toThrow(/momentum must be a number in \[0, 1\]/);
      expect(() => engine.run('batchnorm2d_forward', { ...bn, training: false, eps: 0 }, [x1, g3, b3])).toThrow(/eps must be a finite number > 0/);
      expect(() => engine.run('batchnorm2d_forward', { ...bn, batch: 2, training: false }, [x1, g3, b3])).toThrow(/x must be an f32 tensor of 6 elements/);
      expect(() => engine.run('batchnorm2d_backward', { ...bn, training: false }, [x1, x1, g3, b3])).toThrow(/5 f32 tensors: gradY, x, gamma, saveMean, saveInvStd/);
      const logits = t(6);
      expect(() => engine.run('softmax_cross_entropy', { batch: 2, classes: 3, targets: 'labels' }, [logits, t(2)])).toThrow(/labels must be a u32 tensor of batch = 2/);
      expect(() => engine.run('softmax_cross_entropy', { batch: 2, classes: 3, targets: 'soft' }, [logits, t(2)])).toThrow(/soft targets must be an f32 tensor of batch × classes = 6/);
      expect(() => engine.run('softmax_cross_entropy', { batch: 2, classes: 0, targets: 'labels' }, [t(0), t(2)])).toThrow(/classes must be an integer in \[1,/);
      expect(() => engine.run('softmax_cross_entropy', { batch: 2, classes: 3, targets: 'hard' as 'soft' }, [logits, logits])).toThrow(/targets must be one of 'labels', 'soft'/);
      expect(() => engine.run('mse_loss', {}, [t(3), t(4)])).toThrow(/target must be an f32 tensor of the prediction's 3 elements/);
      expect(() => engine.run('sgd_update', { lr: -0.1, momentum: 0.9, weightDecay: 0 }, [g3], [t(3), t(3)])).toThrow(/lr must be a finite number ≥ 0/);
      expect(() => engine.run('sgd_update', { lr: Infinity, momentum: 0.9, weightDecay: 0 }, [g3], [t(3), t(3)])).toThrow(/lr must be a finite number ≥ 0/);
      expect(() => engine.run('sgd_update', { lr: 0.1, momentum: 0.9, weightDecay: 0 }, [g3], [t(4), t(3)])).toThrow(/output 0 must be a tensor f32\[3\]/);
      let error: unknown;
      try { engine.run('sgd_update', { lr: 0.1, momentum: -1, weightDecay: 0 }, [g3]); } catch (e) { error = e; }
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/sgd_update momentum must be a finite number ≥ 0/) });
    });
  });
}

describeWebgpu('webgpu: a dispatch split over (x, y) decodes channels and element blocks like a 1-D one', () => {
  it('batch norm over 7 channels and an SGD step over 5 workgroups, with 3 workgroups per dimension (3 × 3, spare ones idle)', async () => {
    const twoD = await openBackend({ limits: { maxComputeWorkgroupsPerDimension: 3 } });
    const flat = await openBackend();
    try {
      const p = { batch: 3, channels: 7, height: 5, width: 5, training: true };
      const size = 3 * 7 * 25;
      const bnIn = [randomArray(size, 81), randomArray(7, 82), randomArray(7, 83)];
      const bnInit = [undefined, undefined, undefined, randomArray(7, 84), randomArray(7, 85).map((v) => 1 + v / 2)];
      const backIn = [randomArray(size, 86), bnIn[0], bnIn[1], randomArray(7, 87), randomArray(7, 88).map((v) => 1 + v / 2)];
      const sgdParams = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
      const sgdArgs = [[randomArray(1200, 89)], [randomArray(1200, 90), randomArray(1200, 91)]] as const;
      for (const [kernel, params, inputs, initial] of [[batchnorm2dForward, p, bnIn, bnInit], [batchnorm2dBackward, p, backIn, []],
        [sgdUpdate, sgdParams, sgdArgs[0], sgdArgs[1]]] as const) {
        const a = await callKernel(twoD, kernel as KernelSpec<never>, params as never, inputs, initial);
        const b = await callKernel(flat, kernel as KernelSpec<never>, params as never, inputs, initial);
        a.forEach((out, o) => expect(Array.from(out), `${kernel.name} output ${o}`).toEqual(Array.from(b[o])));
      }
    } finally {
      twoD.close();
      flat.close();
    }
  });
});

describe('native determinism: the same bits for 1, 2 and 3 threads', () => {
  it('batch norm forward/backward, cross-entropy and MSE (fixed task splits, ordered partial sums)', async () => {
    const backends = [1, 2, 3].map((threads) => NativeBackend.load({ threads }));
    try {
      const p = { batch: 40, channels: 3, height: 30, width: 30, training: true };
      const size = 40 * 3 * 900;
      const calls: [KernelSpec<never>, unknown, HostArray[], (HostArray | undefined)[]][] = [
        [batchnorm2dForward, p, [randomArray(size, 51), randomArray(3, 52), randomArray(3, 53)], [undefined, undefined, undefined, f32(0, 0, 0), f32(1, 1, 1)]],
        [batchnorm2dBackward, p, [randomArray(size, 54), randomArray(size, 55), randomArray(3, 56), f32(0.1, 0, -0.1), f32(1.5, 1.7, 1.6)], []],
        [softmaxCrossEntropy, { batch: 3000, classes: 17, targets: 'labels' }, [randomArray(3000 * 17, 57), Uint32Array.from({ length: 3000 }, (_, i) => i % 17)], []],
        [mseLoss, {}, [randomArray(200_001, 58), randomArray(200_001, 59)], []],
      ] as never;
      for (const [kernel, params, inputs, initial] of calls) {
        const runs = await Promise.all(backends.map((b) => callKernel(b, kernel, params as never, inputs, initial)));
        for (const run of runs.slice(1)) {
          run.forEach((out, o) => expect(Buffer.from(out.buffer).equals(Buffer.from(runs[0][o].buffer)), `${kernel.name} output ${o}`).toBe(true));
        }
      }
    } finally {
      for (const b of backends) b.close();
    }
  });
});

// ------------------------------------------------------------------------------------------------ PyTorch

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

/** Runs the calls in PyTorch (CPU, f64) and returns its results by name. */
function torchRun(inputs: Record<string, number[]>): Record<string, number[]> {
  const script = `
import json, sys, torch
torch.set_default_dtype(torch.float64)
a = {k: torch.tensor(v) for k, v in json.load(sys.stdin).items()}
out = {}
bn = torch.nn.BatchNorm2d(3)
with torch.no_grad():
    bn.weight.copy_(a['gamma']); bn.bias.copy_(a['beta']); bn.running_mean.copy_(a['rm']); bn.running_var.copy_(a['rv'])
x = a['x'].reshape(2, 3, 2, 2).clone().requires_grad_(True)
y = bn(x)
(y * a['gy'].reshape(2, 3, 2, 2)).sum().backward()
out['y'] = y.detach().flatten().tolist(); out['rm'] = bn.running_mean.tolist(); out['rv'] = bn.running_var.tolist()
out['gx'] = x.grad.flatten().tolist(); out['gg'] = bn.weight.grad.tolist(); out['gb'] = bn.bias.grad.tolist()
bn.eval(); out['y_eval'] = bn(a['x'].reshape(2, 3, 2, 2)).detach().flatten().tolist()
z = a['z'].reshape(4, 5).clone().requires_grad_(True)
loss = torch.nn.functional.cross_entropy(z, a['labels'].long()); loss.backward()
out['ce'] = [loss.item()]; out['ce_grad'] = z.grad.flatten().tolist()
z2 = a['z'].reshape(4, 5).clone().requires_grad_(True)
soft = torch.nn.functional.cross_entropy(z2, a['soft'].reshape(4, 5)); soft.backward()
out['soft'] = [soft.item()]; out['soft_grad'] = z2.grad.flatten().tolist()
pr = a['pred'].clone().requires_grad_(True)
mse = torch.nn.functional.mse_loss(pr, a['target']); mse.backward()
out['mse'] = [mse.item()]; out['mse_grad'] = pr.grad.tolist()
w = torch.nn.Parameter(a['w'].clone())
opt = torch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=5e-4)
for g in (a['g1'], a['g2']):
    w.grad = g.clone(); opt.step()
out['w'] = w.detach().tolist(); out['buf'] = opt.state[w]['momentum_buffer'].tolist()
json.dump(out, sys.stdout)
`;
  const r = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(inputs), encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Record<string, number[]>;
}

describe.skipIf(!hasTorch)('the js reference against PyTorch (Debian python3-torch, f64)', () => {
  it('batch norm (train, eval, backward, running statistics), both cross-entropies, MSE and two SGD steps', async () => {
    const x = randomArray(24, 61), gy = randomArray(24, 62), gamma = randomArray(3, 63), beta = randomArray(3, 64);
    const rm = f32(0.1, -0.2, 0.3), rv = f32(0.9, 1.1, 1.3);
    const z = randomArray(20, 65).map((v) => 2 * v), labels = Uint32Array.of(0, 4, 2, 2);
    const softT = randomArray(20, 66).map((v) => v + 1.5);
    for (let i = 0; i < 4; i++) {
      const s = softT.slice(i * 5, i * 5 + 5).reduce((a, b) => a + b, 0);
      for (let k = 0; k < 5; k++) softT[i * 5 + k] /= s;
    }
    const pred = randomArray(7, 67), target = randomArray(7, 68), w = randomArray(6, 69), g1 = randomArray(6, 70), g2 = randomArray(6, 71);
    const list = (a: ArrayLike<number>) => Array.from(a);
    const torch = torchRun({ x: list(x), gy: list(gy), gamma: list(gamma), beta: list(beta), rm: list(rm), rv: list(rv), z: list(z),
      labels: list(labels), soft: list(softT), pred: list(pred), target: list(target), w: list(w), g1: list(g1), g2: list(g2) });
    const close = (got: ArrayLike<number>, want: number[], tol = 1e-5) => {
      expect(got.length).toBe(want.length);
      want.forEach((v, i) => expect(Math.abs(got[i] - v), `${i}: ${got[i]} vs ${v}`).toBeLessThanOrEqual(tol * (1 + Math.abs(v))));
    };
    const shape = { batch: 2, channels: 3, height: 2, width: 2 };
    const [y, mean, invstd, rm1, rv1] = await callKernel(js, batchnorm2dForward, { ...shape, training: true }, [x, gamma, beta], [undefined, undefined, undefined, rm, rv]);
    close(y, torch.y); close(rm1, torch.rm); close(rv1, torch.rv);
    const [gx, gg, gb] = await callKernel(js, batchnorm2dBackward, { ...shape, training: true }, [gy, x, gamma, mean, invstd]);
    close(gx, torch.gx); close(gg, torch.gg); close(gb, torch.gb);
    close((await callKernel(js, batchnorm2dForward, { ...shape, training: false }, [x, gamma, beta], [undefined, undefined, undefined, rm1, rv1]))[0], torch.y_eval);
    const [ceGrad, ce] = await callKernel(js, softmaxCrossEntropy, { batch: 4, classes: 5, targets: 'labels' }, [z, labels]);
    close([ce[0]], torch.ce); close(ceGrad, torch.ce_grad);
    const [softGrad, soft] = await callKernel(js, softmaxCrossEntropy, { batch: 4, classes: 5, targets: 'soft' }, [z, softT]);
    close([soft[0]], torch.soft); close(softGrad, torch.soft_grad);
    const [mseGrad, mse] = await callKernel(js, mseLoss, {}, [pred, target]);
    close([mse[0]], torch.mse); close(mseGrad, torch.mse_grad);
    const wp = list(w), buf = new Array(6).fill(0);
    for (const g of [g1, g2]) sgdUpdateCore(0.1, 0.9, 5e-4, g, wp, buf, fma64);
    close(wp, torch.w, 1e-12); close(buf, torch.buf, 1e-12);
  });
});

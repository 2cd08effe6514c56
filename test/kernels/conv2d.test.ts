import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsBackend } from '../../src/backends/js.js';
import {
  conv2dBackwardInput, conv2dBackwardInputCore, conv2dBackwardWeight, conv2dBackwardWeightCore, conv2dForward, conv2dForwardCore,
  conv2dGeometry, type Conv2dGeometry, type Conv2dParams,
} from '../../src/kernels/conv2d.js';
import { callKernel } from '../../src/kernels/run.js';
import { createEngine, type Engine } from '../../src/index.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { randomArray } from './cases.js';

const js = new JsBackend();
const f32 = (...v: number[]) => Float32Array.from(v);
const shape = (batch: number, inChannels: number, height: number, width: number, outChannels: number, kernelHeight: number, kernelWidth: number) =>
  ({ batch, inChannels, height, width, outChannels, kernelHeight, kernelWidth });

describe('conv2d reference: hand-checked cases', () => {
  const x = f32(1, 2, 3, 4, 5, 6, 7, 8, 9); // one 3×3 image
  const w = f32(1, 2, 3, 4); // one 2×2 kernel

  it('forward: stride 1 without padding, then stride 2 with padding 1, plus a bias', async () => {
    const [y] = await callKernel(js, conv2dForward, { shape: shape(1, 1, 3, 3, 1, 2, 2) }, [x, w, f32(0)]);
    expect(Array.from(y)).toEqual([37, 47, 67, 77]);
    // padded 5×5, windows at (−1,−1), (−1,1), (1,−1), (1,1) of the image
    const [z] = await callKernel(js, conv2dForward, { shape: shape(1, 1, 3, 3, 1, 2, 2), stride: 2, padding: 1 }, [x, w, f32(0.5)]);
    expect(Array.from(z)).toEqual([4.5, 18.5, 36.5, 77.5]);
  });

  it('forward: two input channels sum, two output channels with their own kernels and biases', async () => {
    const xs = f32(1, 2, 3, 4, /* channel 1 */ 10, 20, 30, 40); // 2 channels of 2×2
    const ws = f32(1, 0, 0, 0, /* c1 */ 0, 0, 0, 1, /* o1: */ 0, 1, 0, 0, /* c1 */ 0, 0, 1, 0); // [2, 2, 2, 2]
    const [y] = await callKernel(js, conv2dForward, { shape: shape(1, 2, 2, 2, 2, 2, 2) }, [xs, ws, f32(100, 200)]);
    expect(Array.from(y)).toEqual([1 + 40 + 100, 2 + 30 + 200]);
  });

  it('backward: with gradY = 1 every input gets the sum of the kernel entries over the windows covering it', async () => {
    const params = { shape: shape(1, 1, 3, 3, 1, 2, 2) };
    const ones = f32(1, 1, 1, 1);
    const [gx] = await callKernel(js, conv2dBackwardInput, params, [ones, w]);
    expect(Array.from(gx)).toEqual([1, 3, 2, 4, 10, 6, 3, 7, 4]);
    const [gw, gb] = await callKernel(js, conv2dBackwardWeight, params, [x, ones]);
    expect(Array.from(gw)).toEqual([12, 16, 24, 28]);
    expect(Array.from(gb)).toEqual([4]);
  });

  it('a linear layer is the 1×1 case: y = x·Wᵀ + b with W [out, in]', async () => {
    const xs = f32(1, 2, 3, /* row 1 */ -1, 0, 2); // [2, 3]
    const ws = f32(1, 0, 1, /* out 1 */ 0.5, -1, 0); // [2, 3]
    const [y] = await callKernel(js, conv2dForward, { shape: shape(2, 3, 1, 1, 2, 1, 1) }, [xs, ws, f32(10, 20)]);
    expect(Array.from(y)).toEqual([14, 18.5, 11, 19.5]);
  });
});

/** L(x, w, b) = Σ gy·forward(x, w, b), in f64 through the reference core. */
function loss(g: Conv2dGeometry, x: Float64Array, w: Float64Array, b: Float64Array, gy: Float64Array): number {
  const y = new Float64Array(gy.length);
  conv2dForwardCore(g, x, w, b, y);
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i] * gy[i];
  return sum;
}

describe('conv2d backward kernels: central finite differences in f64 through the reference cores', () => {
  const cases: [string, Conv2dParams][] = [
    ['3×3 pad 1, odd image', { shape: shape(2, 3, 5, 4, 2, 3, 3), padding: 1 }],
    ['stride 2, pad 1', { shape: shape(2, 2, 6, 5, 3, 3, 3), stride: 2, padding: 1 }],
    ['stride 3, 2×3 kernel, pad 2', { shape: shape(1, 2, 7, 6, 2, 2, 3), stride: 3, padding: 2 }],
    ['1×1 stride 2', { shape: shape(2, 3, 4, 4, 2, 1, 1), stride: 2 }],
    ['linear 3 → 4', { shape: shape(3, 3, 1, 1, 4, 1, 1) }],
  ];
  it.each(cases)('%s', (_label, params) => {
    const g = conv2dGeometry(params);
    const x = Float64Array.from(randomArray(g.n * g.c * g.h * g.w, 1));
    const w = Float64Array.from(randomArray(g.o * g.c * g.kh * g.kw, 2));
    const b = Float64Array.from(randomArray(g.o, 3));
    const gy = Float64Array.from(randomArray(g.n * g.o * g.oh * g.ow, 4));
    const gx = new Float64Array(x.length), gw = new Float64Array(w.length), gb = new Float64Array(b.length);
    conv2dBackwardInputCore(g, gy, w, gx);
    conv2dBackwardWeightCore(g, x, gy, gw, gb);
    const h = 1e-6;
    let checked = 0;
    for (const [v, analytic] of [[x, gx], [w, gw], [b, gb]] as const) {
      for (let i = 0; i < v.length; i++) {
        const keep = v[i];
        v[i] = keep + h;
        const up = loss(g, x, w, b, gy);
        v[i] = keep - h;
        const down = loss(g, x, w, b, gy);
        v[i] = keep;
        const fd = (up - down) / (2 * h);
        expect(Math.abs(fd - analytic[i]), `element ${i}: ${fd} vs ${analytic[i]}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(analytic[i])));
        checked++;
      }
    }
    expect(checked).toBe(x.length + w.length + b.length);
    // A gradient that is not all zero: the check can fail.
    expect(gx.some((v) => Math.abs(v) > 1e-3) && gw.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  it('the check sees a wrong gradient (a test that can fail)', () => {
    const g = conv2dGeometry({ shape: shape(1, 1, 3, 3, 1, 2, 2) });
    const x = Float64Array.from(randomArray(9, 5)), w = Float64Array.from(randomArray(4, 6)), gy = Float64Array.from(randomArray(4, 7));
    const b = new Float64Array(1);
    const gw = new Float64Array(4), gb = new Float64Array(1);
    conv2dBackwardWeightCore(g, x, gy, gw, gb);
    w[1] += 1e-6;
    const up = loss(g, x, w, b, gy);
    w[1] -= 2e-6;
    const down = loss(g, x, w, b, gy);
    expect(Math.abs((up - down) / 2e-6 - gw[2])).toBeGreaterThan(1e-3); // the neighbouring entry's gradient
  });
});

/**
 * `got` against the f64 reference `want`: an f32 sum of `terms` products is within c·√terms·u·Σ|products| of
 * it (as in the conformance table); `sums` is Σ|products| per element (the core on |inputs|).
 */
function expectClose(got: Float32Array, want: ArrayLike<number>, terms: number, sums: ArrayLike<number>): void {
  expect(got).toBeInstanceOf(Float32Array);
  expect(got.length).toBe(want.length);
  const scale = 4 * Math.sqrt(terms) * 2 ** -24;
  let worst = -Infinity, at = -1;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - scale * sums[i];
    if (excess > worst) { worst = excess; at = i; }
  }
  expect(worst, `element ${at}: ${got[at]} vs ${want[at]}`).toBeLessThanOrEqual(1e-30);
}

/** Reference outputs of the three passes and, for tolerances, the same on |inputs|. */
function references(g: Conv2dGeometry, x: Float32Array, w: Float32Array, b: Float32Array, gy: Float32Array) {
  const run = (abs: boolean) => {
    const m = (a: Float32Array) => (abs ? Float64Array.from(a, Math.abs) : a);
    const y = new Float64Array(g.n * g.o * g.oh * g.ow), gx = new Float64Array(x.length), gw = new Float64Array(w.length), gb = new Float64Array(g.o);
    conv2dForwardCore(g, m(x), m(w), m(b), y);
    conv2dBackwardInputCore(g, m(gy), m(w), gx);
    conv2dBackwardWeightCore(g, m(x), m(gy), gw, gb);
    return { y, gx, gw, gb };
  };
  return { want: run(false), sums: run(true), terms: { y: g.c * g.kh * g.kw + 1, gx: g.o * g.kh * g.kw, gw: g.n * g.oh * g.ow } };
}

for (const backend of await backendsUnderTest()) {
  describe(`engine.kernels conv2d and linear on ${backend}`, () => {
    let engine: Engine;
    beforeAll(async () => { engine = await createEngine({ backend }); });
    afterAll(() => engine.close());

    const params = { shape: shape(2, 3, 7, 6, 4, 3, 3), stride: 2, padding: 1 };
    const g = conv2dGeometry(params);
    const input = randomArray(g.n * g.c * g.h * g.w, 11), weight = randomArray(g.o * g.c * g.kh * g.kw, 12);
    const bias = randomArray(g.o, 13), gradOutput = randomArray(g.n * g.o * g.oh * g.ow, 14);

    it('conv2dForward, with and without a bias', async () => {
      const { want, sums, terms } = references(g, input, weight, bias, gradOutput);
      expectClose(await engine.kernels.conv2dForward({ input, weight, bias, ...params }), want.y, terms.y, sums.y);
      const unbiased = references(g, input, weight, new Float32Array(g.o), gradOutput);
      expectClose(await engine.kernels.conv2dForward({ input, weight, ...params }), unbiased.want.y, terms.y, unbiased.sums.y);
      expect(engine.memory().tensors).toBe(0);
    });

    it('conv2dBackward: gradInput, gradWeight and gradBias', async () => {
      const { want, sums, terms } = references(g, input, weight, bias, gradOutput);
      const got = await engine.kernels.conv2dBackward({ input, weight, gradOutput, ...params });
      expectClose(got.gradInput, want.gx, terms.gx, sums.gx);
      expectClose(got.gradWeight, want.gw, terms.gw, sums.gw);
      expectClose(got.gradBias, want.gb, terms.gw, sums.gb);
      expect(engine.memory().tensors).toBe(0);
    });

    it('linearForward and linearBackward: the classifier head 128 × 3136 → 10', async () => {
      const [batch, inFeatures, outFeatures] = [128, 3136, 10];
      const lg = conv2dGeometry({ shape: shape(batch, inFeatures, 1, 1, outFeatures, 1, 1) });
      const x = randomArray(batch * inFeatures, 21), w = randomArray(outFeatures * inFeatures, 22), b = randomArray(outFeatures, 23);
      const gy = randomArray(batch * outFeatures, 24);
      const { want, sums, terms } = references(lg, x, w, b, gy);
      expectClose(await engine.kernels.linearForward({ input: x, weight: w, bias: b, batch, inFeatures, outFeatures }), want.y, terms.y, sums.y);
      const got = await engine.kernels.linearBackward({ input: x, weight: w, gradOutput: gy, batch, inFeatures, outFeatures });
      expectClose(got.gradInput, want.gx, terms.gx, sums.gx);
      expectClose(got.gradWeight, want.gw, terms.gw, sums.gw);
      expectClose(got.gradBias, want.gb, terms.gw, sums.gb);
      expect(engine.memory().tensors).toBe(0);
    });

    it('batch 0: empty outputs and zero weight gradients', async () => {
      const p = { shape: shape(0, 2, 4, 4, 3, 3, 3), padding: 1 };
      expect((await engine.kernels.conv2dForward({ input: f32(), weight: randomArray(54, 1), ...p })).length).toBe(0);
      const got = await engine.kernels.conv2dBackward({ input: f32(), weight: randomArray(54, 1), gradOutput: f32(), ...p });
      expect(got.gradInput.length).toBe(0);
      expect(Array.from(got.gradWeight)).toEqual(new Array(54).fill(0));
      expect(Array.from(got.gradBias)).toEqual([0, 0, 0]);
    });

    it('refuses bad host arguments with INVALID_ARGUMENT naming the argument, its length and the expected one', async () => {
      const p = { shape: shape(1, 1, 5, 5, 32, 3, 3), padding: 1 };
      const x = new Float32Array(25), w = new Float32Array(288);
      await expect(engine.kernels.conv2dForward({ input: x, weight: new Float32Array(287), ...p })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/conv2dForward weight must be a Float32Array of outChannels×inChannels×kernelHeight×kernelWidth = 32×1×3×3 = 288 elements; got Float32Array\(287\)/),
      });
      await expect(engine.kernels.conv2dForward({ input: new Float32Array(24), weight: w, ...p }))
        .rejects.toThrow(/conv2dForward input must be a Float32Array of batch×inChannels×height×width = 1×1×5×5 = 25 elements; got Float32Array\(24\)/);
      await expect(engine.kernels.conv2dForward({ input: x, weight: w, bias: new Float32Array(3), ...p }))
        .rejects.toThrow(/conv2dForward bias must be a Float32Array of outChannels = 32 elements; got Float32Array\(3\)/);
      await expect(engine.kernels.conv2dForward({ input: Array.from(x) as unknown as Float32Array, weight: w, ...p }))
        .rejects.toThrow(/conv2dForward input must be a Float32Array/);
      await expect(engine.kernels.conv2dBackward({ input: x, weight: w, gradOutput: new Float32Array(10), ...p }))
        .rejects.toThrow(/conv2dBackward gradOutput must be a Float32Array of batch×outChannels×outHeight×outWidth = 1×32×5×5 = 800 elements; got Float32Array\(10\)/);
      await expect(engine.kernels.conv2dForward({ input: x, weight: w, ...p, stride: 0 })).rejects.toThrow(/conv2dForward stride must be an integer in \[1, 16777216\]; got 0/);
      await expect(engine.kernels.conv2dForward({ input: x, weight: w, ...p, padding: -1 })).rejects.toThrow(/conv2dForward padding must be an integer in \[0, 16777216\]; got -1/);
      await expect(engine.kernels.conv2dForward({ input: x, weight: w, shape: { ...p.shape, kernelHeight: 8 } }))
        .rejects.toThrow(/conv2dForward shape.kernelHeight must be an integer in \[1, height \+ 2·padding = 5\]/);
      await expect(engine.kernels.conv2dForward({ input: x, weight: w, ...p, shape: { ...p.shape, inChannels: 0 } }))
        .rejects.toThrow(/conv2dForward shape.inChannels must be an integer in \[1, 16777216\]; got 0/);
      await expect(engine.kernels.conv2dForward({ input: x, weight: w, padding: 1 } as never)).rejects.toThrow(/conv2dForward shape must be an object/);
      await expect(engine.kernels.linearForward({ input: x, weight: w, batch: 1, inFeatures: 25, outFeatures: 10 }))
        .rejects.toThrow(/linearForward weight must be a Float32Array of outFeatures×inFeatures = 10×25 = 250 elements; got Float32Array\(288\)/);
      await expect(engine.kernels.linearBackward({ input: x, weight: new Float32Array(250), gradOutput: new Float32Array(9), batch: 1, inFeatures: 25, outFeatures: 10 }))
        .rejects.toThrow(/linearBackward gradOutput must be a Float32Array of batch×outFeatures = 1×10 = 10 elements; got Float32Array\(9\)/);
      await expect(engine.kernels.linearForward({ input: x, weight: w, batch: 1.5, inFeatures: 25, outFeatures: 10 })).rejects.toThrow(/linearForward batch must be an integer/);
      expect(engine.memory().tensors).toBe(0);
    });

    it('tensor level: kernels check element counts (a reshape is free) and name the tensor and its dims', async () => {
      const p = { shape: shape(2, 3, 4, 4, 5, 3, 3), padding: 1 };
      const tx = engine.tensor('f32', [2, 48], randomArray(96, 1)); // [N, C·H·W] feeds a layer expecting [N, C, H, W]
      const tw = engine.tensor('f32', [5, 27], randomArray(135, 2));
      const tb = engine.tensor('f32', [5], randomArray(5, 3));
      const [y] = engine.run('conv2d_forward', p, [tx, tw, tb]);
      expect(y.shape).toEqual([2, 5, 4, 4]);
      const [gx] = engine.run('conv2d_backward_input', p, [y, tw]);
      const [gw, gb] = engine.run('conv2d_backward_weight', p, [tx, y]);
      expect([gx.shape, gw.shape, gb.shape]).toEqual([[2, 3, 4, 4], [5, 3, 3, 3], [5]]);
      expect((await engine.read(gb)).length).toBe(5);
      const short = engine.tensor('f32', [134]);
      expect(() => engine.run('conv2d_forward', p, [tx, short, tb])).toThrow(
        /conv2d_forward weight must be outChannels×inChannels×kernelHeight×kernelWidth = 5×3×3×3 = 135 elements; got "134 elements"/);
      expect(() => engine.run('conv2d_backward_weight', p, [tx, tb])).toThrow(
        /conv2d_backward_weight gradY must be batch×outChannels×outHeight×outWidth = 2×5×4×4 = 160 elements; got "5 elements"/);
      expect(() => engine.run('conv2d_forward', p, [tx, tw])).toThrow(/conv2d_forward inputs must be 3 tensors: x, weight, bias/);
      engine.release(tx, tw, tb, y, gx, gw, gb, short);
    });
  });
}

describe('native conv2d: deterministic, and independent of the thread count', () => {
  let one: Engine, two: Engine;
  beforeAll(async () => {
    one = await createEngine({ backend: 'native', threads: 1 });
    two = await createEngine({ backend: 'native', threads: 2 });
  });
  afterAll(() => { one.close(); two.close(); });

  // Large enough to be split over the pool (> 2 MFLOP per pass); the second has a small gradWeight, whose depth
  // is then summed in groups; the third takes the col2im path (stride 2); the fourth the linear one.
  const cases: [string, Conv2dParams][] = [
    ['16→32 3×3 pad 1 on 16×16, batch 8', { shape: shape(8, 16, 16, 16, 32, 3, 3), padding: 1 }],
    ['1→8 3×3 on 28×28, batch 16', { shape: shape(16, 1, 28, 28, 8, 3, 3), padding: 1 }],
    ['32→48 3×3 stride 2 on 15×15, batch 6', { shape: shape(6, 32, 15, 15, 48, 3, 3), stride: 2, padding: 1 }],
    ['linear 512 → 256, batch 64', { shape: shape(64, 512, 1, 1, 256, 1, 1) }],
  ];
  it.each(cases)('%s', async (_label, params) => {
    const g = conv2dGeometry(params);
    const input = randomArray(g.n * g.c * g.h * g.w, 31), weight = randomArray(g.o * g.c * g.kh * g.kw, 32);
    const bias = randomArray(g.o, 33), gradOutput = randomArray(g.n * g.o * g.oh * g.ow, 34);
    const run = async (e: Engine) => {
      const y = await e.kernels.conv2dForward({ input, weight, bias, ...params });
      const { gradInput, gradWeight, gradBias } = await e.kernels.conv2dBackward({ input, weight, gradOutput, ...params });
      return [y, gradInput, gradWeight, gradBias];
    };
    const a = await run(one), b = await run(one), c = await run(two);
    for (let i = 0; i < a.length; i++) {
      expect(Buffer.from(b[i].buffer).equals(Buffer.from(a[i].buffer)), `output ${i}, same engine`).toBe(true);
      expect(Buffer.from(c[i].buffer).equals(Buffer.from(a[i].buffer)), `output ${i}, 1 vs 2 threads`).toBe(true);
    }
  });
});

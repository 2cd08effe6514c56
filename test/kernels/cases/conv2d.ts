/**
 * Conformance cases of the three conv2d kernels (src/kernels/conv2d.ts): odd sizes, strides 1–3, padding 0–2,
 * kernels 1, 3, 5 and non-square, batch 0 and 1, the linear (1×1) shapes of classifier heads, and channel and
 * position counts straddling the shader tiles (16/32/64 channels × 64 positions forward and backward-input,
 * 32 × 32 backward-weight) and the native paths (32 input channels, depth blocks of 256).
 */
import { lcgArray } from '../../../src/bench/problems.js';
import {
  conv2dBackwardInputCore, conv2dBackwardWeightCore, conv2dForwardCore, conv2dGeometry, type Conv2dGeometry, type Conv2dParams,
} from '../../../src/kernels/conv2d.js';
import type { HostArray } from '../../../src/kernels/types.js';
import type { ConformanceCase, ConformanceEntry } from '../cases.js';

/** [label, batch, inChannels, height, width, outChannels, kernelHeight, kernelWidth, stride, padding] */
type Shape = [string, number, number, number, number, number, number, number, number, number];
export const CONV2D_SHAPES: readonly Shape[] = [
  ['batch 1, 1×1', 1, 3, 5, 5, 4, 1, 1, 1, 0],
  ['odd 7×9, 3×3 pad 1', 2, 3, 7, 9, 5, 3, 3, 1, 1],
  ['stride 2 pad 1, 3×3', 2, 4, 9, 8, 6, 3, 3, 2, 1],
  ['5×5 pad 2', 2, 3, 8, 7, 5, 5, 5, 1, 2],
  ['5×5 pad 0', 1, 2, 9, 9, 3, 5, 5, 1, 0],
  ['1×1 stride 2 shortcut', 2, 8, 8, 8, 16, 1, 1, 2, 0],
  ['3×3 pad 2', 2, 3, 5, 6, 4, 3, 3, 1, 2],
  ['stride 3, 3×2 kernel', 2, 2, 10, 11, 3, 3, 2, 3, 1],
  ['kernel = padded input', 2, 2, 3, 3, 3, 5, 5, 1, 1],
  ['stride 2, 2×2 kernel, odd 7×5', 2, 3, 7, 5, 4, 2, 2, 2, 0],
  ['stride 4 past a 3×3 image', 2, 2, 3, 3, 3, 1, 1, 4, 0],
  ['stride 2, 4×4 kernel, pad 1', 1, 3, 9, 10, 5, 4, 4, 2, 1],
  ['7×7 kernel on 7×7 (a dense layer)', 3, 4, 7, 7, 5, 7, 7, 1, 0],
  ['out channels 15', 1, 2, 6, 6, 15, 3, 3, 1, 1],
  ['out channels 16', 1, 2, 6, 6, 16, 3, 3, 1, 1],
  ['out channels 17', 1, 2, 6, 6, 17, 3, 3, 1, 1],
  ['out channels 33, in 31', 2, 31, 6, 6, 33, 3, 3, 1, 1],
  ['in channels 32', 2, 32, 6, 6, 8, 3, 3, 1, 1],
  ['out channels 65, in 65', 1, 65, 5, 5, 65, 3, 3, 1, 1],
  ['63 positions', 7, 2, 3, 3, 4, 1, 1, 1, 0],
  ['64 positions', 1, 2, 8, 8, 4, 3, 3, 1, 1],
  ['65 positions', 1, 2, 5, 13, 3, 1, 1, 1, 0],
  ['depth 360, 12×12 batch 4', 4, 40, 12, 12, 24, 3, 3, 1, 1],
  ['mnist layer 1 (batch 2)', 2, 1, 28, 28, 32, 3, 3, 1, 1],
  ['mnist layer 2 (batch 2)', 2, 32, 14, 14, 64, 3, 3, 1, 1],
  ['batch 0', 0, 3, 5, 5, 4, 3, 3, 1, 1],
  ['linear 128×3136→10', 128, 3136, 1, 1, 10, 1, 1, 1, 0],
  ['linear 16×512→512', 16, 512, 1, 1, 512, 1, 1, 1, 0],
  ['linear 1×7→1', 1, 7, 1, 1, 1, 1, 1, 1, 0],
];

export function conv2dParams([, batch, inChannels, height, width, outChannels, kernelHeight, kernelWidth, stride, padding]: Shape): Conv2dParams {
  return { shape: { batch, inChannels, height, width, outChannels, kernelHeight, kernelWidth }, stride, padding };
}

const U = 2 ** -24;
const abs = (a: ArrayLike<number>) => Float64Array.from(a, Math.abs);

/**
 * Each output is an f32 sum of `terms` products: |error| ≤ c·√terms·u·Σ|products| for the blocked / split FMA
 * chains of the backends (the reference rounds once). Σ|products| is the reference core on |inputs|.
 */
function entry(kind: 'forward' | 'input' | 'weight'): ConformanceEntry<Conv2dParams> {
  const sums = new WeakMap<object, Float64Array[]>();
  const absOutputs = (c: ConformanceCase<Conv2dParams>, g: Conv2dGeometry): Float64Array[] => {
    let out = sums.get(c);
    if (!out) {
      const [a, b, bias] = c.inputs.map(abs);
      if (kind === 'forward') conv2dForwardCore(g, a, b, bias, (out = [new Float64Array(g.n * g.o * g.oh * g.ow)])[0]);
      else if (kind === 'input') conv2dBackwardInputCore(g, a, b, (out = [new Float64Array(g.n * g.c * g.h * g.w)])[0]);
      else { out = [new Float64Array(g.o * g.c * g.kh * g.kw), new Float64Array(g.o)]; conv2dBackwardWeightCore(g, a, b, out[0], out[1]); }
      sums.set(c, out);
    }
    return out;
  };
  return {
    cases: () => CONV2D_SHAPES.map((shape, k): ConformanceCase<Conv2dParams> => {
      const params = conv2dParams(shape);
      const g = conv2dGeometry(params);
      const x = lcgArray(g.n * g.c * g.h * g.w, 10 * k + 1), w = lcgArray(g.o * g.c * g.kh * g.kw, 10 * k + 2);
      const bias = lcgArray(g.o, 10 * k + 3), gy = lcgArray(g.n * g.o * g.oh * g.ow, 10 * k + 4);
      const inputs: HostArray[] = kind === 'forward' ? [x, w, bias] : kind === 'input' ? [gy, w] : [x, gy];
      return { label: shape[0], params, inputs };
    }),
    tolerance(c, o) {
      const g = conv2dGeometry(c.params);
      const terms = kind === 'forward' ? g.c * g.kh * g.kw + 1 : kind === 'input' ? g.o * g.kh * g.kw : g.n * g.oh * g.ow;
      const scale = 4 * Math.sqrt(Math.max(terms, 1)) * U;
      const sum = absOutputs(c, g)[o];
      return (i) => scale * sum[i] + 1e-30;
    },
  };
}

export const conv2dConformance: Record<string, ConformanceEntry<Conv2dParams>> = {
  conv2d_forward: entry('forward'),
  conv2d_backward_input: entry('input'),
  conv2d_backward_weight: entry('weight'),
};

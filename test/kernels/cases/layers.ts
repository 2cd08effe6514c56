/**
 * Conformance entries of the layer kernels (activations, pooling, add): sizes straddling the webgpu workgroup
 * blocks (WG = 256 threads × EPT = 4 elements for the elementwise shaders, 256 outputs or inputs per maxpool
 * workgroup, 64 threads per avgpool plane) and the native pool threshold (2^16 elements), odd planes, batch 1,
 * zero sizes, ties. Tolerances come from the error analysis in shaders/activation.wgsl (u = 2^-24).
 * Special values (NaN, ±∞) cannot be compared here (|NaN − NaN| fails every bound): test/kernels/layers.test.ts
 * checks them on every backend.
 */
import { lcgArray } from '../../../src/bench/problems.js';
import type { ActivationKind, ActivationParams } from '../../../src/kernels/activation.js';
import type { AddParams } from '../../../src/kernels/add.js';
import type { GlobalAvgpoolParams } from '../../../src/kernels/global_avgpool.js';
import { maxpool2dForwardCore, poolGeometry, type Maxpool2dParams } from '../../../src/kernels/maxpool2d.js';
import type { ConformanceCase, ConformanceEntry } from '../cases.js';

const U = 2 ** -24;
/** Results below 2^-126 may be flushed to zero on GPUs (lavapipe does). */
const FTZ = 2 ** -126;

const scaled = (n: number, seed: number, scale: number) => lcgArray(n, seed).map((v) => v * scale);

/** Values at the branch points of the f32 formulas and in the tails (|x| < 1 vs ≥ 1 for erf(x/√2) means √2). */
const SPECIAL = Float32Array.from([0, -0, 1e-30, -1e-30, 1e-6, -1e-6, 0.5, -0.5, 0.625, -0.625, 0.6249999, Math.SQRT2, -Math.SQRT2,
  1.4142134, -1.4142137, 2, -2, 3.95 * Math.SQRT2, -3.95 * Math.SQRT2, 5.7, -5.7, 6, -6, 9, -9, 10, -10, 13, -13, 20, -20, 44, -44,
  88, -88, 1e5, -1e5, 1e30, -1e30, 3.4e38, -3.4e38]);

const ELEMENTWISE_SIZES = [0, 1, 255, 256, 257, 1023, 1024, 1025, 70_001];

function activationCases(backward: boolean): ConformanceCase<ActivationParams>[] {
  const list: ConformanceCase<ActivationParams>[] = [];
  let seed = backward ? 500 : 400;
  for (const kind of ['relu', 'gelu', 'tanh'] as const) {
    for (const n of ELEMENTWISE_SIZES) {
      // ×8 reaches both erf branches, erf's clamp (|x|/√2 > 3.95) and tanh's saturation.
      const x = scaled(n, seed++, 8);
      list.push({ label: `${kind} n=${n}`, params: { kind }, inputs: backward ? [x, lcgArray(n, seed++)] : [x] });
    }
    list.push({ label: `${kind} special values`, params: { kind }, inputs: backward ? [SPECIAL, lcgArray(SPECIAL.length, seed++)] : [SPECIAL] });
    list.push({ label: `${kind} large, 2^17 + 3`, params: { kind }, inputs: backward ? [scaled(2 ** 17 + 3, seed++, 4), lcgArray(2 ** 17 + 3, seed++)] : [scaled(2 ** 17 + 3, seed++, 4)] });
  }
  return list;
}

const phiTerm = (x: number) => Math.abs(x * Math.exp(-0.5 * x * x) * 0.3989422804014327);

/** Forward bounds: measured f32 errors (activation.wgsl header) with room for the device's exp (δ ≤ 8u). */
function forwardBound(kind: ActivationKind, x: number, want: number): number {
  if (kind === 'relu') return 0;
  // gelu: 1.3u(|x|/2 + |y|) measured (1.9u on lavapipe); an exp error δ moves erf by ≤ 0.16δ (the exp term is
  // erfc ≤ 0.16).
  if (kind === 'gelu') return 3 * U * (Math.abs(x) / 2 + Math.abs(want)) + FTZ;
  // tanh: 2.5u|y| measured (4.5u on lavapipe); an exp error δ moves it by ≤ 0.35δ.
  return 6 * U * Math.abs(want) + FTZ;
}

/**
 * Backward bounds: gelu' = Φ + xφ measured at 1.75u(1 + |xφ|(1 + x²/2)) (2.1u on lavapipe; x²/2: the rounding of
 * the exponent), sech² at 4.7u relative plus the exp error (which on lavapipe grows with the argument: 34u at
 * x = 19.4); one more rounding for the product with gradY. An exp below 2^-126 flushes to 0 (native and GPUs), which loses the normal
 * results it would have scaled: sech² = 4e/(1 + e)² < 4·2^-126 and |xφ| < 0.4|x|·2^-126.
 */
function backwardBound(kind: ActivationKind, x: number, g: number, want: number): number {
  if (kind === 'relu') return 0;
  const flushed = FTZ * (4 + Math.abs(x)) * Math.abs(g) + FTZ;
  if (kind === 'gelu') return U * Math.abs(g) * (4 + 2 * phiTerm(x) * (4 + x * x)) + 2 * U * Math.abs(want) + flushed;
  return U * (10 + 4 * Math.abs(x)) * Math.abs(want) + flushed;
}

const activationForward: ConformanceEntry<ActivationParams> = {
  cases: () => activationCases(false),
  tolerance: (c, _o, want) => (i) => forwardBound(c.params.kind, c.inputs[0][i], want[i]),
};

const activationBackward: ConformanceEntry<ActivationParams> = {
  cases: () => activationCases(true),
  tolerance: (c, _o, want) => (i) => backwardBound(c.params.kind, c.inputs[0][i], c.inputs[1][i], want[i]),
};

/** Pooling geometries: (batch, channels, H, W, kernel, stride, padding) and a label. */
const POOLS: [string, Maxpool2dParams][] = [
  ['k2 s2 4×4 batch 1', { batch: 1, channels: 1, height: 4, width: 4, kernel: 2 }],
  ['k2 s2 2×3×8×6', { batch: 2, channels: 3, height: 8, width: 6, kernel: 2, stride: 2 }],
  ['k2 s2 odd 5×7 (last row and column dropped)', { batch: 2, channels: 2, height: 5, width: 7, kernel: 2 }],
  ['k3 s2 p1 odd 7×9', { batch: 1, channels: 3, height: 7, width: 9, kernel: 3, stride: 2, padding: 1 }],
  ['k3 s2 p1 even 8×8', { batch: 2, channels: 2, height: 8, width: 8, kernel: 3, stride: 2, padding: 1 }],
  ['k3 s1 p1 (overlapping windows) 6×5', { batch: 1, channels: 2, height: 6, width: 5, kernel: 3, stride: 1, padding: 1 }],
  ['k3 s3 3×3 (one window)', { batch: 1, channels: 1, height: 3, width: 3, kernel: 3 }],
  ['k1 s1 (identity) 3×4', { batch: 1, channels: 2, height: 3, width: 4, kernel: 1 }],
  ['k2 s3 (gaps between windows) 7×8', { batch: 1, channels: 2, height: 7, width: 8, kernel: 2, stride: 3 }],
  ['k2 s1 p1 1×1 (window mostly padding)', { batch: 1, channels: 3, height: 1, width: 1, kernel: 2, stride: 1, padding: 1 }],
  ['k4 s3 p2 10×11', { batch: 1, channels: 2, height: 10, width: 11, kernel: 4, stride: 3, padding: 2 }],
  ['255 outputs (30×34, k2)', { batch: 1, channels: 1, height: 30, width: 34, kernel: 2 }],
  ['256 outputs (32×32, k2)', { batch: 1, channels: 1, height: 32, width: 32, kernel: 2 }],
  ['257 outputs (2×514, k2)', { batch: 1, channels: 1, height: 2, width: 514, kernel: 2 }],
  ['batch 0', { batch: 0, channels: 3, height: 4, width: 4, kernel: 2 }],
  ['large 4×17×32×32 k2 (the pool)', { batch: 4, channels: 17, height: 32, width: 32, kernel: 2 }],
  ['large 2×9×33×31 k3 s2 p1 (the pool)', { batch: 2, channels: 9, height: 33, width: 31, kernel: 3, stride: 2, padding: 1 }],
];

const inputSize = (p: Maxpool2dParams) => p.batch * p.channels * p.height * p.width;

/** Values on a grid of 0.5 in [−1, 1]: most windows hold ties. */
const ties = (n: number, seed: number) => lcgArray(n, seed).map((v) => Math.round(2 * v) / 2);

const maxpool2dForward: ConformanceEntry<Maxpool2dParams> = {
  cases: () => POOLS.flatMap(([label, params], k) => [
    { label, params, inputs: [lcgArray(inputSize(params), 600 + k)] },
    ...(inputSize(params) > 0 && inputSize(params) < 5000 ? [{ label: `${label}, ties`, params, inputs: [ties(inputSize(params), 650 + k)] }] : []),
  ]),
  // Selection only: exact values and indices.
  tolerance: () => () => 0,
};

/** gradY and the argmax the forward picks on `x` (the backward's real input). */
function backwardInputs(params: Maxpool2dParams, x: Float32Array, seed: number): [Float32Array, Int32Array] {
  const g = poolGeometry('maxpool2d_forward', params);
  const outputs = g.planes * g.outH * g.outW;
  const argmax = new Int32Array(outputs);
  maxpool2dForwardCore(g, x, new Float32Array(outputs), argmax);
  return [lcgArray(outputs, seed), argmax];
}

const maxpool2dBackward: ConformanceEntry<Maxpool2dParams> = {
  cases: () => {
    const list: ConformanceCase<Maxpool2dParams>[] = [];
    POOLS.forEach(([label, params], k) => {
      list.push({ label, params, inputs: backwardInputs(params, lcgArray(inputSize(params), 700 + k), 750 + k) });
      if (inputSize(params) > 0 && inputSize(params) < 5000) {
        // Ties with overlapping windows: one element is the argmax of several windows (sums of several gradY).
        list.push({ label: `${label}, ties`, params, inputs: backwardInputs(params, ties(inputSize(params), 800 + k), 850 + k) });
      }
    });
    // Indices that are not the window's (out of the window, negative, past the plane): ignored everywhere, with
    // overlapping windows and with disjoint ones (native's gather path).
    const bad: [string, Maxpool2dParams][] = [
      ['k3 s2 p1', { batch: 2, channels: 2, height: 7, width: 9, kernel: 3, stride: 2, padding: 1 }],
      ['k2 s2', { batch: 2, channels: 2, height: 7, width: 9, kernel: 2 }],
    ];
    bad.forEach(([label, params], k) => {
      const [gradY, argmax] = backwardInputs(params, lcgArray(inputSize(params), 900 + k), 910 + k);
      lcgArray(argmax.length, 920 + k).forEach((v, i) => { if (v > 0.3) argmax[i] = Math.floor(v * 90) - 20; });
      list.push({ label: `${label}: argmax entries outside their windows are ignored`, params, inputs: [gradY, argmax] });
    });
    return list;
  },
  // The same f32 additions in the same (oh, ow) order on every backend.
  tolerance: () => () => 0,
};

const AVGPOOLS: [string, GlobalAvgpoolParams][] = [
  ['1×1 planes', { batch: 2, channels: 3, height: 1, width: 1 }],
  ['4×4 (ResNet-18 at CIFAR size) batch 1', { batch: 1, channels: 5, height: 4, width: 4 }],
  ['odd 7×7', { batch: 2, channels: 3, height: 7, width: 7 }],
  ['plane 63', { batch: 1, channels: 4, height: 7, width: 9 }],
  ['plane 64', { batch: 1, channels: 4, height: 8, width: 8 }],
  ['plane 65', { batch: 1, channels: 4, height: 5, width: 13 }],
  ['32×32', { batch: 2, channels: 2, height: 32, width: 32 }],
  ['one long plane 1×5001', { batch: 1, channels: 1, height: 1, width: 5001 }],
  ['1023 elements (the backward block straddled)', { batch: 1, channels: 3, height: 11, width: 31 }],
  ['1025 elements', { batch: 1, channels: 1, height: 25, width: 41 }],
  ['batch 0', { batch: 0, channels: 4, height: 4, width: 4 }],
  ['large 4×64×16×17 (the pool)', { batch: 4, channels: 64, height: 16, width: 17 }],
];

const avgElements = (p: GlobalAvgpoolParams) => p.batch * p.channels * p.height * p.width;

const globalAvgpoolForward: ConformanceEntry<GlobalAvgpoolParams> = {
  cases: () => AVGPOOLS.map(([label, params], k) => ({ label, params, inputs: [lcgArray(avgElements(params), 950 + k)] })),
  // An f32 sum of n terms in any order errs by ≤ (n − 1)u Σ|x|; the mean divides it by n and adds a rounding
  // (the reference's own rounding: another half).
  tolerance: (c, _o, want) => {
    const n = c.params.height * c.params.width;
    const x = c.inputs[0];
    return (q) => {
      let abs = 0;
      for (let i = 0; i < n; i++) abs += Math.abs(x[q * n + i]);
      return U * ((n - 1) * abs / n + 2 * Math.abs(want[q])) + FTZ;
    };
  },
};

const globalAvgpoolBackward: ConformanceEntry<GlobalAvgpoolParams> = {
  cases: () => AVGPOOLS.map(([label, params], k) => ({ label, params, inputs: [lcgArray(params.batch * params.channels, 980 + k)] })),
  // One division: WGSL allows 2.5 ulp (≤ 5u relative); native divides exactly (bit-identical).
  tolerance: (_c, _o, want) => (i) => 5 * U * Math.abs(want[i]) + FTZ,
};

const add: ConformanceEntry<AddParams> = {
  cases: () => [...ELEMENTWISE_SIZES, 2 ** 17 + 1].map((n, k) => ({ label: `n=${n}`, params: {}, inputs: [lcgArray(n, 1000 + k), scaled(n, 1100 + k, 3)] })),
  // One correctly rounded addition everywhere.
  tolerance: () => () => 0,
};

export const layers = {
  activation_forward: activationForward,
  activation_backward: activationBackward,
  maxpool2d_forward: maxpool2dForward,
  maxpool2d_backward: maxpool2dBackward,
  global_avgpool_forward: globalAvgpoolForward,
  global_avgpool_backward: globalAvgpoolBackward,
  add,
};

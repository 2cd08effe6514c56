/**
 * Conformance entries of the training kernels: batch norm (forward, backward), the two losses and the SGD step.
 * Every tolerance is an error bound derived from the arithmetic each backend does (see the shaders' and
 * native files' headers), evaluated with the exact (f64) quantities of the case's own inputs.
 */
import { lcgArray } from '../../../src/bench/problems.js';
import { batchnormForwardCore, BATCHNORM_WG, type BatchNorm2dParams } from '../../../src/kernels/batchnorm2d.js';
import type { MseLossParams } from '../../../src/kernels/mse_loss.js';
import type { SgdUpdateParams } from '../../../src/kernels/sgd_update.js';
import type { SoftmaxCrossEntropyParams } from '../../../src/kernels/softmax_cross_entropy.js';
import type { HostArray } from '../../../src/kernels/types.js';
import type { ConformanceCase, ConformanceEntry } from '../cases.js';

const U = 2 ** -24;
const TINY = 1e-38;

/**
 * Additions along the longest path of an f32 sum of n values: native adds ≤ 32 values per f32 lane before
 * folding into f64; webgpu adds blocks of ⌈√(n/WG)⌉ per thread, a running sum of ≤ as many blocks, then log2(WG)
 * tree levels. |error| ≤ depth·u·Σ|terms| (to first order).
 */
const depth = (n: number, wg = BATCHNORM_WG) => Math.max(34, 2 * Math.ceil(Math.sqrt(n / wg)) + Math.log2(wg) + 2);

/** uniform(lo, hi) f32 values. */
const uniform = (n: number, seed: number, lo = -1, hi = 1) => lcgArray(n, seed).map((v) => lo + ((v + 1) / 2) * (hi - lo));

// ---------------------------------------------------------------------------------------------- batch norm

type BnCase = ConformanceCase<BatchNorm2dParams>;
const bnCount = (p: BatchNorm2dParams) => p.batch * p.height * p.width;
const channelOf = (p: BatchNorm2dParams, i: number) => Math.floor(i / (p.height * p.width)) % p.channels;

/** Indices of channel c's values. */
function* channel(p: BatchNorm2dParams, c: number): Generator<number> {
  const hw = p.height * p.width;
  for (let b = 0; b < p.batch; b++) for (let s = 0; s < hw; s++) yield (b * p.channels + c) * hw + s;
}

function bnForwardCase(label: string, p: BatchNorm2dParams, seed: number, offset = 0): BnCase {
  const { batch, channels, height, width } = p;
  const x = uniform(batch * channels * height * width, seed, offset - 1, offset + 1);
  const gamma = uniform(channels, seed + 1, 0.5, 1.5), beta = uniform(channels, seed + 2, -0.3, 0.3);
  const runningMean = uniform(channels, seed + 3, -0.5, 0.5), runningVar = uniform(channels, seed + 4, 0.5, 2);
  return { label, params: p, inputs: [x, gamma, beta], initial: [undefined, undefined, undefined, runningMean, runningVar] };
}

/** Per channel: the exact statistics of x and the bound on the backends' mean, variance and invstd errors. */
function bnStats(c: BnCase) {
  const p = c.params;
  const [x] = c.inputs;
  const n = bnCount(p), eps = Math.fround(p.eps ?? 1e-5), D = depth(n);
  const rm = c.initial?.[3] as HostArray, rv = c.initial?.[4] as HostArray;
  return Array.from({ length: p.channels }, (_, ch) => {
    if (!p.training) {
      const mean = rm[ch], invstd = 1 / Math.sqrt(rv[ch] + eps);
      return { mean, invstd, variance: rv[ch], dMean: 0, relInvstd: 8 * U, dVar: 0 };
    }
    let sum = 0, abs = 0;
    for (const i of channel(p, ch)) { sum += x[i]; abs += Math.abs(x[i]); }
    const mean = sum / n;
    let sq = 0;
    for (const i of channel(p, ch)) sq += (x[i] - mean) ** 2;
    const variance = sq / n;
    const dMean = D * U * (abs / n) + U * Math.abs(mean);
    const dVar = (D + 4) * U * variance + 2 * dMean ** 2;
    return { mean, invstd: 1 / Math.sqrt(variance + eps), variance, dMean, dVar, relInvstd: dVar / (2 * (variance + eps)) + 8 * U };
  });
}

const batchnormForward: ConformanceEntry<BatchNorm2dParams> = {
  cases: () => {
    const list: BnCase[] = [];
    let seed = 500;
    const shapes: [string, number, number, number, number][] = [
      ['n = 2 (the least for training)', 2, 3, 1, 1],
      ['batch 1, n = 255', 1, 5, 15, 17],
      ['n = 256', 2, 3, 8, 16],
      ['n = 257, H = W = 1', 257, 2, 1, 1],
      ['odd 3×7×5×9', 3, 7, 5, 9],
      ['large C = 300', 4, 300, 2, 3],
      ['large N·H·W = 46080 (several native tasks per channel)', 20, 2, 48, 48],
      ['H·W = 1, N = 70000', 70_000, 2, 1, 1],
      ['no channels', 2, 0, 3, 3],
    ];
    for (const [label, batch, channels, height, width] of shapes) {
      list.push(bnForwardCase(`train ${label}`, { batch, channels, height, width, training: true }, seed++));
    }
    list.push(bnForwardCase('train, mean 50 ≫ std (variance numerics)', { batch: 16, channels: 4, height: 10, width: 10, training: true }, seed++, 50));
    list.push(bnForwardCase('train, momentum 0.3, eps 1e-3', { batch: 5, channels: 6, height: 7, width: 3, training: true, momentum: 0.3, eps: 1e-3 }, seed++));
    list.push(bnForwardCase('train, momentum 1 (running = batch statistics)', { batch: 3, channels: 2, height: 4, width: 4, training: true, momentum: 1 }, seed++));
    list.push(bnForwardCase('train, momentum 0 (running kept)', { batch: 3, channels: 2, height: 4, width: 4, training: true, momentum: 0 }, seed++));
    for (const [label, batch, channels, height, width] of [['batch 1, 1×1', 1, 3, 1, 1], ['empty batch', 0, 3, 4, 4], ['odd 3×5×7×9', 3, 5, 7, 9], ['n = 257', 1, 4, 1, 257], ['large', 8, 64, 16, 16]] as const) {
      list.push(bnForwardCase(`eval ${label}`, { batch, channels, height, width, training: false }, seed++));
    }
    return list;
  },
  tolerance(c, o, want) {
    const p = c.params;
    const [x, gamma, beta] = c.inputs;
    const stats = bnStats(c);
    const m = Math.fround(p.momentum ?? 0.1), n = bnCount(p);
    const rm = c.initial?.[3] as HostArray, rv = c.initial?.[4] as HostArray;
    switch (o) {
      case 0: return (i) => {
        // y = x·scale + shift, scale = γ·invstd, shift = β − μ·scale: the mean's error through γ·invstd, the
        // invstd's relative error on γ(x − μ)·invstd, and ~5 roundings of the products and sums.
        const ch = channelOf(p, i), s = stats[ch];
        const g = Math.abs(gamma[ch]) * s.invstd;
        return g * (s.dMean + 3 * U * (Math.abs(x[i]) + Math.abs(s.mean))) + g * Math.abs(x[i] - s.mean) * s.relInvstd
          + 2 * U * (Math.abs(beta[ch]) + Math.abs(want[i])) + TINY;
      };
      case 1: return (ch) => stats[ch].dMean;
      case 2: return (ch) => stats[ch].invstd * stats[ch].relInvstd;
      case 3: return p.training ? (ch) => m * stats[ch].dMean + 3 * U * (Math.abs(rm[ch]) + Math.abs(stats[ch].mean)) + U * Math.abs(want[ch]) : () => 0;
      default: return p.training
        ? (ch) => m * (n / (n - 1)) * stats[ch].dVar + 4 * U * (Math.abs(rv[ch]) + stats[ch].variance * n / (n - 1)) + U * Math.abs(want[ch])
        : () => 0;
    }
  },
};

type BnBackCase = ConformanceCase<BatchNorm2dParams>;

function bnBackwardCase(label: string, p: BatchNorm2dParams, seed: number): BnBackCase {
  const { batch, channels, height, width } = p;
  const size = batch * channels * height * width;
  const x = uniform(size, seed, -1, 1.5), gradY = uniform(size, seed + 1);
  const gamma = uniform(channels, seed + 2, 0.5, 1.5);
  // The statistics the forward would have saved (training: of x; eval: running statistics).
  const saveMean = new Float32Array(channels), saveInvStd = new Float32Array(channels);
  if (p.training) {
    batchnormForwardCore(p, true, 0.1, Math.fround(1e-5), x, gamma, new Float64Array(channels), new Float64Array(size), saveMean, saveInvStd,
      new Float64Array(channels), new Float64Array(channels));
  } else {
    saveMean.set(uniform(channels, seed + 3, -0.5, 0.5));
    saveInvStd.set(uniform(channels, seed + 4, 0.7, 1.4));
  }
  return { label, params: p, inputs: [gradY, x, gamma, saveMean, saveInvStd] };
}

const batchnormBackward: ConformanceEntry<BatchNorm2dParams> = {
  cases: () => {
    const list: BnBackCase[] = [];
    let seed = 700;
    const shapes: [string, number, number, number, number][] = [
      ['n = 2', 2, 3, 1, 1],
      ['batch 1, n = 255', 1, 5, 15, 17],
      ['n = 256', 2, 3, 8, 16],
      ['n = 257', 257, 2, 1, 1],
      ['odd 3×7×5×9', 3, 7, 5, 9],
      ['large C = 300', 4, 300, 2, 3],
      ['large N·H·W = 46080', 20, 2, 48, 48],
      ['no channels', 2, 0, 3, 3],
    ];
    for (const [label, batch, channels, height, width] of shapes) {
      list.push(bnBackwardCase(`train ${label}`, { batch, channels, height, width, training: true }, seed++));
    }
    for (const [label, batch, channels, height, width] of [['batch 1, 1×1', 1, 3, 1, 1], ['empty batch', 0, 3, 4, 4], ['odd 3×5×7×9', 3, 5, 7, 9], ['large', 8, 64, 16, 16]] as const) {
      list.push(bnBackwardCase(`eval ${label}`, { batch, channels, height, width, training: false }, seed++));
    }
    return list;
  },
  tolerance(c, o, want) {
    const p = c.params;
    const [gradY, x, gamma, saveMean, saveInvStd] = c.inputs;
    const n = bnCount(p), D = depth(n);
    // Per channel: the exact sums the kernel reduces and the sums of their terms' magnitudes.
    const sums = Array.from({ length: p.channels }, (_, ch) => {
      let sg = 0, dot = 0, ag = 0, ad = 0;
      for (const i of channel(p, ch)) {
        const d = x[i] - saveMean[ch];
        sg += gradY[i]; dot += gradY[i] * d; ag += Math.abs(gradY[i]); ad += Math.abs(gradY[i] * d);
      }
      return { sg, dot, dSg: D * U * ag + U * Math.abs(sg), dDot: (D + 2) * U * ad + U * Math.abs(dot) };
    });
    switch (o) {
      case 0: return (i) => {
        const ch = channelOf(p, i), s = sums[ch], r = saveInvStd[ch], g = Math.abs(gamma[ch]) * r;
        if (!p.training) return 2 * U * g * Math.abs(gradY[i]) + U * Math.abs(want[i]) + TINY;
        const d = Math.abs(x[i] - saveMean[ch]);
        const meanGy = Math.abs(s.sg) / n, k = Math.abs(s.dot) * r * r / n;
        const dMeanGy = s.dSg / n + U * meanGy, dK = (s.dDot * r * r) / n + 4 * U * k;
        return g * (dMeanGy + d * dK + 3 * U * (Math.abs(gradY[i]) + meanGy + d * k)) + U * Math.abs(want[i]) + TINY;
      };
      case 1: return (ch) => sums[ch].dDot * saveInvStd[ch] + 2 * U * Math.abs(want[ch]);
      default: return (ch) => sums[ch].dSg;
    }
  },
};

// ---------------------------------------------------------------------------------------------- losses

type CeCase = ConformanceCase<SoftmaxCrossEntropyParams>;

function ceCase(label: string, batch: number, classes: number, soft: boolean, seed: number, scale = 3, ties = false): CeCase {
  const logits = ties
    ? lcgArray(batch * classes, seed).map((v) => Math.round(2 * v))   // {−2, …, 2}: many ties
    : uniform(batch * classes, seed, -scale, scale);
  const pick = lcgArray(batch, seed + 1).map((v) => Math.floor(((v + 1) / 2) * classes));
  if (!soft) return { label, params: { batch, classes, targets: 'labels' }, inputs: [logits, Uint32Array.from(pick, (k) => Math.min(k, classes - 1))] };
  // Soft rows: half are label-smoothed one-hots, half random positive rows, each normalised in f64 then rounded.
  const t = new Float32Array(batch * classes);
  const r = uniform(batch * classes, seed + 2, 0, 1);
  for (let i = 0; i < batch; i++) {
    const row = Array.from({ length: classes }, (_, k) => (i % 2 === 0 ? (k === Math.min(pick[i], classes - 1) ? 0.9 : 0) + 0.1 / classes : r[i * classes + k]));
    const sum = row.reduce((a, b) => a + b, 0);
    row.forEach((v, k) => { t[i * classes + k] = v / sum; });
  }
  return { label, params: { batch, classes, targets: 'soft' }, inputs: [logits, t] };
}

const softmaxCrossEntropy: ConformanceEntry<SoftmaxCrossEntropyParams> = {
  cases: () => {
    const list: CeCase[] = [];
    let seed = 900;
    for (const soft of [false, true]) {
      const kind = soft ? 'soft' : 'labels';
      for (const [label, batch, classes] of [['batch 0', 0, 10], ['batch 1, K = 1', 1, 1], ['batch 1', 1, 10], ['255 rows', 255, 10], ['256 rows', 256, 10],
        ['257 rows', 257, 10], ['CIFAR-100 batch 256', 256, 100], ['eval batch 2000', 2000, 10], ['K = 1000', 37, 1000]] as const) {
        list.push(ceCase(`${kind} ${label}`, batch, classes, soft, seed++));
      }
      list.push(ceCase(`${kind} ties (first maximum wins)`, 300, 7, soft, seed++, 0, true));
      list.push(ceCase(`${kind} logits ±60 (stable log-sum-exp)`, 100, 10, soft, seed++, 60));
    }
    return list;
  },
  tolerance(c, o, want) {
    const { batch: N, classes: K, targets } = c.params;
    const soft = targets === 'soft';
    const [z, tIn] = c.inputs;
    const t = (i: number, k: number) => (soft ? tIn[i * K + k] : k === tIn[i] ? 1 : 0);
    // Per row: WGSL's exp is within (3 + 2|x|) ulp and the argument z − m is rounded (|z − m|·u more), the sum of
    // K positive terms adds K·u, log adds 3 ulp or 2^-21 absolute near 1; native is tighter on each.
    const rows = Array.from({ length: N }, (_, i) => {
      let m = z[i * K];
      for (let k = 1; k < K; k++) m = Math.max(m, z[i * K + k]);
      let s = 0, worst = 0, tsum = 0;
      for (let k = 0; k < K; k++) {
        s += Math.exp(z[i * K + k] - m);
        worst = Math.max(worst, (3 + 3 * (m - z[i * K + k])) * U);
        tsum += t(i, k);
      }
      const sigma = worst + K * U, ls = Math.log(s);
      const dLs = sigma + Math.max(3 * U * Math.abs(ls), 2 ** -21);
      let loss = 0, dLoss = 0;
      for (let k = 0; k < K; k++) {
        const tk = t(i, k);
        loss += tk * (m - z[i * K + k] + ls);
        dLoss += tk * (2 * U * (m - z[i * K + k]) + dLs + U * ls);
      }
      return { m, s, tsum, sigma, loss, dLoss: dLoss + (K + 2) * U * loss };
    });
    if (o === 1) {
      if (N === 0) return () => 0;
      const dMean = rows.reduce((a, r) => a + r.dLoss, 0) / N + (Math.ceil(N / 256) + 9) * U * rows.reduce((a, r) => a + r.loss, 0) / N;
      return (i) => (i === 0 ? dMean + U * Math.abs(want[0]) : 0);
    }
    return (idx) => {
      const i = Math.floor(idx / K), k = idx % K, r = rows[i];
      const p = Math.exp(z[idx] - r.m) / r.s;
      const eps = (3 + 3 * (r.m - z[idx])) * U + r.sigma + (K + 5) * U;
      // + e^-87: native flushes exp below the f32 normal range to 0.
      return (p * r.tsum * eps + 4 * U * Math.abs(p * r.tsum - t(i, k))) / N + Math.exp(-87);
    };
  },
};

type MseCase = ConformanceCase<MseLossParams>;

const mseLoss: ConformanceEntry<MseLossParams> = {
  cases: () => [0, 1, 255, 256, 257, 1000, 70_001, 300_000].map((n, k): MseCase => ({
    label: `n=${n}`, params: {}, inputs: [uniform(n, 1100 + 2 * k, -2, 2), uniform(n, 1101 + 2 * k)],
  })),
  // grad: one rounding of p − t and one division (WGSL: 2.5 ulp). Loss: the sum's depth over the squares, each
  // square and difference rounded, and the final division.
  tolerance(c, o, want) {
    const [p, t] = c.inputs;
    const n = p.length;
    if (o === 0) return (i) => 4 * U * Math.abs(want[i]) + TINY;
    let sq = 0;
    for (let i = 0; i < n; i++) sq += (p[i] - t[i]) ** 2;
    const bound = n === 0 ? 0 : ((depth(n) + 3) * U * sq) / n + 3 * U * (sq / n);
    return (i) => (i === 0 ? bound : 0);
  },
};

type SgdCase = ConformanceCase<SgdUpdateParams>;

const sgdUpdate: ConformanceEntry<SgdUpdateParams> = {
  cases: () => {
    const list: SgdCase[] = [];
    const settings: [string, SgdUpdateParams][] = [
      ['lr 0.1, momentum 0.9, wd 5e-4', { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }],
      ['plain SGD lr 0.02', { lr: 0.02, momentum: 0, weightDecay: 0 }],
      ['lr 0.5, momentum 0.9, wd 0', { lr: 0.5, momentum: 0.9, weightDecay: 0 }],
      ['lr 0 (warmup start), momentum 0.9, wd 5e-4', { lr: 0, momentum: 0.9, weightDecay: 5e-4 }],
      ['momentum 0, wd 5e-4', { lr: 0.05, momentum: 0, weightDecay: 5e-4 }],
    ];
    let seed = 1300;
    for (const [label, params] of settings) {
      for (const n of [0, 1, 255, 256, 257, 65_537, 200_003]) {
        list.push({ label: `${label}, n=${n}`, params, inputs: [uniform(n, seed++)], initial: [uniform(n, seed++), uniform(n, seed++, -0.1, 0.1)] });
      }
    }
    return list;
  },
  // One fused multiply-add per line in the same order everywhere: native equals the reference bit for bit
  // (test/kernels/norm.test.ts asserts it). WGSL lets fma() be unfused, and lavapipe's is: each line may then
  // round its product first (u·|product|) and its result on the other side (one ulp), carried through the lines.
  tolerance(c, o, want) {
    const lr = Math.fround(c.params.lr), m = Math.fround(c.params.momentum), wd = Math.fround(c.params.weightDecay);
    const [g] = c.inputs;
    const [p0, b0] = c.initial as HostArray[];
    const ulp = (v: number) => 2 * U * Math.abs(v);
    return (i) => {
      const d = g[i] + wd * p0[i];
      const dD = U * Math.abs(wd * p0[i]) + ulp(d);
      const b = m === 0 ? d : m * b0[i] + d;
      const dB = m === 0 ? dD : U * Math.abs(m * b0[i]) + dD + ulp(b);
      return o === 1 ? dB : U * Math.abs(lr * b) + lr * dB + ulp(want[i]) + TINY;
    };
  },
};

export const normConformance: Record<string, ConformanceEntry<never>> = {
  batchnorm2d_forward: batchnormForward,
  batchnorm2d_backward: batchnormBackward,
  softmax_cross_entropy: softmaxCrossEntropy,
  mse_loss: mseLoss,
  sgd_update: sgdUpdate,
} as never;

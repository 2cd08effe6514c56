/**
 * The conformance table: for every registered tensor kernel, the calls to check on every backend against the
 * `js` reference, and the tolerance that says "equal up to the backend's rounding". A registered kernel
 * without an entry fails the conformance test, so a new kernel cannot skip it.
 */
import { lcgArray } from '../../src/bench/problems.js';
import type { HostArray, TensorInfo } from '../../src/kernels/types.js';
import type { MatmulParams } from '../../src/kernels/matmul.js';
import type { PhiloxFillParams } from '../../src/kernels/philox_fill.js';
import type { FmaPeakParams } from '../../src/kernels/fma_peak.js';
import type { StreamCopyParams } from '../../src/kernels/stream_copy.js';
import { analysisConformance } from './cases/analysis.js';
import { normConformance } from './cases/norm.js';
import { layers } from './cases/layers.js';
import { conv2dConformance } from './cases/conv2d.js';
import { reproConformance } from './cases/repro.js';

export interface ConformanceCase<P> {
  readonly label: string;
  readonly params: P;
  readonly inputs: readonly HostArray[];
  /** Initial output contents, for kernels that read their outputs (matmul's accumulate). */
  readonly initial?: readonly (HostArray | undefined)[];
}

export interface ConformanceEntry<P> {
  readonly cases: () => ConformanceCase<P>[];
  /** Largest allowed |got − want| at each element of output `o` (0 for bit-exact). */
  tolerance(c: ConformanceCase<P>, o: number, want: HostArray, out: TensorInfo): (i: number) => number;
}

/** Deterministic uniform(−1, 1) values (an LCG: no dependency on the generator under test). */
export const randomArray = lcgArray;

const U = 2 ** -24;

function matmulCase(label: string, p: MatmulParams & { shareA?: boolean; shareB?: boolean }, seed: number): ConformanceCase<MatmulParams> {
  const { shareA, shareB, ...params } = p;
  const batch = p.batch ?? 1;
  const a = randomArray((shareA ? 1 : batch) * p.m * p.k, seed);
  const b = randomArray((shareB ? 1 : batch) * p.k * p.n, seed + 1);
  const initial = p.accumulate ? [randomArray(batch * p.m * p.n, seed + 2)] : undefined;
  return { label, params, inputs: [a, b], initial };
}

/** The workgroup tile of shaders/matmul.wgsl is 64 × 64: sizes straddle it. */
const matmul: ConformanceEntry<MatmulParams> = {
  cases: () => {
    const list: ConformanceCase<MatmulParams>[] = [];
    let seed = 1;
    for (const [m, n, k] of [[0, 5, 3], [4, 0, 3], [3, 5, 0], [1, 1, 1], [63, 63, 63], [64, 64, 64], [65, 65, 65], [7, 33, 129], [100, 17, 3]]) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          list.push(matmulCase(`${m}×${n}×${k} tA=${+transposeA} tB=${+transposeB}`, { m, n, k, transposeA, transposeB }, seed++));
        }
      }
    }
    list.push(matmulCase('accumulate 31×9×40', { m: 31, n: 9, k: 40, accumulate: true }, seed++));
    list.push(matmulCase('accumulate k=0 keeps C', { m: 5, n: 6, k: 0, accumulate: true }, seed++));
    list.push(matmulCase('batch 3 dense, tA', { m: 13, n: 70, k: 21, batch: 3, transposeA: true }, seed++));
    list.push(matmulCase('batch 4, A shared', { m: 9, n: 66, k: 5, batch: 4, shareA: true }, seed++));
    list.push(matmulCase('batch 2, B shared, tB, accumulate', { m: 65, n: 3, k: 17, batch: 2, shareB: true, transposeB: true, accumulate: true }, seed++));
    list.push(matmulCase('large 257×130×300', { m: 257, n: 130, k: 300 }, seed++));
    list.push(matmulCase('training shape 128×10×3136', { m: 128, n: 10, k: 3136 }, seed++));
    return list;
  },
  // f32 sums of k products: error ≤ c·√k·u·Σ|a||b| for blocked/FMA summation (the reference rounds once).
  tolerance(c) {
    const { m, n, k, transposeA: ta, transposeB: tb } = c.params;
    const batch = c.params.batch ?? 1;
    const [a, b] = c.inputs;
    const sa = a.length === m * k && batch > 1 ? 0 : m * k, sb = b.length === k * n && batch > 1 ? 0 : k * n;
    const scale = 4 * Math.sqrt(Math.max(k, 1)) * U;
    return (idx) => {
      const q = Math.floor(idx / (m * n)), i = Math.floor((idx % (m * n)) / n), j = idx % n;
      let abs = 0;
      for (let l = 0; l < k; l++) abs += Math.abs(a[q * sa + (ta ? l * m + i : i * k + l)] * b[q * sb + (tb ? j * k + l : l * n + j)]);
      const c0 = c.initial?.[0]?.[idx] ?? 0;
      return scale * abs + 2 * U * Math.abs(c0) + 1e-30;
    };
  },
};

/** shaders/philox_fill.wgsl runs 64 threads of 4 draws: sizes straddle 256 draws and lane offsets. */
const philoxFill: ConformanceEntry<PhiloxFillParams> = {
  cases: () => {
    const list: ConformanceCase<PhiloxFillParams>[] = [];
    for (const kind of ['uint32', 'uniform', 'normal'] as const) {
      for (const [count, offset] of [[0, 0], [1, 0], [255, 1], [256, 0], [257, 3], [1001, 2 ** 33 + 2], [70_001, 5]]) {
        list.push({ label: `${kind} ${count} from ${offset}`, params: { kind, seed: 12345, stream: 7, offset, count }, inputs: [] });
      }
    }
    return list;
  },
  // u32 and uniform draws are bit-identical; normals differ by the device's log/sqrt/sin/cos rounding.
  tolerance: (c, _o, want) => (c.params.kind === 'normal' ? (i) => 2e-5 + 1e-6 * Math.abs(want[i]) : () => 0),
};

/** Ceiling kernels of `collapse bench`. fma_peak: 16 outputs per webgpu thread, 96 per native AVX2 task. */
const fmaPeak: ConformanceEntry<FmaPeakParams> = {
  cases: () => [[0, 5], [1, 0], [1, 3], [15, 7], [16, 40], [17, 40], [95, 33], [96, 33], [97, 33], [1025, 64], [5000, 9]].flatMap(([n, iterations]) => [
    { label: `n=${n} iterations=${iterations}`, params: { n, iterations }, inputs: [] },
    { label: `n=${n} iterations=${iterations} a=0.75 b=-0.125`, params: { n, iterations, a: 0.75, b: -0.125 }, inputs: [] },
  ]),
  // The reference rounds x·a + b once per step; an FMA rounds once too, a contracting map keeps the difference small.
  tolerance: (_c, _o, want) => (i) => 1e-6 * (1 + Math.abs(want[i])),
};

/** stream_copy: 256 elements per webgpu workgroup, 2^16 per native chunk. */
const streamCopy: ConformanceEntry<StreamCopyParams> = {
  cases: () => [0, 1, 255, 256, 257, 65_537, 200_003].map((n, k) => ({ label: `n=${n}`, params: { n }, inputs: [randomArray(n, 90 + k)] })),
  tolerance: () => () => 0,
};

export const conformance: Record<string, ConformanceEntry<never>> = { matmul, philox_fill: philoxFill, fma_peak: fmaPeak, stream_copy: streamCopy, ...normConformance, ...layers, ...conv2dConformance, ...analysisConformance, ...reproConformance } as never;

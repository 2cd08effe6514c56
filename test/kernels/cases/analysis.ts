/**
 * Conformance entries of the collapse-analysis kernels (neuron_distances). Sizes straddle the webgpu tile (64 × 64
 * outputs, 16 entries per stage), the native register block (2 × 4 pairs), block (64 × 64) and chunk (256 entries).
 */
import { lcgArray } from '../../../src/bench/problems.js';
import type { NeuronDistancesParams } from '../../../src/kernels/neuron_distances.js';
import type { ConformanceCase, ConformanceEntry } from '../cases.js';

const U = 2 ** -24;

/** Rows of `base` repeated with a relative perturbation of `scale` (distances ≈ 2·scale²·(1/3)/(1/3) ≈ scale²). */
export function nearDuplicates(count: number, dim: number, scale: number, seed: number): Float32Array {
  const base = lcgArray(dim, seed);
  const noise = lcgArray(count * dim, seed + 1);
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) for (let k = 0; k < dim; k++) out[i * dim + k] = base[k] * (1 + scale * noise[i * dim + k]);
  return out;
}

function distanceCase(label: string, p: NeuronDistancesParams, seed: number, a = lcgArray(p.count * p.dim, seed)): ConformanceCase<NeuronDistancesParams> {
  const b = p.countB === undefined ? a : lcgArray(p.countB * p.dim, seed + 7);
  return { label, params: p, inputs: [a, b] };
}

const neuronDistances: ConformanceEntry<NeuronDistancesParams> = {
  cases: () => {
    const list: ConformanceCase<NeuronDistancesParams>[] = [];
    let seed = 300;
    for (const [count, dim] of [[0, 5], [1, 3], [2, 0], [3, 1], [5, 7], [7, 8], [9, 9], [63, 17], [64, 16], [65, 33], [130, 40], [33, 255], [17, 256], [12, 257], [70, 600]]) {
      list.push(distanceCase(`self ${count}×${dim}`, { count, dim }, seed++));
    }
    for (const [count, countB, dim] of [[0, 4, 3], [4, 0, 3], [1, 1, 1], [3, 5, 2], [64, 65, 20], [65, 63, 31], [6, 130, 300], [129, 7, 9]]) {
      list.push(distanceCase(`cross ${count}×${countB}, dim ${dim}`, { count, countB, dim }, seed++));
    }
    list.push(distanceCase('self 40×50, epsilon 2^-10', { count: 40, dim: 50, epsilon: 2 ** -10 }, seed++));
    list.push(distanceCase('cross 9×11, dim 6, epsilon 0.5', { count: 9, countB: 11, dim: 6, epsilon: 0.5 }, seed++));
    // Collapse's signal: near-identical rows, d ≈ 1e-6 and ≈ 1e-10, which the expanded form |a|²+|b|²−2a·b loses.
    list.push(distanceCase('near duplicates 67×300, d ≈ 1e-6', { count: 67, dim: 300 }, 0, nearDuplicates(67, 300, 1e-3, seed++)));
    list.push(distanceCase('near duplicates 20×1000, d ≈ 1e-10', { count: 20, dim: 1000 }, 0, nearDuplicates(20, 1000, 1e-5, seed++)));
    const dup = nearDuplicates(66, 129, 1e-3, seed++);
    const reversed = new Float32Array(dup.length);
    for (let i = 0; i < 66; i++) reversed.set(dup.subarray(i * 129, (i + 1) * 129), (65 - i) * 129);
    list.push({ label: 'near duplicates, cross 66×66, dim 129', params: { count: 66, countB: 66, dim: 129 }, inputs: [dup, reversed] });
    // Zero rows: 0/ε and, with ε = 0, 0 between two zero rows.
    const zeros = lcgArray(10 * 12, seed++);
    zeros.fill(0, 0, 36);
    list.push({ label: 'zero rows, epsilon 0', params: { count: 10, dim: 12 }, inputs: [zeros, zeros] });
    list.push({ label: 'zero rows, epsilon 2^-20', params: { count: 10, dim: 12, epsilon: 2 ** -20 }, inputs: [zeros, zeros] });
    return list;
  },
  // Every sum is of non-negative terms (a difference of near-equal f32 values is exact, otherwise one rounding),
  // so a backend's f32 sums have relative error ≤ (dim + 3)·u, its norms ≤ (dim + 1)·u, and d = 2S/(‖a‖²+‖b‖²+ε)
  // ≤ (2·dim + 10)·u, relative to d itself: tiny distances are held to the same relative bound as large ones.
  tolerance: (c, _o, want) => (i) => (2 * c.params.dim + 10) * U * Math.abs(want[i]),
};

export const analysisConformance = { neuron_distances: neuronDistances };

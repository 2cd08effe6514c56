/**
 * Benchmark problems of the collapse-analysis kernel (neuron_distances) for `collapse bench`: the distance matrix of
 * a VGG-16 layer's neurons, K vectors of 4608 entries (a 3 × 3 filter over 512 channels, PAPER.md §4.1), against
 * SciPy's pdist (float64 C loops) on the same sizes. bench/suite-analysis.mjs has the full comparison.
 */
import { neuronDistances } from '../kernels/neuron_distances.js';
import { deferred, lcgArray, tensorCall, type KernelBench } from './problems.js';

/** Entries of a 3 × 3 conv filter over 512 input channels. */
const DIM = 4608;

export const analysisBenches: Readonly<Record<string, KernelBench>> = {
  neuron_distances: {
    kernel: 'neuron_distances',
    unit: 'FLOP',
    sizeName: `neurons K (K × K distances of ${DIM}-entry vectors: a 3×3 filter over 512 channels)`,
    sizes: [256, 512, 1024],
    quickSizes: [256],
    smallSizes: [64],
    maxSize: 8192,
    problem(size) {
      const params = { count: size, dim: DIM, epsilon: 1e-8 };
      const work = neuronDistances.work(params, []);
      return { label: `${size}×${DIM}`, params, work, roof: { flop: work } };
    },
    prepare(backend, p) {
      const { count, dim } = p.params as { count: number; dim: number };
      const x = lcgArray(count * dim, 1);
      return deferred(tensorCall(backend, 'neuron_distances', p.params, [x, x]));
    },
    roofNote: 'neuron_distances: 2 FLOP (a subtraction and an FMA) per pair and entry, K(K−1)/2 pairs, against the FMA peak',
    peers: [{
      library: 'scipy', label: "scipy pdist(X, 'sqeuclidean') f64", script: 'scipy_distances.py', threads: 'one',
      args: (sizes, { quick }) => [['--threads', '1', '--only', 'pdist', '--repeat', quick ? '3' : '5', '--budget', quick ? '0.3' : '1', ...sizes.flatMap((s) => ['--distances', `${s}x${DIM}`])]],
      parse: (out, sizes) => ((out as { distances?: { K: number; pdist: { median: number; times: number[] } }[] }).distances ?? [])
        .filter((r) => sizes.includes(r.K)).map((r) => ({ size: r.K, medianSeconds: r.pdist.median, samples: r.pdist.times })),
    }],
  },
};

/**
 * neuron_distances: normalized squared distances between neuron vectors (PAPER.md §4.2),
 * d(a, b) = 2‖a − b‖² / (‖a‖² + ‖b‖² + ε), for every pair of rows of A (count × dim) and B (countB × dim), or of
 * A with itself. d = 0 for identical vectors, 2 for orthogonal vectors of equal norm, 4 for b = −a.
 *
 * Near-identical neurons are the signal (collapse makes them equal), so ‖a − b‖² is summed from the differences
 * themselves, never as ‖a‖² + ‖b‖² − 2a·b: that expanded form cancels catastrophically in f32 (its absolute
 * error is about u·(‖a‖² + ‖b‖²), so every d below ~1e-6 is noise), while the difference sum keeps the relative
 * error of every d, however small, at the level of f32 rounding.
 * - webgpu: shaders/neuron_distances.wgsl, 64 × 64 output tiles through workgroup memory (like matmul).
 * - native: native/neuron_distances.cc, blocks of 64 × 64 pairs, dim in L1-sized chunks, a 2 × 4 AVX2/FMA
 *   register block of difference sums (4 × 4 of 16 lanes where the processor has AVX-512), over the pool.
 * - js: the reference below, f64 throughout, rounded once to f32.
 */
import { invalidArgument } from '../errors.js';
import { finiteNumber, integerIn, plainObject } from '../validate.js';
import { hostRuns, type HostKernel } from './run.js';
import { MAX_ELEMENTS } from './tensor.js';
import { sizeOf, type KernelSpec, type TensorInfo } from './types.js';

export interface NeuronDistancesParams {
  /** Vectors in A: the output's rows. */
  readonly count: number;
  /** Entries of every vector. 0 gives d = 0 everywhere. */
  readonly dim: number;
  /**
   * Vectors in B: the output's columns. Absent: A is compared with itself (count × count, exactly symmetric with a
   * zero diagonal, half the work), and B is not read (pass A again).
   */
  readonly countB?: number;
  /** ε of the denominator (default 0; the paper adds 1e-8). With ε = 0, two zero vectors are at distance 0. */
  readonly epsilon?: number;
}

/** Output tile of one webgpu workgroup (the `override` constants of shaders/neuron_distances.wgsl). */
export const DISTANCE_TILE = { TILE_M: 64, TILE_N: 64, TILE_K: 16, TM: 4, TN: 4, WG: 256 } as const;

interface Resolved { count: number; countB: number; dim: number; symmetric: boolean; epsilon: number }

function resolve(p: NeuronDistancesParams): Resolved {
  plainObject('neuron_distances params', p);
  const count = integerIn('neuron_distances count', p.count, 0, MAX_ELEMENTS);
  const dim = integerIn('neuron_distances dim', p.dim, 0, MAX_ELEMENTS);
  const symmetric = p.countB === undefined;
  const countB = symmetric ? count : integerIn('neuron_distances countB', p.countB, 0, MAX_ELEMENTS);
  const epsilon = finiteNumber('neuron_distances epsilon', p.epsilon ?? 0);
  if (epsilon < 0) throw invalidArgument('neuron_distances epsilon', epsilon, 'a finite number ≥ 0');
  return { count, countB, dim, symmetric, epsilon };
}

const tiles = (x: number, t: number) => Math.ceil(x / t);
/** Every tile of the output; in the symmetric case those below the diagonal return at once (their mirror writes them). */
const groupsOf = (p: NeuronDistancesParams) => {
  const r = resolve(p);
  return tiles(r.count, DISTANCE_TILE.TILE_M) * tiles(r.countB, DISTANCE_TILE.TILE_N);
};

/**
 * The reference, over plain arrays (f64 when given f64 arrays): d[i·countB + j] for rows i of A and j of B.
 * Symmetric: only i < j is computed from A and mirrored; the diagonal is 0.
 */
export function neuronDistancesCore(p: NeuronDistancesParams, a: ArrayLike<number>, b: ArrayLike<number>, out: { [i: number]: number }): void {
  const { count, countB, dim, symmetric, epsilon } = resolve(p);
  const rowsB = symmetric ? a : b;
  const norm = (x: ArrayLike<number>, i: number) => {
    let s = 0;
    for (let k = 0; k < dim; k++) s += x[i * dim + k] * x[i * dim + k];
    return s;
  };
  const normsA = Array.from({ length: count }, (_, i) => norm(a, i));
  const normsB = symmetric ? normsA : Array.from({ length: countB }, (_, j) => norm(rowsB, j));
  for (let i = 0; i < count; i++) {
    for (let j = symmetric ? i : 0; j < countB; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const d = a[i * dim + k] - rowsB[j * dim + k];
        s += d * d;
      }
      const den = normsA[i] + normsB[j] + epsilon;
      // Two zero vectors with ε = 0: identical, so 0 (not 0/0). NaN inputs still give NaN (den is NaN, not 0).
      const v = den === 0 ? 0 : (2 * s) / den;
      out[i * countB + j] = v;
      if (symmetric) out[j * countB + i] = v;
    }
  }
}

export const neuronDistances: KernelSpec<NeuronDistancesParams> = {
  name: 'neuron_distances',
  summary: 'normalized distances 2‖a−b‖²/(‖a‖²+‖b‖²+ε) between neuron vectors, by differences (no f32 cancellation)',
  fields: [
    { name: 'count', type: 'u32', value: (p) => resolve(p).count },
    { name: 'count_b', type: 'u32', value: (p) => resolve(p).countB },
    { name: 'dim', type: 'u32', value: (p) => p.dim },
    { name: 'symmetric', type: 'u32', value: (p) => (p.countB === undefined ? 1 : 0) },
    { name: 'epsilon', type: 'f32', value: (p) => p.epsilon ?? 0 },
    { name: 'tiles_m', type: 'u32', value: (p) => tiles(p.count, DISTANCE_TILE.TILE_M) },
    { name: 'tiles_n', type: 'u32', value: (p) => tiles(resolve(p).countB, DISTANCE_TILE.TILE_N) },
    { name: 'groups', type: 'u32', value: groupsOf },
  ],
  validate(p, inputs: readonly TensorInfo[]): TensorInfo[] {
    const { count, countB, dim, symmetric } = resolve(p);
    if (inputs.length !== 2) throw invalidArgument('neuron_distances inputs', `${inputs.length} tensors`, 'two tensors, A and B (pass A twice to compare A with itself)');
    inputs.forEach((t, i) => { if (t.dtype !== 'f32') throw invalidArgument(`neuron_distances ${'AB'[i]}`, `a ${t.dtype} tensor`, 'an f32 tensor'); });
    const [sa, sb] = inputs.map((t) => sizeOf(t.shape));
    if (sa !== count * dim) throw invalidArgument('neuron_distances A', `${sa} elements`, `count × dim = ${count}×${dim} (${count * dim} elements)`);
    if (symmetric) {
      if (sb !== sa) throw invalidArgument('neuron_distances B', `${sb} elements`, `A again (${sa} elements): without countB, A is compared with itself and B is not read`);
    } else if (sb !== countB * dim) {
      throw invalidArgument('neuron_distances B', `${sb} elements`, `countB × dim = ${countB}×${dim} (${countB * dim} elements)`);
    }
    if (count * countB > MAX_ELEMENTS) throw invalidArgument('neuron_distances output', `${count}×${countB}`, `at most ${MAX_ELEMENTS} elements`);
    return [{ dtype: 'f32', shape: [count, countB] }];
  },
  reference(p, [a, b], [out]) {
    neuronDistancesCore(p, a, b, out);
  },
  webgpu: {
    shaders: ['gemm_tile.wgsl', 'neuron_distances.wgsl'],
    overrides: () => ({ ...DISTANCE_TILE }),
    workgroups: groupsOf,
  },
  // Below ~0.5 ms (about 2^23 pair-entries at ~20 G/s) the promise costs more than blocking the caller.
  nativeAsync: (p) => pairEntries(p) > 2 ** 23,
  // Two operations per pair and entry (a subtraction and a fused multiply-add): the unit of the throughput.
  work: (p) => 2 * pairEntries(p),
  workUnit: 'FLOP',
};

/** Pairs × dim actually summed (half the square, diagonal excluded, when A is compared with itself). */
function pairEntries(p: NeuronDistancesParams): number {
  const { count, countB, dim, symmetric } = resolve(p);
  return (symmetric ? (count * (count - 1)) / 2 : count * countB) * dim;
}

/** Arguments of `engine.kernels.neuronDistances`. */
export interface NeuronDistancesArgs {
  /** count × dim, row-major: one neuron vector per row. */
  readonly vectors: Float32Array;
  readonly count: number;
  readonly dim: number;
  /** A second set (otherCount × dim): the result is count × otherCount, d(vectors[i], others[j]). */
  readonly others?: Float32Array;
  readonly otherCount?: number;
  /** ε of the denominator (default 0). */
  readonly epsilon?: number;
}

/** The host-array form of neuron_distances (engine.kernels.neuronDistances): one upload of each set. */
export const neuronDistancesHost: HostKernel<NeuronDistancesArgs, Float32Array> = {
  async call(backend, args) {
    plainObject('neuronDistances arguments', args);
    const { vectors, others, count, dim, otherCount, epsilon } = args;
    if (!(vectors instanceof Float32Array)) throw invalidArgument('neuronDistances vectors', vectors, 'a Float32Array of count × dim entries');
    if (others === undefined && otherCount !== undefined) throw invalidArgument('neuronDistances otherCount', otherCount, 'absent unless others is given');
    if (others !== undefined) {
      if (!(others instanceof Float32Array)) throw invalidArgument('neuronDistances others', others, 'a Float32Array of otherCount × dim entries');
      if (otherCount === undefined) throw invalidArgument('neuronDistances otherCount', otherCount, 'the number of vectors in others');
    }
    const params: NeuronDistancesParams = { count, dim, ...(others ? { countB: otherCount } : {}), ...(epsilon === undefined ? {} : { epsilon }) };
    return hostRuns(backend, async (io) => {
      const a = io.upload(vectors);
      const [d] = io.run(neuronDistances, params, [a, others ? io.upload(others) : a]);
      return (await io.read(d)) as Float32Array;
    });
  },
};

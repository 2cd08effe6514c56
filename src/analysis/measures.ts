/**
 * Collapse measures of one layer (PAPER.md §4.3–4.5), from its neurons' concatenated vectors and their distance
 * matrix: vanishing neurons, the paper's greedy grouping into "independent neurons" (and, beside it, connected
 * components), the fraction of independent neurons and the effective rank.
 */
import { invalidArgument } from '../errors.js';
import { symmetricEigenvalues } from './eigen.js';

/** Euclidean norm of each row of a count × dim matrix, in f64. */
export function rowNorms(vectors: ArrayLike<number>, count: number, dim: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += vectors[i * dim + k] * vectors[i * dim + k];
    out[i] = Math.sqrt(s);
  }
  return out;
}

/**
 * §4.3: neuron c vanishes when ‖v_c‖ / max_j ‖v_j‖ < `threshold` (the paper's 0.1, written 10e-2 in its code).
 * A layer whose vectors are all zero vanishes entirely.
 */
export function vanishingMask(norms: Float64Array, threshold: number): Uint8Array {
  let max = 0;
  for (const x of norms) if (x > max) max = x;
  return Uint8Array.from(norms, (x) => (max === 0 || x / max < threshold ? 1 : 0));
}

/** The greedy grouping's result: each key (an independent neuron) with the neurons it absorbed. */
export interface GreedyGroups {
  /** Keys in increasing index, each with the neurons assigned to it (possibly none). */
  readonly groups: ReadonlyMap<number, readonly number[]>;
  /** Number of keys: the count of independent neurons. */
  readonly count: number;
}

/**
 * §4.4, exactly as the paper's code: over the neurons in `keep` (original order), visit pairs i < j
 * lexicographically; for d(i, j) < τ, skip the pair if j is already assigned, else assign i (if not yet) and j and
 * append j to i's group (creating key i). Every neuron never assigned is its own key. A chain a~b, b~c with a≁c
 * gives two keys (a and b), where connected components give one.
 */
export function greedyGroups(distances: ArrayLike<number>, count: number, tau: number, keep?: ArrayLike<number>): GreedyGroups {
  const members = keep ? Array.from(keep) : Array.from({ length: count }, (_, i) => i);
  const assigned = new Uint8Array(count);
  const groups = new Map<number, number[]>();
  for (let a = 0; a < members.length; a++) {
    const i = members[a];
    const row = i * count;
    for (let b = a + 1; b < members.length; b++) {
      const j = members[b];
      if (!(distances[row + j] < tau) || assigned[j]) continue;
      assigned[i] = 1;
      assigned[j] = 1;
      const g = groups.get(i);
      if (g) g.push(j);
      else groups.set(i, [j]);
    }
  }
  for (const i of members) if (!assigned[i]) groups.set(i, []);
  const sorted = new Map([...groups.entries()].sort((x, y) => x[0] - y[0]));
  return { groups: sorted, count: sorted.size };
}

/** Connected components of the graph "d(i, j) < τ" over the neurons in `keep` (all when absent). */
export function connectedComponents(distances: ArrayLike<number>, count: number, tau: number, keep?: ArrayLike<number>): number {
  const members = keep ? Array.from(keep) : Array.from({ length: count }, (_, i) => i);
  const parent = Int32Array.from({ length: count }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) { parent[x] = parent[parent[x]]; x = parent[x]; }
    return x;
  };
  let components = members.length;
  for (let a = 0; a < members.length; a++) {
    const i = members[a];
    for (let b = a + 1; b < members.length; b++) {
      const j = members[b];
      if (distances[i * count + j] < tau) {
        const ri = find(i), rj = find(j);
        if (ri !== rj) { parent[ri] = rj; components--; }
      }
    }
  }
  return components;
}

/** Singular values of the count × dim matrix `rows`, descending (via the smaller Gram matrix, in f64). */
export function singularValues(rows: ArrayLike<number>, count: number, dim: number): Float64Array {
  const n = Math.min(count, dim);
  const gram = new Float64Array(n * n);
  if (count <= dim) {
    const r = Float64Array.from(rows);
    for (let i = 0; i < count; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        const oi = i * dim, oj = j * dim;
        for (let k = 0; k < dim; k++) s += r[oi + k] * r[oj + k];
        gram[i * n + j] = s;
        gram[j * n + i] = s;
      }
    }
  } else {
    // Columns as rows (transposed once) so the inner products run along contiguous memory.
    const t = new Float64Array(dim * count);
    for (let i = 0; i < count; i++) for (let k = 0; k < dim; k++) t[k * count + i] = rows[i * dim + k];
    for (let a = 0; a < dim; a++) {
      for (let b = 0; b <= a; b++) {
        let s = 0;
        for (let i = 0; i < count; i++) s += t[a * count + i] * t[b * count + i];
        gram[a * n + b] = s;
        gram[b * n + a] = s;
      }
    }
  }
  const eig = symmetricEigenvalues(gram, n);
  return Float64Array.from(eig, (x) => Math.sqrt(Math.max(0, x))).reverse();
}

/**
 * §4.5's effective rank: the entropy −Σ p_i log(p_i + 1e-8) of p_i = s_i / Σ s over the singular values s of the
 * matrix whose rows are the neurons' vectors (natural log, the paper's 1e-8). 0 for an all-zero matrix.
 */
export function effectiveRank(rows: ArrayLike<number>, count: number, dim: number): number {
  const s = singularValues(rows, count, dim);
  const total = s.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return 0;
  let h = 0;
  for (const x of s) {
    const p = x / total;
    h -= p * Math.log(p + 1e-8);
  }
  return h;
}

/** The measures of one layer. */
export interface LayerMeasures {
  readonly neurons: number;
  /** Neurons below the vanishing threshold (indices, increasing). */
  readonly vanishing: readonly number[];
  /** Keys of the greedy grouping over the non-vanishing neurons: the independent neurons. */
  readonly independent: number;
  /** independent / neurons (vanishing neurons stay in the denominator). */
  readonly fraction: number;
  /** Connected components of d < τ over the non-vanishing neurons. */
  readonly components: number;
  /** components / neurons. */
  readonly componentFraction: number;
  /** Greedy groups with more than one neuron: [key, ...absorbed]. */
  readonly groups: readonly (readonly number[])[];
  readonly effectiveRank: number;
}

/**
 * Everything §4.3–4.5 measures for one layer, from the concatenated vectors (count × dim) and their distance
 * matrix (count × count).
 * @example
 * const m = layerMeasures(cat, dCat, 512, 4609, { tau: 0.1, vanish: 0.1 });
 * console.log(m.fraction);
 */
export function layerMeasures(vectors: ArrayLike<number>, distances: ArrayLike<number>, count: number, dim: number,
  options: { tau: number; vanish: number; effectiveRank?: boolean }): LayerMeasures {
  const { tau, vanish } = options;
  if (!(tau > 0 && Number.isFinite(tau))) throw invalidArgument('tau', tau, 'a finite number > 0');
  if (!(vanish >= 0 && vanish < 1)) throw invalidArgument('vanish', vanish, 'a number in [0, 1)');
  const mask = vanishingMask(rowNorms(vectors, count, dim), vanish);
  const vanishing: number[] = [];
  const keep: number[] = [];
  mask.forEach((m, i) => (m ? vanishing : keep).push(i));
  const greedy = greedyGroups(distances, count, tau, keep);
  const components = connectedComponents(distances, count, tau, keep);
  return {
    neurons: count,
    vanishing,
    independent: greedy.count,
    fraction: count === 0 ? 0 : greedy.count / count,
    components,
    componentFraction: count === 0 ? 0 : components / count,
    groups: [...greedy.groups.entries()].filter(([, m]) => m.length > 0).map(([k, m]) => [k, ...m]),
    effectiveRank: options.effectiveRank === false ? NaN : effectiveRank(vectors, count, dim),
  };
}

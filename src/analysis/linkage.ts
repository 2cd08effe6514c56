/**
 * Hierarchical clustering of neurons: average linkage (UPGMA) in SciPy's linkage-matrix convention, the cut into a
 * given number of clusters, and the neuron order of the paper's distance-matrix figure (PAPER.md §4.6).
 *
 * `averageLinkage` runs in native code (native/average_linkage.cc, the nearest-neighbour chain on the full f64
 * matrix, O(count²) memory and time) and falls back to {@link averageLinkageJs}, the same algorithm step for step,
 * when the addon is not built. Both reproduce `scipy.cluster.hierarchy.linkage(y, method='average')` exactly,
 * ties included.
 */
import { CollapseError, invalidArgument } from '../errors.js';
import { NativeBackend } from '../backends/native.js';
import { integerIn } from '../validate.js';

/** How `averageLinkage` runs (tuning and testing knobs; every choice gives the same matrix). */
export interface LinkageOptions {
  /** 'native' (default when the addon is built) or the JS twin. */
  readonly implementation?: 'native' | 'js';
  /** Native working layout: SciPy's condensed vector or the full matrix (default: by size, the faster here). */
  readonly layout?: 'auto' | 'condensed' | 'square';
}

/** Distances between `count` points: the full count × count matrix (upper triangle read) or SciPy's condensed form. */
export type DistanceInput = Float32Array | Float64Array;

interface Checked { square: boolean; count: number }

function check(distances: DistanceInput, count: number): Checked {
  const n = integerIn('averageLinkage count', count, 0, 2 ** 16);
  if (!(distances instanceof Float32Array || distances instanceof Float64Array)) {
    throw invalidArgument('averageLinkage distances', distances, 'a Float32Array or Float64Array');
  }
  const pairs = (n * (n - 1)) / 2;
  const square = distances.length === n * n;
  if (!square && distances.length !== pairs) {
    throw invalidArgument('averageLinkage distances', `${distances.length} entries`, `count × count = ${n * n} entries (a square matrix) or count·(count−1)/2 = ${pairs} (condensed, as scipy.spatial.distance.pdist returns)`);
  }
  return { square, count: n };
}

/** Throws, naming the first pair, when a distance is NaN or infinite (SciPy refuses those too). */
function checkFinite(distances: DistanceInput, n: number, square: boolean): void {
  let c = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++, c++) {
      const v = square ? distances[i * n + j] : distances[c];
      if (!Number.isFinite(v)) {
        throw new CollapseError('INVALID_ARGUMENT', `averageLinkage distances must be finite; the distance between points ${i} and ${j} is ${v}`, { argument: 'distances', i, j, value: v });
      }
    }
  }
}

/**
 * Average-linkage (UPGMA) clustering of `count` points, as `scipy.cluster.hierarchy.linkage(y, method='average')`:
 * a (count − 1) × 4 row-major Float64Array whose row k = (a, b, height, size) merges clusters a < b at `height` into
 * cluster count + k holding `size` points (points are 0 .. count − 1). Heights are non-decreasing. `distances` is a
 * count × count matrix (its upper triangle is used, e.g. `engine.kernels.neuronDistances`' output) or SciPy's
 * condensed vector. count < 2 gives an empty matrix. Native code when the addon is built, else the JS twin.
 * @example
 * const d = await engine.kernels.neuronDistances({ vectors, count, dim });
 * const z = await averageLinkage(d, count);            // same as SciPy's linkage(squareform(d), 'average')
 * const labels = cutTree(z, count, 10);                // 10 clusters
 */
export async function averageLinkage(distances: DistanceInput, count: number, options: LinkageOptions = {}): Promise<Float64Array> {
  const { square, count: n } = check(distances, count);
  const z = new Float64Array(n < 2 ? 0 : (n - 1) * 4);
  if (n < 2) return z;
  const wanted = options.implementation ?? (NativeBackend.available() ? 'native' : 'js');
  if (wanted === 'js') {
    checkFinite(distances, n, square);
    return linkageJs(distances, n, square);
  }
  const layout = ['auto', 'condensed', 'square'].indexOf(options.layout ?? 'auto');
  if (layout < 0) throw invalidArgument('averageLinkage layout', options.layout, "'auto', 'condensed' or 'square'");
  const addon = NativeBackend.load({ threads: 1 }).addon;
  try {
    // Below ~1000 points the run takes a few milliseconds: inline; above, on the addon's pool behind a promise.
    const result = addon.run('average_linkage', '', Float64Array.of(n, square ? 1 : 0, layout), [distances, z], 1, null, n > 1000);
    if (result) await result;
  } catch (error) {
    checkFinite(distances, n, square); // the addon checks too, in one pass; here the pair is found for the message
    throw error;
  }
  return z;
}

/** {@link averageLinkage} in plain JS (the same algorithm and arithmetic as the native code). */
export function averageLinkageJs(distances: DistanceInput, count: number): Float64Array {
  const { square, count: n } = check(distances, count);
  checkFinite(distances, n, square);
  return n < 2 ? new Float64Array(0) : linkageJs(distances, n, square);
}

function linkageJs(distances: DistanceInput, n: number, square: boolean): Float64Array {
  const D = new Float64Array(n * n);
  let c = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = square ? distances[i * n + j] : distances[c++];
      D[i * n + j] = v;
      D[j * n + i] = v;
    }
    D[i * n + i] = Infinity;
  }
  const size = new Int32Array(n).fill(1);
  const chain: number[] = [];
  const rows = new Float64Array((n - 1) * 4);
  let lowest = 0;
  for (let k = 0; k < n - 1; k++) {
    if (chain.length === 0) {
      while (size[lowest] === 0) lowest++;
      chain.push(lowest);
    }
    let x: number, y: number, current: number;
    for (;;) {
      x = chain[chain.length - 1];
      const prev = chain.length > 1 ? chain[chain.length - 2] : -1;
      current = prev >= 0 ? D[x * n + prev] : Infinity;
      y = prev;
      // SciPy's scan: the first strictly smaller distance wins, starting from the chain's previous element.
      for (let i = 0, o = x * n; i < n; i++) {
        if (D[o + i] < current) {
          current = D[o + i];
          y = i;
        }
      }
      if (prev >= 0 && y === prev) break;
      chain.push(y);
    }
    chain.length -= 2;
    if (x > y) [x, y] = [y, x];
    const nx = size[x], ny = size[y];
    rows.set([x, y, current, nx + ny], k * 4);
    size[x] = 0;
    size[y] = nx + ny;
    for (let i = 0; i < n; i++) {
      if (size[i] === 0 || i === y) continue;
      const v = (nx * D[x * n + i] + ny * D[y * n + i]) / (nx + ny);
      D[y * n + i] = v;
      D[i * n + y] = v;
    }
    for (let i = 0; i < n; i++) {
      D[i * n + x] = Infinity;
      D[x * n + i] = Infinity;
    }
  }
  return relabel(rows, n);
}

/** SciPy's post-processing: rows stably sorted by height, cluster ids from a union-find in that order. */
function relabel(rows: Float64Array, n: number): Float64Array {
  const order = Array.from({ length: n - 1 }, (_, k) => k).sort((a, b) => rows[a * 4 + 2] - rows[b * 4 + 2] || a - b);
  const parent = Int32Array.from({ length: 2 * n - 1 }, (_, i) => i);
  const sizes = new Float64Array(2 * n - 1).fill(1);
  const find = (x: number): number => {
    let root = x;
    while (parent[root] !== root) root = parent[root];
    while (parent[x] !== root) { const up = parent[x]; parent[x] = root; x = up; }
    return root;
  };
  const z = new Float64Array((n - 1) * 4);
  order.forEach((r, k) => {
    const a = find(rows[r * 4]), b = find(rows[r * 4 + 1]);
    const merged = n + k;
    parent[a] = merged;
    parent[b] = merged;
    sizes[merged] = sizes[a] + sizes[b];
    z.set([Math.min(a, b), Math.max(a, b), rows[r * 4 + 2], sizes[merged]], k * 4);
  });
  return z;
}

/**
 * Flat clusters from a linkage matrix: the clusters present after the first count − k merges (the cut of the tree
 * into k clusters, as scikit-learn's AgglomerativeClustering(n_clusters=k) and SciPy's fcluster 'maxclust' do for
 * a monotone tree). Returns a cluster index per point, clusters numbered by their smallest point, 0 .. k − 1.
 */
export function cutTree(z: Float64Array, count: number, k: number): Int32Array {
  integerIn('cutTree clusters', k, Math.min(1, count), Math.max(count, 0));
  if (z.length !== Math.max(0, count - 1) * 4) throw invalidArgument('cutTree linkage', `${z.length} entries`, `(count − 1) × 4 = ${Math.max(0, count - 1) * 4}`);
  const parent = Int32Array.from({ length: Math.max(2 * count - 1, 0) }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) { parent[x] = parent[parent[x]]; x = parent[x]; }
    return x;
  };
  for (let r = 0; r < count - k; r++) {
    parent[find(z[r * 4])] = count + r;
    parent[find(z[r * 4 + 1])] = count + r;
  }
  const labels = new Int32Array(count);
  const ids = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const root = find(i);
    if (!ids.has(root)) ids.set(root, ids.size);
    labels[i] = ids.get(root) as number;
  }
  return labels;
}

/** The neuron order of the distance-matrix figure, and where its clusters start. */
export interface ClusterOrder {
  /** Neuron indices in display order. */
  readonly order: Int32Array;
  /** Cluster of each neuron (by original index), clusters numbered in display order. */
  readonly labels: Int32Array;
  /** Sizes of the clusters in display order (their boundaries are the running sums). */
  readonly sizes: readonly number[];
}

/**
 * PAPER.md §4.6: clusters sorted by size, largest first (ties: the cluster with the smaller first neuron first),
 * neurons within a cluster in increasing original index.
 */
export function clusterOrder(labels: Int32Array): ClusterOrder {
  const members = new Map<number, number[]>();
  labels.forEach((c, i) => { const m = members.get(c); if (m) m.push(i); else members.set(c, [i]); });
  const clusters = [...members.values()].sort((a, b) => b.length - a.length || a[0] - b[0]);
  const order = new Int32Array(labels.length);
  const display = new Int32Array(labels.length);
  let at = 0;
  clusters.forEach((m, c) => { for (const i of m) { order[at++] = i; display[i] = c; } });
  return { order, labels: display, sizes: clusters.map((m) => m.length) };
}

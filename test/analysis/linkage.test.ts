import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { averageLinkage, averageLinkageJs, clusterOrder, cutTree } from '../../src/analysis/linkage.js';
import { lcgArray } from '../../src/bench/problems.js';

/** SciPy's linkage(y, 'average') (and fcluster maxclust labels) for each case, through Debian's python3. */
function scipy(cases: { count: number; condensed: number[]; clusters?: number }[]): { z: number[]; labels?: number[] }[] | string {
  const run = spawnSync('/usr/bin/python3', [join(import.meta.dirname, '../helpers/scipy_linkage.py')], { input: JSON.stringify({ cases }), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (run.error || run.status !== 0) return `python3 failed: ${run.error?.message ?? run.stderr}`;
  const out = JSON.parse(run.stdout) as { missing?: string; results: { z: number[]; labels?: number[] }[] };
  return out.missing ?? out.results;
}

const scipyProbe = scipy([{ count: 2, condensed: [1] }]);
// CI installs python3-scipy (.ci/install-system.sh); elsewhere the comparison skips and says why.
const describeScipy = typeof scipyProbe === 'string' && process.env.CI !== 'true' ? describe.skip : describe;

/** Condensed (SciPy pdist order) from a square matrix. */
function condensed(d: ArrayLike<number>, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out.push(d[i * n + j]);
  return out;
}

function randomDistances(n: number, seed: number, levels?: number): Float64Array {
  const r = lcgArray((n * (n - 1)) / 2, seed);
  return Float64Array.from(r, (x) => (levels ? Math.floor(((x + 1) / 2) * levels) + 1 : (x + 1) / 2 + 0.01));
}

/** Textbook UPGMA: repeatedly merge the closest pair of clusters (O(n³)); cluster distances are mean point distances. */
function textbook(d: Float64Array, n: number): { height: number; members: number[] }[] {
  const at = (i: number, j: number) => (i === j ? 0 : d[i < j ? n * i - (i * (i + 1)) / 2 + j - i - 1 : n * j - (j * (j + 1)) / 2 + i - j - 1]);
  let clusters = Array.from({ length: n }, (_, i) => [i]);
  const merges: { height: number; members: number[] }[] = [];
  while (clusters.length > 1) {
    let best = Infinity, bi = 0, bj = 1;
    for (let i = 0; i < clusters.length; i++) {
      for (let j = i + 1; j < clusters.length; j++) {
        let s = 0;
        for (const a of clusters[i]) for (const b of clusters[j]) s += at(a, b);
        const mean = s / (clusters[i].length * clusters[j].length);
        if (mean < best) { best = mean; bi = i; bj = j; }
      }
    }
    const merged = [...clusters[bi], ...clusters[bj]].sort((a, b) => a - b);
    merges.push({ height: best, members: merged });
    clusters = [...clusters.filter((_, k) => k !== bi && k !== bj), merged];
  }
  return merges;
}

/** The members of every merged cluster of a linkage matrix, in row order. */
function memberships(z: Float64Array, n: number): number[][] {
  const members: number[][] = Array.from({ length: n }, (_, i) => [i]);
  for (let r = 0; r < n - 1; r++) members.push([...members[z[r * 4]], ...members[z[r * 4 + 1]]].sort((a, b) => a - b));
  return members.slice(n);
}

describe('averageLinkage: hand-worked UPGMA', () => {
  it('the five-taxa textbook example (a,b at 17; +e at 22; c,d at 28; root at 33)', async () => {
    const square = Float64Array.from([
      0, 17, 21, 31, 23,
      17, 0, 30, 34, 21,
      21, 30, 0, 28, 39,
      31, 34, 28, 0, 43,
      23, 21, 39, 43, 0,
    ]);
    const want = [0, 1, 17, 2, /**/ 4, 5, 22, 3, /**/ 2, 3, 28, 2, /**/ 6, 7, 33, 5];
    expect(Array.from(await averageLinkage(square, 5))).toEqual(want);
    expect(Array.from(await averageLinkage(Float64Array.from(condensed(square, 5)), 5))).toEqual(want);
    expect(Array.from(averageLinkageJs(square, 5))).toEqual(want);
    expect(Array.from(await averageLinkage(Float32Array.from(square), 5, { implementation: 'js' }))).toEqual(want);
  });

  it('matches a textbook O(n³) UPGMA on random distances: heights and the members of every merge', async () => {
    for (const n of [2, 3, 7, 40]) {
      const d = randomDistances(n, n);
      const z = await averageLinkage(d, n);
      const want = textbook(d, n);
      const got = memberships(z, n);
      want.forEach((m, r) => {
        expect(z[r * 4 + 2]).toBeCloseTo(m.height, 12);
        expect(got[r]).toEqual(m.members);
        expect(z[r * 4 + 3]).toBe(m.members.length);
      });
    }
  });

  it('fewer than two points give an empty matrix; bad sizes and non-finite distances are refused', async () => {
    expect((await averageLinkage(new Float32Array(1), 1)).length).toBe(0);
    expect((await averageLinkage(new Float32Array(0), 0)).length).toBe(0);
    await expect(averageLinkage(new Float32Array(5), 3)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/9 entries \(a square matrix\) or count·\(count−1\)\/2 = 3/) });
    const d = new Float32Array(9);
    d[1 * 3 + 2] = NaN;
    await expect(averageLinkage(d, 3)).rejects.toMatchObject({ message: expect.stringMatching(/between points 1 and 2 is NaN/) });
    await expect(averageLinkage([1, 2, 3] as unknown as Float32Array, 3)).rejects.toMatchObject({ message: expect.stringMatching(/Float32Array or Float64Array/) });
  });

  it('native (both layouts, from condensed and square input) and JS agree bit for bit (500 points, with ties)', async () => {
    for (const levels of [undefined, 5]) {
      const d = randomDistances(500, 77, levels);
      const square = new Float64Array(500 * 500);
      let c = 0;
      for (let i = 0; i < 500; i++) for (let j = i + 1; j < 500; j++, c++) { square[i * 500 + j] = d[c]; square[j * 500 + i] = d[c]; }
      const js = Buffer.from(averageLinkageJs(d, 500).buffer);
      for (const layout of ['condensed', 'square'] as const) {
        for (const input of [d, square]) expect(Buffer.from((await averageLinkage(input, 500, { implementation: 'native', layout })).buffer).equals(js)).toBe(true);
      }
    }
    await expect(averageLinkage(new Float64Array(3), 3, { layout: 'diagonal' as 'square' })).rejects.toThrow(/layout must be 'auto', 'condensed' or 'square'/);
  });
});

describeScipy(`averageLinkage against SciPy's linkage(method='average')${typeof scipyProbe === 'string' ? ` [skipped: ${scipyProbe}]` : ''}`, () => {
  const cases = [
    { label: 'random, 60 points', n: 60, d: randomDistances(60, 1) },
    { label: 'random, 300 points', n: 300, d: randomDistances(300, 2) },
    { label: 'three distance levels (many ties), 80 points', n: 80, d: randomDistances(80, 3, 3) },
    { label: 'two levels, 200 points', n: 200, d: randomDistances(200, 4, 2) },
    { label: 'all distances equal, 30 points', n: 30, d: new Float64Array((30 * 29) / 2).fill(1) },
    { label: 'f32 distances of near-duplicate neurons', n: 50, d: Float64Array.from(Float32Array.from(randomDistances(50, 5), (x) => x * 1e-7)) },
  ];

  it.each(cases.map((c) => [c.label, c] as const))('%s: identical matrix (ids, heights bit for bit, sizes) and flat clusters', async (_label, c) => {
    const results = scipy([{ count: c.n, condensed: Array.from(c.d), clusters: 7 }]);
    if (typeof results === 'string') throw new Error(results);
    const [want] = results;
    for (const options of [{ implementation: 'native', layout: 'condensed' }, { implementation: 'native', layout: 'square' }, { implementation: 'js' }] as const) {
      const z = await averageLinkage(c.d, c.n, options);
      expect(Array.from(z), JSON.stringify(options)).toEqual(want.z);
    }
    // Our cut has exactly 7 clusters (as scikit-learn's AgglomerativeClustering); fcluster 'maxclust' cuts at a
    // height, so where merges tie at the cut it returns fewer. Where it returns 7, the partitions are the same.
    const ours = cutTree(await averageLinkage(c.d, c.n), c.n, 7);
    const theirs = want.labels as number[];
    expect(new Set(ours).size).toBe(7);
    if (new Set(theirs).size < 7) {
      expect(want.z[(c.n - 7) * 4 + 2]).toBe(want.z[(c.n - 8) * 4 + 2]); // only because of a tie at the cut
      return;
    }
    const pairs = new Map<number, number>();
    for (let i = 0; i < c.n; i++) {
      if (!pairs.has(ours[i])) pairs.set(ours[i], theirs[i]);
      expect(pairs.get(ours[i])).toBe(theirs[i]);
    }
  });
});

describe('cutTree and clusterOrder (PAPER.md §4.6)', () => {
  it('cuts the textbook tree into 1..5 clusters', async () => {
    const d = Float64Array.from([17, 21, 31, 23, 30, 34, 21, 28, 39, 43]);
    const z = await averageLinkage(d, 5);
    expect(Array.from(cutTree(z, 5, 5))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(cutTree(z, 5, 4))).toEqual([0, 0, 1, 2, 3]);
    expect(Array.from(cutTree(z, 5, 2))).toEqual([0, 0, 1, 1, 0]);
    expect(Array.from(cutTree(z, 5, 1))).toEqual([0, 0, 0, 0, 0]);
    expect(() => cutTree(z, 5, 6)).toThrow(/cutTree clusters must be an integer in \[1, 5\]/);
  });

  it('orders clusters by size (ties: smaller first neuron), members by index', () => {
    const { order, labels, sizes } = clusterOrder(Int32Array.from([2, 0, 1, 0, 2, 3, 1, 0]));
    // cluster 0 = {1,3,7} (3), cluster 2 = {0,4} (2, first 0), cluster 1 = {2,6} (2, first 2), cluster 3 = {5}
    expect(Array.from(order)).toEqual([1, 3, 7, 0, 4, 2, 6, 5]);
    expect(sizes).toEqual([3, 2, 2, 1]);
    expect(Array.from(labels)).toEqual([1, 0, 2, 0, 1, 3, 2, 0]);
  });
});

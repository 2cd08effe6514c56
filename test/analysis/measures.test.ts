import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { symmetricEigenvalues } from '../../src/analysis/eigen.js';
import { connectedComponents, effectiveRank, greedyGroups, layerMeasures, singularValues, vanishingMask } from '../../src/analysis/measures.js';
import { lcgArray } from '../../src/bench/problems.js';

/** A symmetric distance matrix from a list of close pairs (distance 0.05) on `n` neurons; all others 1. */
function closePairs(n: number, pairs: [number, number][]): Float32Array {
  const d = new Float32Array(n * n).fill(1);
  for (let i = 0; i < n; i++) d[i * n + i] = 0;
  for (const [i, j] of pairs) { d[i * n + j] = 0.05; d[j * n + i] = 0.05; }
  return d;
}

describe('greedy grouping (PAPER.md §4.4) against connected components', () => {
  it('a chain a~b, b~c with a≁c: two keys (a and b), one component', () => {
    const d = closePairs(3, [[0, 1], [1, 2]]);
    const g = greedyGroups(d, 3, 0.1);
    expect(g.count).toBe(2);
    expect([...g.groups.entries()]).toEqual([[0, [1]], [1, [2]]]);
    expect(connectedComponents(d, 3, 0.1)).toBe(1);
  });

  it('a longer chain 0~1~2~3~4: keys 0, 1, 2, 3, one component', () => {
    // pairs in order: (0,1) → key 0 takes 1; (1,2) → 2 unassigned: key 1 takes 2; (2,3) → key 2 takes 3; (3,4) → key 3 takes 4.
    const d = closePairs(5, [[0, 1], [1, 2], [2, 3], [3, 4]]);
    const g = greedyGroups(d, 5, 0.1);
    expect([...g.groups.keys()]).toEqual([0, 1, 2, 3]);
    expect(connectedComponents(d, 5, 0.1)).toBe(1);
  });

  it('a clique of 4 is one key; a star around 2 is one key; j already taken is skipped', () => {
    const clique = closePairs(6, [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
    expect(greedyGroups(clique, 6, 0.1).count).toBe(3); // {0,1,2,3}, 4, 5
    expect([...greedyGroups(clique, 6, 0.1).groups.get(0) ?? []]).toEqual([1, 2, 3]);
    const star = closePairs(4, [[2, 0], [2, 1], [2, 3]]);
    // (0,2): key 0 takes 2; (1,2): 2 taken, skip; (2,3): 3 free, key 2 takes 3 → keys 0, 1, 2
    expect([...greedyGroups(star, 4, 0.1).groups.keys()]).toEqual([0, 1, 2]);
    expect(connectedComponents(star, 4, 0.1)).toBe(1);
  });

  it('τ is strict, and only the neurons in `keep` take part', () => {
    const d = closePairs(4, [[0, 1], [2, 3]]);
    expect(greedyGroups(d, 4, 0.05).count).toBe(4);
    expect(greedyGroups(d, 4, 0.0500001).count).toBe(2);
    expect(greedyGroups(d, 4, 0.1, [1, 2, 3]).count).toBe(2); // 1 alone, {2,3}
    expect(connectedComponents(d, 4, 0.1, [0, 2])).toBe(2);
  });
});

describe('vanishing filter (PAPER.md §4.3)', () => {
  it('norm below a fraction of the largest; 0.1 means 0.1, not 0.01', () => {
    expect(Array.from(vanishingMask(Float64Array.from([10, 1.01, 0.99, 0.05, 0]), 0.1))).toEqual([0, 0, 1, 1, 1]);
    expect(Array.from(vanishingMask(Float64Array.from([0, 0]), 0.1))).toEqual([1, 1]);
  });

  it('vanishing neurons leave the grouping but stay in the denominator', () => {
    // 4 neurons: 0 and 1 identical, 2 tiny (vanishing), 3 on its own.
    const v = Float32Array.from([1, 0, 1, 0, 0.001, 0.001, 0, 1]);
    const d = closePairs(4, [[0, 1]]);
    const m = layerMeasures(v, d, 4, 2, { tau: 0.1, vanish: 0.1 });
    expect(m.vanishing).toEqual([2]);
    expect(m.independent).toBe(2);
    expect(m.fraction).toBe(0.5);
    expect(m.groups).toEqual([[0, 1]]);
    expect(m.components).toBe(2);
  });

  it('an all-zero layer: every neuron vanishes, fraction 0, effective rank 0', () => {
    const m = layerMeasures(new Float32Array(12), new Float32Array(9), 3, 4, { tau: 0.1, vanish: 0.1 });
    expect(m.vanishing).toEqual([0, 1, 2]);
    expect(m.fraction).toBe(0);
    expect(m.effectiveRank).toBe(0);
  });

  it('a single neuron is one independent neuron', () => {
    const m = layerMeasures(Float32Array.from([1, 2]), Float32Array.from([0]), 1, 2, { tau: 0.1, vanish: 0.1 });
    expect([m.independent, m.fraction, m.vanishing.length]).toEqual([1, 1, 0]);
    expect(m.effectiveRank).toBeCloseTo(0, 6);
  });
});

describe('effective rank (PAPER.md §4.5) and its eigenvalues', () => {
  it('eigenvalues of small symmetric matrices', () => {
    expect(Array.from(symmetricEigenvalues(Float64Array.of(2, 1, 1, 2), 2))).toEqual([1, 3].map((x) => expect.closeTo(x, 12) as unknown as number));
    expect(Array.from(symmetricEigenvalues(Float64Array.of(5), 1))).toEqual([5]);
    const diag = Float64Array.of(3, 0, 0, 0, -1, 0, 0, 0, 2);
    expect(Array.from(symmetricEigenvalues(diag, 3))).toEqual([-1, 2, 3]);
  });

  it('random symmetric 60×60: trace and Frobenius norm are preserved', () => {
    const n = 60, r = lcgArray(n * n, 3);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { a[i * n + j] = r[i * n + j]; a[j * n + i] = r[i * n + j]; }
    let trace = 0, frob = 0;
    for (let i = 0; i < n; i++) { trace += a[i * n + i]; for (let j = 0; j < n; j++) frob += a[i * n + j] ** 2; }
    const e = symmetricEigenvalues(a.slice(), n);
    expect(e.reduce((s, x) => s + x, 0)).toBeCloseTo(trace, 9);
    expect(e.reduce((s, x) => s + x * x, 0)).toBeCloseTo(frob, 8);
  });

  it('k orthogonal rows of equal norm have entropy log k; duplicated rows add nothing', () => {
    const rows = new Float32Array(4 * 6);
    for (let i = 0; i < 4; i++) rows[i * 6 + i] = 2;
    expect(effectiveRank(rows, 4, 6)).toBeCloseTo(Math.log(4), 6);
    const dup = new Float32Array([...rows, ...rows]); // 8 rows, still rank 4
    expect(effectiveRank(dup, 8, 6)).toBeCloseTo(Math.log(4), 6);
    expect(effectiveRank(rows.subarray(0, 6), 1, 6)).toBeCloseTo(0, 6);
  });

  const numpy = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!numpy)('singular values match numpy.linalg.svd on a random 30×70 and 70×30 matrix', () => {
    for (const [m, n] of [[30, 70], [70, 30]]) {
      const a = lcgArray(m * n, m);
      const py = spawnSync('/usr/bin/python3', ['-c', `import json,sys,numpy as np; a=np.array(json.load(sys.stdin),dtype=np.float64).reshape(${m},${n}); print(json.dumps(np.linalg.svd(a,compute_uv=False).tolist()))`],
        { input: JSON.stringify(Array.from(a)), encoding: 'utf8' });
      const want = JSON.parse(py.stdout) as number[];
      const got = singularValues(a, m, n);
      want.forEach((s, i) => expect(got[i]).toBeCloseTo(s, 9));
    }
  });
});

// The cut of a sweep into shards (src/sde/shards.ts) and the exactness it promises: any cut merges into the very
// bits of the unsharded result, also when a grid point's paths are split (at blocks of PATH_BLOCK paths).
import { describe, expect, it } from 'vitest';
import { CollapseError, createEngine, cutShard, mergeResults, PATH_BLOCK, shardCells, type CollapseOptions, type CollapseResult } from '../src/index.js';

describe('cutShard', () => {
  it('cuts the cells (grid points × path blocks) into balanced contiguous ranges that tile the sweep', () => {
    for (const [K, P] of [[1, 1], [8, 24], [3, 150_000], [5, 2 * PATH_BLOCK], [2, 7 * PATH_BLOCK + 1], [100, 1000]]) {
      const cells = shardCells(K, P);
      for (const n of [1, 2, 3, 5, 7, 16, cells]) {
        if (n > cells) continue;
        const cuts = Array.from({ length: n }, (_, i) => cutShard(K, P, i + 1, n));
        const sizes = cuts.map((c) => c.cellEnd - c.cellStart);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect(cuts[0].cellStart).toBe(0);
        expect(cuts.at(-1)!.cellEnd).toBe(cells);
        for (let i = 1; i < n; i++) expect(cuts[i].cellStart).toBe(cuts[i - 1].cellEnd);
        // every (grid point, path) is in exactly one piece; split grid points are cut into whole blocks
        const covered = new Map<number, number>();
        for (const c of cuts) {
          for (const p of c.pieces) {
            const whole = p.pathStart === 0 && p.pathEnd === P;
            if (!whole) {
              expect(p.gridEnd - p.gridStart).toBe(1);
              expect(p.pathStart % PATH_BLOCK).toBe(0);
              expect(p.pathEnd).toBe(Math.min(P, p.pathStart + PATH_BLOCK));
            }
            for (let k = p.gridStart; k < p.gridEnd; k++) covered.set(k, (covered.get(k) ?? 0) + p.pathEnd - p.pathStart);
          }
        }
        expect([...covered.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: K }, (_, k) => k));
        for (const paths of covered.values()) expect(paths).toBe(P);
      }
    }
  });

  it('refuses shards that do not exist, with INVALID_ARGUMENT', () => {
    for (const [index, count] of [[3, 2], [0, 2], [1, 0], [1, 9], [1.5, 2]]) {
      expect(() => cutShard(8, 24, index, count)).toThrow(CollapseError);
    }
    expect(() => cutShard(8, 24, 1, 9)).toThrow(/count must be an integer in \[1, 8\]/);
  });
});

describe('path blocks merge exactly', () => {
  const options: CollapseOptions = {
    model: 'quartic', params: { mu: 1.5 }, noise: [1.2, 2.4], paths: 2 * PATH_BLOCK + 777, steps: 6, dt: 0.05,
    record: [3, 6], epsilon: 1e-3, seed: 11,
  };
  const strip = ({ elapsedSeconds: _e, pathStepsPerSecond: _r, ...rest }: CollapseResult) => rest;

  it('the blocks of every shard of a cut, merged, are the unsharded result to the bit (js and native)', async () => {
    for (const backend of ['js', 'native'] as const) {
      const engine = await createEngine({ backend });
      try {
        const whole = await engine.collapse(options);
        for (const n of [2, 4, 5]) {
          const parts: CollapseResult[] = [];
          for (let i = 1; i <= n; i++) {
            for (const shard of cutShard(options.noise.length, options.paths, i, n).pieces) parts.push(await engine.collapse({ ...options, shard }));
          }
          expect(strip(mergeResults(parts)), `${backend}, ${n} shards`).toEqual(strip(whole));
        }
      } finally {
        engine.close();
      }
    }
  });
});

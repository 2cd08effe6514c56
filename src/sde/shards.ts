/**
 * Cutting a sweep into shards that merge into exactly the unsharded result.
 *
 * The work of a sweep is a grid of cells: grid point k × path block b, where a path block is PATH_BLOCK
 * consecutive paths (the last one of a grid point may be shorter). Counts are exact however a sweep is cut
 * (every random number is addressed by seed, path, grid point and step), but the distance sums are floating
 * point: the engine therefore always sums a grid point block by block, in block order (see `runJobs` in
 * collapse.ts), and `mergeResults` adds path pieces in the same order. A piece that holds whole grid points,
 * or exactly one block of one grid point, then merges into the very bits of the unsharded run; `cutShard`
 * only ever makes such pieces.
 */
import { invalidArgument } from '../errors.js';
import { integerIn } from '../validate.js';

/** Paths per block: the granularity at which a grid point's paths are split between shards. */
export const PATH_BLOCK = 65_536;

/** Most shards a sweep can be cut into. */
export const MAX_SHARDS = 1_000_000;

/** Part of a sweep computed by one `engine.collapse` call: grid points [gridStart, gridEnd) × paths [pathStart, pathEnd). */
export interface ShardPiece {
  readonly gridStart: number;
  readonly gridEnd: number;
  readonly pathStart: number;
  readonly pathEnd: number;
}

/** Shard `index` of `count` (1-based) of a sweep: its cells and the pieces that compute them. */
export interface ShardCut {
  readonly index: number;
  readonly count: number;
  /** Path blocks per grid point: ceil(paths / PATH_BLOCK). */
  readonly blocks: number;
  /** All cells of the sweep: grid points × blocks. */
  readonly cells: number;
  /** This shard's cells, [cellStart, cellEnd) in grid-major order (cell = k · blocks + b). */
  readonly cellStart: number;
  readonly cellEnd: number;
  /** Whole grid points as runs [gridStart, gridEnd) × all paths, and split grid points one block per piece, in cell order. */
  readonly pieces: readonly ShardPiece[];
}

/** Number of path blocks of a grid point. */
export function pathBlocks(paths: number): number {
  return Math.ceil(paths / PATH_BLOCK);
}

/** Cells of a sweep: the most shards it can be cut into. */
export function shardCells(gridPoints: number, paths: number): number {
  return gridPoints * pathBlocks(paths);
}

/**
 * Shard `index` of `count` (1-based) of a sweep of `gridPoints` noise levels × `paths` paths: a balanced cut of
 * the cells (the shards' cell counts differ by at most one), contiguous in grid-major order.
 * @example
 * const cut = cutShard(100, 1000, 3, 8); // grid points 25..37 (cells 25..37: 1000 paths are one block)
 * const parts = await Promise.all(cut.pieces.map((shard) => engine.collapse({ ...options, shard })));
 */
export function cutShard(gridPoints: number, paths: number, index: number, count: number): ShardCut {
  integerIn('gridPoints', gridPoints, 1, 2 ** 32);
  integerIn('paths', paths, 1, 2 ** 32 - 1);
  const blocks = pathBlocks(paths);
  const cells = gridPoints * blocks;
  integerIn('count', count, 1, Math.min(cells, MAX_SHARDS));
  integerIn('index', index, 1, count);
  if (!Number.isSafeInteger(cells)) throw invalidArgument('gridPoints × path blocks', cells, 'at most 2^53');
  const edge = (i: number) => {
    // floor(i · cells / count) without overflowing 2^53: i · (cells mod count) < count² ≤ 10^12.
    const q = Math.floor(cells / count);
    const r = cells - q * count;
    return i * q + Math.floor((i * r) / count);
  };
  const cellStart = edge(index - 1);
  const cellEnd = edge(index);
  const pieces: ShardPiece[] = [];
  for (let k = Math.floor(cellStart / blocks); k * blocks < cellEnd; k++) {
    const b0 = Math.max(cellStart, k * blocks) - k * blocks;
    const b1 = Math.min(cellEnd, (k + 1) * blocks) - k * blocks;
    if (b0 === 0 && b1 === blocks) {
      const last = pieces.at(-1);
      if (last && last.gridEnd === k && last.pathStart === 0 && last.pathEnd === paths) pieces[pieces.length - 1] = { ...last, gridEnd: k + 1 };
      else pieces.push({ gridStart: k, gridEnd: k + 1, pathStart: 0, pathEnd: paths });
    } else {
      for (let b = b0; b < b1; b++) pieces.push({ gridStart: k, gridEnd: k + 1, pathStart: b * PATH_BLOCK, pathEnd: Math.min(paths, (b + 1) * PATH_BLOCK) });
    }
  }
  return { index, count, blocks, cells, cellStart, cellEnd, pieces };
}

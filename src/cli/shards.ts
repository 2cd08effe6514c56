/**
 * Shards on disk: what `collapse sweep --shard K/N` writes (DIR/shard.json), how it is read back and checked,
 * and how a set of shards is checked for completeness and merged into the unsharded result.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { mergeResults } from '../sde/collapse.js';
import { cutShard, PATH_BLOCK, pathBlocks, type ShardCut, type ShardPiece } from '../sde/shards.js';
import type { CollapseResult } from '../sde/types.js';
import { UsageError } from './args.js';
import { toJson } from './files.js';

/** What defines a sweep's numbers: shards, checkpoints and queued jobs are only ever combined with exactly these. */
export interface Problem {
  model: string;
  params: Record<string, number>;
  sweep: string;
  noise: number[];
  paths: number;
  steps: number;
  dt: number;
  record: number[];
  epsilon: number;
  seed: number;
}

export const PROBLEM_KEYS: readonly (keyof Problem)[] = ['model', 'params', 'sweep', 'noise', 'paths', 'steps', 'dt', 'record', 'epsilon', 'seed'];

export const SHARD_FILE = 'shard.json';
const SHARD_VERSION = 1;

/** Where and how a shard was computed (not part of what must agree between shards). */
export interface ShardRun {
  host: string;
  backend: string;
  device: string;
  threads?: number;
  seconds: number;
  finished: string;
  version: string;
}

export interface ShardFile {
  kind: 'collapse-shard';
  version: number;
  /** SHA-256 (hex) of JSON.stringify({ problem, shard, parts, run }) as written. */
  sha256: string;
  problem: Problem;
  shard: { index: number; count: number; blocks: number; cells: number; cellStart: number; cellEnd: number; pathBlock: number };
  /** The pieces of the cut, computed: whole grid runs × all paths, or one path block of one grid point. */
  parts: CollapseResult[];
  run: ShardRun;
}

export interface LoadedShard {
  dir: string;
  file: ShardFile;
}

export function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? 'none' : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** `key: A here, B there` for every key on which two problems differ. */
export function problemDiffs(a: Problem, b: Problem, aName: string, bName: string): string[] {
  return PROBLEM_KEYS.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k} ${show(a[k])} ${aName}, ${show(b[k])} ${bName}`);
}

function digest(body: Omit<ShardFile, 'kind' | 'version' | 'sha256'>): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

/** The text of DIR/shard.json. */
export function shardText(problem: Problem, cut: ShardCut, parts: readonly CollapseResult[], run: ShardRun): string {
  // Round-tripped first: the digest is over exactly what is read back (NaN becomes null, -0 becomes 0).
  const body = JSON.parse(JSON.stringify({
    problem,
    shard: { index: cut.index, count: cut.count, blocks: cut.blocks, cells: cut.cells, cellStart: cut.cellStart, cellEnd: cut.cellEnd, pathBlock: PATH_BLOCK },
    parts: [...parts].sort((a, b) => a.gridStart - b.gridStart || a.pathStart - b.pathStart),
    run,
  })) as Omit<ShardFile, 'kind' | 'version' | 'sha256'>;
  return toJson({ kind: 'collapse-shard', version: SHARD_VERSION, sha256: digest(body), ...body }, false);
}

/** `grid points 3..5` / `grid point 4, paths 65536..131071` for a piece (inclusive ends, as people count). */
export function pieceText(p: ShardPiece, paths: number): string {
  const grid = p.gridEnd - p.gridStart === 1 ? `grid point ${p.gridStart}` : `grid points ${p.gridStart}..${p.gridEnd - 1}`;
  return p.pathStart === 0 && p.pathEnd === paths ? grid : `${grid}, paths ${p.pathStart}..${p.pathEnd - 1}`;
}

/** What a shard covers, in words: `grid points 0..3` or `grid point 2 (paths 0..65535) to grid point 3 (paths ...)`. */
export function cutText(cut: ShardCut, paths: number): string {
  if (cut.pieces.length === 0) return 'nothing';
  return cut.pieces.map((p) => pieceText(p, paths)).join('; ');
}

/**
 * Why `part` is not a finished piece of `problem` (undefined if it is): either whole grid points with all the
 * paths, or one path block of one grid point (the only pieces that merge exactly).
 */
export function checkPart(part: CollapseResult, problem: Problem): string | undefined {
  if (part === null || typeof part !== 'object' || Array.isArray(part)) return 'is not an object';
  const K = problem.noise.length;
  const R = problem.record.length;
  const n = Array.isArray(part.noise) ? part.noise.length : 0;
  if (!Number.isInteger(part.gridStart) || part.gridStart < 0 || n === 0 || part.gridStart + n > K) return 'has no valid grid range';
  if (JSON.stringify(part.noise) !== JSON.stringify(problem.noise.slice(part.gridStart, part.gridStart + n))) return `has noise values that are not the grid's at ${part.gridStart}`;
  for (const key of ['model', 'sweep', 'steps', 'dt', 'epsilon', 'seed'] as const) {
    if (part[key] !== problem[key]) return `has ${key} ${show(part[key])}, not ${show(problem[key])}`;
  }
  const whole = part.pathStart === 0 && part.paths === problem.paths;
  const block = n === 1 && Number.isInteger(part.pathStart) && part.pathStart % PATH_BLOCK === 0 && part.pathStart < problem.paths
    && part.paths === Math.min(PATH_BLOCK, problem.paths - part.pathStart);
  if (!whole && !block) {
    return part.pathStart === 0 && problem.paths <= PATH_BLOCK ? `has paths ${show(part.paths)}, not ${problem.paths}`
      : `covers paths ${show(part.pathStart)}.. (${show(part.paths)} of them): neither all ${problem.paths} paths nor one block of up to ${PATH_BLOCK} starting at a multiple of ${PATH_BLOCK}`;
  }
  const paths = part.paths;
  if (JSON.stringify(part.record) !== JSON.stringify(problem.record) || JSON.stringify(part.params) !== JSON.stringify(problem.params)) return 'has other record steps or parameters';
  if (!Array.isArray(part.recordTimes) || part.recordTimes.length !== R || !part.recordTimes.every(Number.isFinite)) return 'has bad record times';
  if (part.init === null || typeof part.init !== 'object') return 'has no initial condition';
  if (typeof part.backend !== 'string' || typeof part.device !== 'string' || typeof part.distance !== 'string') return 'lacks its backend, device or distance';
  if (!Number.isFinite(part.elapsedSeconds) || part.elapsedSeconds < 0) return 'has a bad elapsed time';
  const grid = (v: unknown, ok: (x: unknown) => boolean) => Array.isArray(v) && v.length === n && v.every((row) => Array.isArray(row) && row.length === R && row.every(ok));
  const count = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= paths;
  if (!grid(part.collapsed, count) || !grid(part.diverged, count)) return `has counts that are not integers in [0, ${paths}] of shape ${n}×${R}`;
  for (let k = 0; k < n; k++) {
    for (let r = 0; r < R; r++) {
      if (part.collapsed[k][r] + part.diverged[k][r] > paths) return `counts more collapsed plus diverged paths than ${paths} at grid point ${part.gridStart + k}`;
    }
  }
  const sum = (nonNegative: boolean) => (x: unknown) => x === null || (typeof x === 'number' && Number.isFinite(x) && (!nonNegative || x >= 0));
  if (!grid(part.sumDistance, sum(true)) || !grid(part.sumSquaredDistance, sum(true)) || !grid(part.sumLogDistance, sum(false))) return 'has bad distance sums';
  const theory = part.theory as unknown as { points?: unknown } | null;
  if (theory === null || typeof theory !== 'object' || !Array.isArray(theory.points) || theory.points.length !== n
    || !theory.points.every((p) => p !== null && typeof p === 'object')) return 'has no theory per grid point';
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Reads and checks DIR/shard.json (checksum, cut, parts); refuses, naming DIR, what is not a finished shard. */
export function readShard(dir: string): LoadedShard {
  const path = join(dir, SHARD_FILE);
  const refuse = (why: string, hint?: string): never => {
    throw new UsageError(`${dir} is not a usable shard: ${why}`, hint);
  };
  if (!existsSync(path)) {
    if (existsSync(join(dir, 'checkpoint.json'))) refuse('it holds an unfinished shard (checkpoint.json, no shard.json)', `finish it: run its 'collapse sweep ... --shard K/N --out ${dir}' again with --resume`);
    if (existsSync(join(dir, 'result.json'))) refuse('it holds a finished sweep (result.json), not a shard', 'give the shard folders: those written by --shard K/N');
    refuse(`it has no ${SHARD_FILE}`, `give the folders written by 'collapse sweep ... --shard K/N --out DIR'`);
  }
  let file: ShardFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as ShardFile;
  } catch (error) {
    return refuse(`${SHARD_FILE} is not readable JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isObject(file) || file.kind !== 'collapse-shard') refuse(`${SHARD_FILE} is not a collapse shard`);
  if (file.version !== SHARD_VERSION) refuse(`${SHARD_FILE} has version ${show(file.version)}; this collapse reads version ${SHARD_VERSION}`);
  if (!isObject(file.problem) || !isObject(file.shard) || !Array.isArray(file.parts) || !isObject(file.run)) refuse(`${SHARD_FILE} lacks its problem, shard, parts or run`);
  const { sha256: _sha, kind: _kind, version: _version, ...body } = file;
  if (typeof file.sha256 !== 'string' || file.sha256 !== digest(body)) refuse(`${SHARD_FILE} does not match its checksum (it was edited or damaged)`, `compute the shard again (its collapse sweep ... --shard command with --force)`);
  const { problem, shard } = file;
  if (!Array.isArray(problem.noise) || !Number.isInteger(problem.paths) || problem.paths < 1 || !Array.isArray(problem.record)) refuse(`${SHARD_FILE} has a malformed problem`);
  let cut: ShardCut;
  try {
    cut = cutShard(problem.noise.length, problem.paths, shard.index, shard.count);
  } catch {
    return refuse(`${SHARD_FILE} names shard ${show(shard.index)}/${show(shard.count)}, which this sweep does not have`);
  }
  if (shard.pathBlock !== PATH_BLOCK || shard.cellStart !== cut.cellStart || shard.cellEnd !== cut.cellEnd || shard.blocks !== cut.blocks) {
    refuse(`${SHARD_FILE} was cut with path blocks of ${show(shard.pathBlock)} paths; this collapse cuts ${PATH_BLOCK}`);
  }
  // The parts must be exactly the cut's pieces.
  const want = cut.pieces.flatMap((p) => (p.pathStart === 0 && p.pathEnd === problem.paths ? Array.from({ length: p.gridEnd - p.gridStart }, (_, i) => `${p.gridStart + i}:all`) : [`${p.gridStart}:${p.pathStart}`]));
  const have: string[] = [];
  file.parts.forEach((part, i) => {
    const why = checkPart(part, problem);
    if (why) refuse(`part ${i} of ${SHARD_FILE} ${why}`);
    const whole = part.pathStart === 0 && part.paths === problem.paths;
    for (let k = 0; k < part.noise.length; k++) have.push(whole ? `${part.gridStart + k}:all` : `${part.gridStart + k}:${part.pathStart}`);
  });
  if (JSON.stringify([...have].sort()) !== JSON.stringify([...want].sort())) refuse(`its parts do not cover exactly shard ${shard.index}/${shard.count} (${cutText(cut, problem.paths)})`);
  return { dir, file };
}

/**
 * The shard folders named by `args`: each one either is a shard folder (or an unfinished one, refused by
 * readShard), or a folder whose subfolders are shards (e.g. a Slurm sweep's DIR/shards).
 */
export function shardDirs(args: readonly string[]): string[] {
  const dirs: string[] = [];
  for (const arg of args) {
    let isDir = false;
    try {
      isDir = statSync(arg).isDirectory();
    } catch {
      throw new UsageError(`${arg} does not exist`, 'give the shard folders (or a folder holding them)');
    }
    if (!isDir) throw new UsageError(`${arg} is not a folder`, 'give the shard folders (or a folder holding them)');
    if (existsSync(join(arg, SHARD_FILE)) || existsSync(join(arg, 'checkpoint.json')) || existsSync(join(arg, 'result.json'))) {
      dirs.push(arg);
      continue;
    }
    const inner = readdirSync(arg, { withFileTypes: true })
      .filter((e) => e.isDirectory() && (existsSync(join(arg, e.name, SHARD_FILE)) || existsSync(join(arg, e.name, 'checkpoint.json'))))
      .map((e) => join(arg, e.name))
      .sort(naturalOrder);
    if (inner.length === 0) throw new UsageError(`${arg} holds no shard: neither ${SHARD_FILE} nor subfolders with one`, `give the folders written by 'collapse sweep ... --shard K/N --out DIR'`);
    dirs.push(...inner);
  }
  return dirs;
}

/** Sorts `a/2` before `a/10`. */
export function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Cell ranges [start, end) in words, for a sweep of `blocks` path blocks per grid point. */
function cellsText(start: number, end: number, blocks: number, paths: number): string {
  const out: string[] = [];
  let c = start;
  while (c < end) {
    const k = Math.floor(c / blocks);
    const b = c - k * blocks;
    if (b === 0 && end >= (k + 1) * blocks) {
      const k1 = Math.floor(end / blocks); // whole grid points k..k1-1
      out.push(k1 - k === 1 ? `grid point ${k}` : `grid points ${k}..${k1 - 1}`);
      c = k1 * blocks;
    } else {
      const b1 = Math.min(blocks, end - k * blocks);
      out.push(`grid point ${k}, paths ${b * PATH_BLOCK}..${Math.min(paths, b1 * PATH_BLOCK) - 1}`);
      c = k * blocks + b1;
    }
  }
  return out.join('; ');
}

/**
 * Checks that `shards` are one sweep's, do not overlap and cover it all, then merges them: exactly the result of
 * the unsharded sweep. Every refusal names the folders and what is wrong.
 */
export function mergeShards(shards: readonly LoadedShard[]): { merged: CollapseResult; problem: Problem } {
  if (shards.length === 0) throw new UsageError('no shards to merge');
  const first = shards[0];
  const problem = first.file.problem;
  for (const s of shards.slice(1)) {
    const diffs = problemDiffs(s.file.problem, problem, `in ${s.dir}`, `in ${first.dir}`);
    if (diffs.length > 0) {
      throw new UsageError(`${s.dir} is a shard of another sweep than ${first.dir}: ${diffs.join('; ')}`, 'merge only the shards of one sweep: made with the same options');
    }
  }
  const blocks = pathBlocks(problem.paths);
  const cells = problem.noise.length * blocks;
  // Shard cell ranges are contiguous: sort by start, then look for overlaps and gaps.
  const sorted = [...shards].sort((a, b) => a.file.shard.cellStart - b.file.shard.cellStart || a.file.shard.cellEnd - b.file.shard.cellEnd);
  const name = (s: LoadedShard) => `${s.dir} (shard ${s.file.shard.index}/${s.file.shard.count})`;
  const gaps: [number, number][] = [];
  let reached = 0;
  let reachedBy: LoadedShard | undefined;
  for (const s of sorted) {
    const { cellStart, cellEnd } = s.file.shard;
    if (cellStart < reached && reachedBy) {
      const same = s.file.shard.index === reachedBy.file.shard.index && s.file.shard.count === reachedBy.file.shard.count;
      throw new UsageError(same
        ? `shard ${s.file.shard.index}/${s.file.shard.count} is given twice: ${reachedBy.dir} and ${s.dir}`
        : `${name(reachedBy)} and ${name(s)} overlap: both hold ${cellsText(cellStart, Math.min(reached, cellEnd), blocks, problem.paths)}`,
      'give each part of the sweep once');
    }
    if (cellStart > reached) gaps.push([reached, cellStart]);
    if (cellEnd > reached) {
      reached = cellEnd;
      reachedBy = s;
    }
  }
  if (reached < cells) gaps.push([reached, cells]);
  if (gaps.length > 0) {
    const counts = new Set(shards.map((s) => s.file.shard.count));
    const have = new Set(shards.map((s) => s.file.shard.index));
    let what: string;
    if (counts.size === 1) {
      // Shards of one cut: name the missing ones and what each holds.
      const count = first.file.shard.count;
      const absent = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !have.has(i));
      what = `missing shard${absent.length === 1 ? '' : 's'} ` + absent.slice(0, 12)
        .map((i) => `${i}/${count} (${cutText(cutShard(problem.noise.length, problem.paths, i, count), problem.paths)})`).join(', ') + (absent.length > 12 ? `, ... (${absent.length} in all)` : '');
    } else {
      what = `nothing holds ${gaps.slice(0, 10).map(([a, b]) => cellsText(a, b, blocks, problem.paths)).join('; ')}${gaps.length > 10 ? '; ...' : ''}`;
    }
    throw new UsageError(`the ${shards.length} shard${shards.length === 1 ? '' : 's'} given do not cover the whole sweep: ${what}`,
      'give the missing shard folders too, or compute them first with the same collapse sweep command and --shard K/N');
  }
  const parts = shards.flatMap((s) => s.file.parts).sort((a, b) => a.gridStart - b.gridStart || a.pathStart - b.pathStart);
  const merged = mergeResults(parts);
  // Shards computed on different machines: name them all rather than the first one's.
  const distinct = (xs: string[]) => [...new Set(xs)];
  const backends = distinct(parts.map((p) => p.backend));
  const devices = distinct(parts.map((p) => p.device));
  return { merged: { ...merged, backend: backends.join(', '), device: devices.join('; ') }, problem };
}

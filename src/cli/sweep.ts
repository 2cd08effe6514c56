import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../engine.js';
import { CollapseError } from '../errors.js';
import { mergeResults, planCollapse } from '../sde/collapse.js';
import type { ModelDefinition } from '../sde/model.js';
import { cutShard, MAX_SHARDS, PATH_BLOCK, shardCells, type ShardCut } from '../sde/shards.js';
import type { CollapseOptions, CollapseResult } from '../sde/types.js';
import { checkSweep, findModel, glueValues, parseCommand, parseGrid, parseInteger, parseIntegerList, parsePositive, parseSets, UsageError } from './args.js';
import { commonOptions, type Interrupt, type Io, MAX_CLI_STEPS, packageVersion, parseRunSettings, withEngine } from './common.js';
import { commitFiles, preflightOutDir, toJson, writeAtomic } from './files.js';
import { SWEEP_HELP } from './help.js';
import { duration, human, ProgressBar } from './progress.js';
import { resultLines, wroteLine, writeResults } from './results.js';
import { checkPart, cutText, type Problem, PROBLEM_KEYS, SHARD_FILE, shardText, show } from './shards.js';

export { resultCsv } from './results.js';
export type { Problem } from './shards.js';

const CHECKPOINT_VERSION = 2;

/** A checkpoint's problem: a shard's also names which shard it is, a Redis sweep's how many shards it queued. */
export type CheckpointProblem = Problem & { shard?: { index: number; count: number }; queue?: { count: number } };

interface Checkpoint {
  kind: 'collapse-sweep-checkpoint';
  version: number;
  /** SHA-256 (hex) of JSON.stringify({ problem, parts }) as written: an edited or damaged checkpoint is refused. */
  sha256: string;
  problem: CheckpointProblem;
  /** Finished pieces (CollapseResults computed with a `shard`), any order. */
  parts: CollapseResult[];
}

/** Rough path-steps/s per backend, only to size the first batch; later batches use the measured rate. */
const RATE_GUESS: Record<string, number> = { js: 1.5e7, native: 5e8, webgpu: 5e9 };
/** Seconds a batch should take: long enough to keep a GPU busy, short enough that Ctrl-C loses little. */
const BATCH_SECONDS = 3;

export const SWEEP_OPTIONS = {
  ...commonOptions,
  record: { type: 'string' },
  epsilon: { type: 'string' },
  batch: { type: 'string' },
  resume: { type: 'boolean' },
  shard: { type: 'string' },
  shards: { type: 'string' },
  slurm: { type: 'boolean' },
  'slurm-args': { type: 'string' },
  wait: { type: 'boolean' },
  redis: { type: 'string' },
  queue: { type: 'string' },
} as const;

export type SweepValues = ReturnType<typeof parseCommand<typeof SWEEP_OPTIONS>>['values'];

/** A validated sweep: what the options determine, before anything runs. */
export interface SweepSpec {
  model: ModelDefinition;
  options: CollapseOptions;
  problem: Problem;
  /** Grid points. */
  K: number;
  /** Most shards the sweep can be cut into (grid points × path blocks). */
  cells: number;
}

/** Validates the problem options of `collapse sweep` (every library-level check included); touches nothing. */
export function parseSweep(values: SweepValues): SweepSpec {
  const model = findModel(values.model ?? 'quartic');
  const params = parseSets(model, values.set ?? []);
  if (values.noise === undefined) throw new UsageError('--noise is required: the noise grid, e.g. --noise 0:3:100 (100 points from 0 to 3) or --noise 1,2,2.5', `see 'collapse sweep --help'`);
  const noise = parseGrid('--noise', values.noise);
  const run = parseRunSettings(values);
  checkSweep(model, values.sweep, params, run.seed);
  const paths = values.paths === undefined ? 1000 : parseInteger('--paths', values.paths, 1, 0xffff_ffff);
  const steps = values.steps === undefined ? model.defaults.steps : parseInteger('--steps', values.steps, 1, MAX_CLI_STEPS);
  const dt = values.dt === undefined ? model.defaults.dt : parsePositive('--dt', values.dt);
  const epsilon = values.epsilon === undefined ? model.defaults.epsilon : parsePositive('--epsilon', values.epsilon);
  let record: number[];
  if (values.record !== undefined) {
    record = parseIntegerList('--record', values.record, 0, MAX_CLI_STEPS);
    const late = record.find((r) => r > steps);
    if (late !== undefined) throw new UsageError(`--record step ${late} is past --steps ${steps}; record steps must be ≤ --steps`);
  } else {
    record = [...new Set([...model.defaults.record.filter((r) => r <= steps), steps])];
  }
  const options: CollapseOptions = { model: model.name, params, noise, paths, steps, dt, record, epsilon, seed: run.seed, ...(values.sweep ? { sweep: values.sweep } : {}) };
  const plan = planCollapse(options); // every library-level check
  const problem: Problem = { model: model.name, params: plan.values, sweep: plan.sweep, noise: plan.noise, paths, steps, dt, record: plan.record, epsilon, seed: plan.seed };
  return { model, options, problem, K: plan.noise.length, cells: shardCells(plan.noise.length, paths) };
}

/** `--shard K/N` (or `--shards N`, index undefined): checked against what the sweep can be cut into. */
export function parseShardCount(name: string, text: string, spec: SweepSpec, shown = text): number {
  const n = parseInteger(name, text, 1, MAX_SHARDS);
  if (n > spec.cells) throw new UsageError(`${name} ${shown}: this sweep splits into at most ${spec.cells} shard${spec.cells === 1 ? '' : 's'} (${cellsWords(spec)}); use at most ${spec.cells}`);
  return n;
}

function cellsWords(spec: SweepSpec): string {
  const blocks = spec.cells / spec.K;
  return blocks === 1 ? `${spec.K} grid point${spec.K === 1 ? '' : 's'}, each computed whole: up to ${PATH_BLOCK} paths are not split`
    : `${spec.K} grid point${spec.K === 1 ? '' : 's'} × ${blocks} blocks of up to ${PATH_BLOCK} paths`;
}

function parseShard(text: string, spec: SweepSpec): { index: number; count: number } {
  const m = /^\s*(-?\d+)\s*\/\s*(-?\d+)\s*$/.exec(text);
  if (!m) throw new UsageError(`--shard must be K/N (shard K of N, 1 ≤ K ≤ N), e.g. --shard 3/8; got '${text}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new UsageError(`--shard ${text}: N, the number of shards, must be at least 1`);
  if (index < 1) {
    throw new UsageError(`--shard ${text}: shards are numbered from 1 to N`,
      `with a 0-based index (Kubernetes JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX) write --shard $((INDEX + 1))/${count}`);
  }
  if (index > count) throw new UsageError(`--shard ${text}: there is no shard ${index} of ${count}; K goes from 1 to N (${count})`);
  return { index, count: parseShardCount('--shard', String(count), spec, text) };
}

export async function sweepCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseCommand('sweep', glueValues(argv, ['--slurm-args']), SWEEP_OPTIONS);
  if (values.help) {
    io.stdout.write(SWEEP_HELP);
    return 0;
  }
  // Everything is validated before anything touches the disk.
  const spec = parseSweep(values);
  const { options, problem, K } = spec;
  if (values.slurm && values.redis !== undefined) throw new UsageError('--slurm and --redis are two ways to run a sweep; pick one');
  if (values.shard !== undefined && (values.slurm || values.redis !== undefined)) {
    throw new UsageError(`--shard computes one shard here; --${values.slurm ? 'slurm' : 'redis'} hands all of them out: give --shards N instead`);
  }
  if (!values.slurm) {
    for (const name of ['wait', 'slurm-args'] as const) if (values[name] !== undefined) throw new UsageError(`--${name} goes with --slurm`);
  }
  if (values.redis === undefined && values.queue !== undefined) throw new UsageError('--queue goes with --redis');
  if (values.shards !== undefined && !values.slurm && values.redis === undefined) {
    throw new UsageError('--shards N goes with --slurm or --redis; to compute one shard here, give --shard K/N');
  }
  if (values.slurm) return (await import('./slurm.js')).slurmSweep(spec, values, io);
  if (values.redis !== undefined) return (await import('./queue.js')).redisSweep(spec, values, argv, io);

  const run = parseRunSettings(values);
  const shard = values.shard === undefined ? undefined : parseShard(values.shard, spec);
  const cut = cutShard(K, problem.paths, shard?.index ?? 1, shard?.count ?? 1);
  const batchFixed = values.batch === undefined ? undefined : parseInteger('--batch', values.batch, 1, K);
  const resume = values.resume === true;
  const force = values.force === true;
  if (resume && force) throw new UsageError('--resume and --force contradict each other: --resume continues the sweep in --out, --force starts it over');
  const cpProblem: CheckpointProblem = shard ? { ...problem, shard } : problem;
  const finishedFile = shard ? SHARD_FILE : 'result.json';
  const want = new Set(cutKeys(cut, problem.paths));

  const out = values.out ?? join('out', spec.model.name);
  // A first look without the lock, so that a refusal leaves no trace; repeated under the lock below.
  preflightOutDir(out, () => inspectOut(out, cpProblem, want, finishedFile, resume, force));
  if (shard && process.env.COLLAPSE_TEST_FAIL_SHARD === String(shard.index)) throw new Error(`COLLAPSE_TEST_FAIL_SHARD: shard ${shard.index} fails on purpose`);

  return withEngine(run, io, values.quiet === true, async (engine, interrupt, folders) => {
    const info = engine.describe();
    folders.hold(out);
    const parts = inspectOut(out, cpProblem, want, finishedFile, resume, force);
    const checkpointPath = join(out, 'checkpoint.json');
    if (interrupt.code) {
      io.stderr.write('interrupted before starting; nothing was written\n');
      return interrupt.code;
    }
    const save = () => writeAtomic(checkpointPath, checkpointText(cpProblem, parts));
    if (!resume) save();
    let outcome: Outcome;
    try {
      outcome = await runBatches(engine, options, cut, parts, batchFixed, save, io, !values.quiet && io.stderr.isTTY === true, interrupt);
    } catch (error) {
      if (!resume && parts.length === 0) rmSync(checkpointPath, { force: true }); // nothing done: leave the folder as it was
      throw error;
    }
    const unit = cut.blocks === 1 ? 'grid points' : 'path blocks';
    if (outcome.interrupted) {
      io.stderr.write(`interrupted: ${outcome.cellsDone} of ${outcome.cellsTotal} ${unit} done; continue with the same command plus --resume\n`);
      return outcome.code;
    }
    interrupt.message = `stopping before the results are written; all ${unit} are kept in the checkpoint`;
    const sorted = [...parts].sort((a, b) => a.gridStart - b.gridStart || a.pathStart - b.pathStart);
    const runInfo = {
      command: 'collapse sweep', argv, version: packageVersion(), node: process.version,
      backend: info.backend, device: info.device, reason: info.reason, ...(info.threads === undefined ? {} : { threads: info.threads }),
      finished: new Date().toISOString(), thisRunSeconds: outcome.seconds, thisRunPathSteps: outcome.pathSteps, batches: outcome.batches,
    };
    const stopped = () => {
      io.stderr.write(`interrupted: all ${outcome.cellsTotal} ${unit} are done and kept in ${checkpointPath}; the same command plus --resume writes the results\n`);
      return interrupt.code;
    };
    if (shard) {
      if (interrupt.code) return stopped();
      const seconds = sorted.reduce((s, p) => s + p.elapsedSeconds, 0);
      commitFiles(out, [[SHARD_FILE, shardText(problem, cut, sorted, {
        host: hostname(), backend: info.backend, device: info.device, ...(info.threads === undefined ? {} : { threads: info.threads }),
        seconds, finished: runInfo.finished, version: runInfo.version,
      })]], ['checkpoint.json']);
      if (!values.quiet) io.stdout.write(shardSummary(problem, cut, info, outcome, out));
      return 0;
    }
    const merged = mergeResults(sorted);
    const written = await writeResults(out, merged, { ...runInfo, resumedGridPoints: outcome.resumedCells / cut.blocks, computeSeconds: merged.elapsedSeconds, pathStepsPerSecond: merged.pathStepsPerSecond },
      ['checkpoint.json'], () => interrupt.code === 0);
    if (!written) return stopped();
    if (!values.quiet) io.stdout.write(await summary(merged, info, outcome, out, K));
    return 0;
  });
}

/**
 * What --out holds, against what this run wants: refuses to start over an unfinished sweep without --resume
 * (or --force) or over a finished one without --force; with --resume, returns the checkpoint's validated parts.
 */
export function inspectOut(out: string, problem: CheckpointProblem, want: ReadonlySet<string>, finishedFile: string, resume: boolean, force: boolean): CollapseResult[] {
  const checkpointPath = join(out, 'checkpoint.json');
  const hasCheckpoint = existsSync(checkpointPath);
  const hasResult = existsSync(join(out, finishedFile));
  const what = problem.shard ? 'shard' : 'sweep';
  if (resume) {
    if (!hasCheckpoint) {
      throw new UsageError(`--resume: no checkpoint in ${out}${hasResult ? ` (its ${finishedFile} says that ${what} already finished)` : ''}; run without --resume to start`);
    }
    return loadCheckpoint(checkpointPath, problem, want);
  }
  if (hasCheckpoint && !force) {
    throw new UsageError(`${out} holds an unfinished ${what} (checkpoint.json): add --resume to continue it, or --force to start over (or pick another --out)`);
  }
  if (hasResult && !force) {
    throw new UsageError(`${out} already holds a finished ${what} (${finishedFile}): add --force to replace it, or pick another --out`);
  }
  return [];
}

function digest(problem: unknown, parts: unknown): string {
  return createHash('sha256').update(JSON.stringify({ problem, parts })).digest('hex');
}

export function checkpointText(problem: CheckpointProblem, parts: CollapseResult[]): string {
  // JSON.stringify writes NaN as null; the digest is over exactly what is written, so it survives a re-read.
  const body = JSON.parse(JSON.stringify({ problem, parts })) as { problem: CheckpointProblem; parts: CollapseResult[] };
  return toJson({ kind: 'collapse-sweep-checkpoint', version: CHECKPOINT_VERSION, sha256: digest(body.problem, body.parts), ...body } satisfies Checkpoint, false);
}

/** The cells a part covers, as keys: `k:all` for whole grid points, `k:pathStart` for one path block. */
export function partKeys(part: Pick<CollapseResult, 'gridStart' | 'noise' | 'pathStart' | 'paths'>, paths: number): string[] {
  const whole = part.pathStart === 0 && part.paths === paths;
  return part.noise.map((_, i) => `${part.gridStart + i}:${whole ? 'all' : part.pathStart}`);
}

/** The keys of the cells of a cut (see partKeys). */
export function cutKeys(cut: ShardCut, paths: number): string[] {
  return cut.pieces.flatMap((p) => partKeys({ gridStart: p.gridStart, noise: new Array<number>(p.gridEnd - p.gridStart).fill(0), pathStart: p.pathStart, paths: p.pathEnd - p.pathStart }, paths));
}

function loadCheckpoint(path: string, problem: CheckpointProblem, want: ReadonlySet<string>): CollapseResult[] {
  const refuse = (why: string): never => {
    throw new UsageError(`--resume: ${path} cannot be used: ${why}`, `delete it (or run with --force instead of --resume) to start the sweep over`);
  };
  let cp: Checkpoint;
  try {
    cp = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  } catch (error) {
    return refuse(`it is not readable JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (cp === null || typeof cp !== 'object' || Array.isArray(cp) || cp.kind !== 'collapse-sweep-checkpoint') refuse('it is not a collapse sweep checkpoint');
  if (cp.version !== CHECKPOINT_VERSION) refuse(`it has version ${JSON.stringify(cp.version)}; this collapse reads version ${CHECKPOINT_VERSION}`);
  if (typeof cp.sha256 !== 'string' || cp.sha256 !== digest(cp.problem, cp.parts)) refuse('its content does not match its checksum (it was edited or damaged)');
  if (cp.problem === null || typeof cp.problem !== 'object' || !Array.isArray(cp.parts)) refuse('it lacks its problem or its parts');
  const keys = [...PROBLEM_KEYS, 'shard', 'queue'] as (keyof CheckpointProblem)[];
  const words = (p: CheckpointProblem, k: keyof CheckpointProblem) => (k === 'shard' ? shardWords(p.shard) : k === 'queue' ? queueWords(p.queue) : show(p[k]));
  const diffs = keys
    .filter((k) => JSON.stringify(cp.problem[k]) !== JSON.stringify(problem[k]))
    .map((k) => `${k}: checkpoint ${words(cp.problem, k)}, now ${words(problem, k)}`);
  if (diffs.length > 0) {
    throw new UsageError(`--resume: the options differ from the checkpoint's (${diffs.join('; ')}); rerun with the same options, or use another --out`);
  }
  const owner = new Map<string, number>();
  cp.parts.forEach((part, i) => {
    const why = checkPart(part, problem);
    if (why) refuse(`part ${i} ${why}`);
    for (const key of partKeys(part, problem.paths)) {
      if (!want.has(key)) refuse(`part ${i} holds grid point ${key.split(':')[0]}${key.endsWith(':all') ? '' : ` paths ${key.split(':')[1]}..`}, outside this ${problem.shard ? 'shard' : 'sweep'}`);
      if (owner.has(key)) refuse(`parts ${owner.get(key)} and ${i} both hold grid point ${key.split(':')[0]}`);
      owner.set(key, i);
    }
  });
  return cp.parts;
}

const shardWords = (s: { index: number; count: number } | undefined) => (s ? `shard ${s.index}/${s.count}` : 'no shard (the whole sweep)');
const queueWords = (q: { count: number } | undefined) => (q ? `${q.count} shards queued on Redis` : 'not queued on Redis');

interface Outcome {
  interrupted: boolean;
  code: number;
  /** Seconds and path-steps of this process's work (resumed parts excluded). */
  seconds: number;
  pathSteps: number;
  batches: number;
  /** Cells (grid points × path blocks) of the run, done in all, and taken from the checkpoint. */
  cellsTotal: number;
  cellsDone: number;
  resumedCells: number;
}

/** A piece still to compute: whole grid points (batched) or one path block of one grid point. */
interface Todo { gridStart: number; gridEnd: number; pathStart: number; pathEnd: number; whole: boolean }

/** What of `cut` the parts do not hold yet, in cell order. */
function missingWork(cut: ShardCut, parts: readonly CollapseResult[], paths: number): Todo[] {
  const have = new Set(parts.flatMap((p) => partKeys(p, paths)));
  const todo: Todo[] = [];
  for (const piece of cut.pieces) {
    const whole = piece.pathStart === 0 && piece.pathEnd === paths;
    if (!whole) {
      if (!have.has(`${piece.gridStart}:${piece.pathStart}`)) todo.push({ ...piece, whole: false });
      continue;
    }
    for (let k = piece.gridStart; k < piece.gridEnd; k++) {
      if (have.has(`${k}:all`)) continue;
      const last = todo.at(-1);
      if (last && last.whole && last.gridEnd === k) last.gridEnd = k + 1;
      else todo.push({ gridStart: k, gridEnd: k + 1, pathStart: 0, pathEnd: paths, whole: true });
    }
  }
  return todo;
}

async function runBatches(engine: Engine, options: CollapseOptions, cut: ShardCut, parts: CollapseResult[], batchFixed: number | undefined,
  save: () => void, io: Io, showBar: boolean, interrupt: Interrupt): Promise<Outcome> {
  const { paths, steps } = options;
  const todo = missingWork(cut, parts, paths);
  const cellsTotal = cut.cellEnd - cut.cellStart;
  const cellsOf = (t: Pick<Todo, 'gridStart' | 'gridEnd' | 'whole'>) => (t.whole ? (t.gridEnd - t.gridStart) * cut.blocks : 1);
  const todoCells = todo.reduce((s, t) => s + cellsOf(t), 0);
  const resumedCells = cellsTotal - todoCells;
  const totalSteps = cut.pieces.reduce((s, p) => s + (p.gridEnd - p.gridStart) * (p.pathEnd - p.pathStart) * steps, 0);
  const todoSteps = todo.reduce((s, t) => s + (t.gridEnd - t.gridStart) * (t.pathEnd - t.pathStart) * steps, 0);
  const bar = new ProgressBar(io.stderr, showBar);
  const unit = cut.blocks === 1 ? 'grid points' : 'path blocks';
  interrupt.message = `stopping; finished ${unit} are kept in the checkpoint`;
  interrupt.beforeMessage = () => bar.clear();
  const stopAfter = Number(process.env.COLLAPSE_STOP_AFTER_BATCHES ?? NaN); // test hook: act as if interrupted
  const started = performance.now();
  let cellsDone = 0;
  let stepsDone = 0;
  let batches = 0;
  const perPoint = paths * steps;
  let size = batchFixed ?? Math.max(1, Math.min(cut.pieces.reduce((s, p) => s + p.gridEnd - p.gridStart, 0),
    Math.round((BATCH_SECONDS * (RATE_GUESS[engine.describe().backend] ?? 1e8)) / perPoint)));
  const seconds = () => (performance.now() - started) / 1000;
  const state = (cells: number, doneSteps: number) => {
    const s = seconds();
    const rate = s > 0.2 && doneSteps > 0 ? doneSteps / s : 0;
    return { done: cells, total: cellsTotal, unit, rateUnit: 'path-steps', fraction: (totalSteps - todoSteps + doneSteps) / totalSteps, rate, etaSeconds: rate > 0 ? (todoSteps - doneSteps) / rate : NaN };
  };
  const finish = (interrupted: boolean, code: number): Outcome => {
    interrupt.beforeMessage = undefined;
    bar.clear();
    return { interrupted, code, seconds: seconds(), pathSteps: stepsDone, batches, cellsTotal, cellsDone: resumedCells + cellsDone, resumedCells };
  };
  try {
    for (const t of todo) {
      for (let g = t.gridStart; g < t.gridEnd;) {
        if (interrupt.signal.aborted) return finish(true, interrupt.code);
        const gridEnd = t.whole ? Math.min(t.gridEnd, g + size) : t.gridEnd;
        const t0 = performance.now();
        const piece = { gridStart: g, gridEnd, ...(t.whole ? {} : { pathStart: t.pathStart, pathEnd: t.pathEnd }) };
        const pieceCells = cellsOf({ gridStart: g, gridEnd, whole: t.whole });
        const part = await engine.collapse({
          ...options,
          shard: piece,
          signal: interrupt.signal,
          onProgress: (p) => bar.update(state(resumedCells + cellsDone + (t.whole ? p.gridDone * cut.blocks : 0), stepsDone + p.pathStepsDone)),
        });
        parts.push(part);
        save();
        batches++;
        cellsDone += pieceCells;
        stepsDone += (gridEnd - g) * (t.pathEnd - t.pathStart) * steps;
        bar.update(state(resumedCells + cellsDone, stepsDone), true);
        if (t.whole && batchFixed === undefined) {
          // Size the next batch from the measured time per grid point, growing at most 4× at a time.
          const perPointSeconds = (performance.now() - t0) / 1000 / (gridEnd - g);
          const wanted = Math.round(BATCH_SECONDS / Math.max(perPointSeconds, 1e-9));
          size = Math.max(1, Math.min(wanted, size * 4, options.noise.length));
        }
        g = gridEnd;
        if (batches === stopAfter) interrupt.stop('COLLAPSE_STOP_AFTER_BATCHES');
        // Let a pending Ctrl-C run its handler (a js batch never yields while it computes).
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  } catch (error) {
    if (error instanceof CollapseError && error.code === 'ABORTED' && interrupt.signal.aborted) return finish(true, interrupt.code || 130);
    finish(false, 1);
    throw error;
  }
  if (interrupt.signal.aborted && resumedCells + cellsDone < cellsTotal) return finish(true, interrupt.code);
  return finish(false, 0);
}

async function summary(r: CollapseResult, info: ReturnType<Engine['describe']>, o: Outcome, out: string, K: number): Promise<string> {
  const lines = await resultLines(r);
  lines.splice(1, 0, `backend:   ${info.backend} on ${info.device} (${info.reason})`);
  const rate = o.seconds > 0 ? o.pathSteps / o.seconds : 0;
  const resumed = o.resumedCells / (o.cellsTotal / K);
  lines.push(`elapsed:   ${duration(o.seconds)}, ${human(rate)} path-steps/s` +
    (resumed > 0 ? ` (this run: ${K - resumed} grid points; ${resumed} came from the checkpoint)` : '') + `, ${o.batches} batch${o.batches === 1 ? '' : 'es'}`);
  lines.push(wroteLine(out));
  return lines.join('\n') + '\n';
}

function shardSummary(p: Problem, cut: ShardCut, info: ReturnType<Engine['describe']>, o: Outcome, out: string): string {
  const pathSteps = cut.pieces.reduce((s, q) => s + (q.gridEnd - q.gridStart) * (q.pathEnd - q.pathStart) * p.steps, 0);
  const rate = o.seconds > 0 ? o.pathSteps / o.seconds : 0;
  return [
    `collapse sweep: shard ${cut.index}/${cut.count} of ${p.model}, ${p.noise.length} values of ${p.sweep} × ${p.paths} paths × ${p.steps} steps: ${cutText(cut, p.paths)} = ${human(pathSteps)} path-steps`,
    `backend:   ${info.backend} on ${info.device} (${info.reason})`,
    `elapsed:   ${duration(o.seconds)}, ${human(rate)} path-steps/s, ${o.batches} batch${o.batches === 1 ? '' : 'es'}${o.resumedCells > 0 ? ` (${o.resumedCells} of ${o.cellsTotal} came from the checkpoint)` : ''}`,
    `wrote:     ${join(out, SHARD_FILE)}; when all ${cut.count} shards are done: collapse merge <their folders> --out DIR`,
  ].join('\n') + '\n';
}

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, type Engine } from '../engine.js';
import { CollapseError } from '../errors.js';
import { collapseFigure, paramsText } from '../plot/collapse.js';
import { fmt } from '../plot/render.js';
import { mergeResults, planCollapse } from '../sde/collapse.js';
import type { CollapseOptions, CollapseResult } from '../sde/types.js';
import { checkSweep, findModel, parseCommand, parseGrid, parseInteger, parseIntegerList, parsePositive, parseSets, UsageError } from './args.js';
import { commonOptions, Interrupt, type Io, MAX_CLI_STEPS, packageVersion, parseRunSettings, reasonNote } from './common.js';
import { checkOutDir, commitFiles, FolderLock, makeOutDir, recover, removeCreated, tidy, toJson, writeAtomic } from './files.js';
import { SWEEP_HELP } from './help.js';
import { duration, human, ProgressBar } from './progress.js';

const CHECKPOINT_VERSION = 2;

/** What defines a sweep's numbers: a checkpoint resumes only a sweep with exactly these. */
interface Problem {
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

interface Checkpoint {
  kind: 'collapse-sweep-checkpoint';
  version: number;
  /** SHA-256 (hex) of JSON.stringify({ problem, parts }) as written: an edited or damaged checkpoint is refused. */
  sha256: string;
  problem: Problem;
  /** Finished grid pieces (CollapseResults computed with a `shard`), any order. */
  parts: CollapseResult[];
}

/** Rough path-steps/s per backend, only to size the first batch; later batches use the measured rate. */
const RATE_GUESS: Record<string, number> = { js: 1.5e7, native: 5e8, webgpu: 5e9 };
/** Seconds a batch should take: long enough to keep a GPU busy, short enough that Ctrl-C loses little. */
const BATCH_SECONDS = 3;

export async function sweepCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseCommand('sweep', argv, {
    ...commonOptions,
    record: { type: 'string' },
    epsilon: { type: 'string' },
    batch: { type: 'string' },
    resume: { type: 'boolean' },
  });
  if (values.help) {
    io.stdout.write(SWEEP_HELP);
    return 0;
  }
  // Everything is validated before anything touches the disk.
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
  const K = plan.noise.length;
  const batchFixed = values.batch === undefined ? undefined : parseInteger('--batch', values.batch, 1, K);
  const problem: Problem = { model: model.name, params: plan.values, sweep: plan.sweep, noise: plan.noise, paths, steps, dt, record: plan.record, epsilon, seed: plan.seed };
  const resume = values.resume === true;
  const force = values.force === true;
  if (resume && force) throw new UsageError('--resume and --force contradict each other: --resume continues the sweep in --out, --force starts it over');

  const out = values.out ?? join('out', model.name);
  const { exists } = checkOutDir(out);
  // A first look without the lock, so that a refusal leaves no trace; repeated under the lock below.
  if (exists) {
    FolderLock.check(out);
    tidy(out); // what a killed run left half-done is completed or removed first
    inspectOut(out, problem, resume, force);
  }

  const engine = await createEngine({ backend: run.backend, ...(run.threads === undefined ? {} : { threads: run.threads }) });
  const interrupt = new Interrupt(io);
  let lock: FolderLock | undefined;
  let created: string | undefined;
  try {
    const info = engine.describe();
    if (!values.quiet) {
      const note = reasonNote(info);
      if (note) io.stderr.write(note);
    }
    created = makeOutDir(out);
    lock = FolderLock.acquire(out);
    recover(out); // finish or undo what a killed run left half-done
    const parts = inspectOut(out, problem, resume, force);
    const checkpointPath = join(out, 'checkpoint.json');
    if (interrupt.code) {
      io.stderr.write('interrupted before starting; nothing was written\n');
      return interrupt.code;
    }
    const save = () => writeAtomic(checkpointPath, checkpointText(problem, parts));
    if (!resume) save();
    let outcome: Outcome;
    try {
      outcome = await runBatches(engine, options, parts, K, batchFixed, save, io, !values.quiet && io.stderr.isTTY === true, interrupt);
    } catch (error) {
      if (!resume && parts.length === 0) rmSync(checkpointPath, { force: true }); // nothing done: leave the folder as it was
      throw error;
    }
    if (outcome.interrupted) {
      io.stderr.write(`interrupted: ${covered(parts)} of ${K} grid points done; continue with the same command plus --resume\n`);
      return outcome.code;
    }
    interrupt.message = 'stopping before the results are written; all grid points are kept in the checkpoint';
    const merged = mergeResults([...parts].sort((a, b) => a.gridStart - b.gridStart));
    // result.json holds only what the arguments determine; timings go to run.json (two runs compare byte for byte).
    const { elapsedSeconds, pathStepsPerSecond, ...result } = merged;
    const figure = await collapseFigure(merged);
    if (interrupt.code) {
      io.stderr.write(`interrupted: all ${K} grid points are done and kept in ${checkpointPath}; the same command plus --resume writes the results\n`);
      return interrupt.code;
    }
    const runInfo = {
      command: 'collapse sweep', argv, version: packageVersion(), node: process.version,
      backend: info.backend, device: info.device, reason: info.reason, ...(info.threads === undefined ? {} : { threads: info.threads }),
      finished: new Date().toISOString(), thisRunSeconds: outcome.seconds, thisRunPathSteps: outcome.pathSteps, batches: outcome.batches,
      resumedGridPoints: outcome.resumedPoints, computeSeconds: elapsedSeconds, pathStepsPerSecond,
    };
    // All five files replace the old ones as one step (see commitFiles); the checkpoint goes with it.
    commitFiles(out, [['result.json', toJson(result)], ['result.csv', resultCsv(merged)], ['collapse.svg', figure.svg], ['collapse.png', figure.png],
      ['run.json', toJson(runInfo)]], ['checkpoint.json']);
    if (!values.quiet) io.stdout.write(summary(merged, info, outcome, out, K));
    return 0;
  } finally {
    interrupt.dispose();
    lock?.release();
    removeCreated(out, created); // only if it stayed empty
    engine.close();
  }
}

/**
 * What --out holds, against what this run wants: refuses to start over an unfinished sweep without --resume
 * (or --force) or over a finished one without --force; with --resume, returns the checkpoint's validated parts.
 */
function inspectOut(out: string, problem: Problem, resume: boolean, force: boolean): CollapseResult[] {
  const checkpointPath = join(out, 'checkpoint.json');
  const hasCheckpoint = existsSync(checkpointPath);
  const hasResult = existsSync(join(out, 'result.json'));
  if (resume) {
    if (!hasCheckpoint) {
      throw new UsageError(`--resume: no checkpoint in ${out}${hasResult ? ' (its result.json says that sweep already finished)' : ''}; run without --resume to start`);
    }
    return loadCheckpoint(checkpointPath, problem);
  }
  if (hasCheckpoint && !force) {
    throw new UsageError(`${out} holds an unfinished sweep (checkpoint.json): add --resume to continue it, or --force to start over (or pick another --out)`);
  }
  if (hasResult && !force) {
    throw new UsageError(`${out} already holds a finished sweep (result.json): add --force to replace it, or pick another --out`);
  }
  return [];
}

function digest(problem: unknown, parts: unknown): string {
  return createHash('sha256').update(JSON.stringify({ problem, parts })).digest('hex');
}

function checkpointText(problem: Problem, parts: CollapseResult[]): string {
  // JSON.stringify writes NaN as null; the digest is over exactly what is written, so it survives a re-read.
  const body = JSON.parse(JSON.stringify({ problem, parts })) as { problem: Problem; parts: CollapseResult[] };
  return toJson({ kind: 'collapse-sweep-checkpoint', version: CHECKPOINT_VERSION, sha256: digest(body.problem, body.parts), ...body } satisfies Checkpoint, false);
}

function loadCheckpoint(path: string, problem: Problem): CollapseResult[] {
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
  const diffs = (Object.keys(problem) as (keyof Problem)[])
    .filter((k) => JSON.stringify(cp.problem[k]) !== JSON.stringify(problem[k]))
    .map((k) => `${k}: checkpoint ${show(cp.problem[k])}, now ${show(problem[k])}`);
  if (diffs.length > 0) {
    throw new UsageError(`--resume: the options differ from the checkpoint's (${diffs.join('; ')}); rerun with the same options, or use another --out`);
  }
  const owner = new Int32Array(problem.noise.length).fill(-1);
  cp.parts.forEach((part, i) => {
    const why = checkPart(part, problem);
    if (why) refuse(`part ${i} ${why}`);
    for (let k = part.gridStart; k < part.gridStart + part.noise.length; k++) {
      if (owner[k] >= 0) refuse(`parts ${owner[k]} and ${i} both hold grid point ${k}`);
      owner[k] = i;
    }
  });
  return cp.parts;
}

/** Why a checkpoint part is not a finished piece of `problem` (undefined if it is). */
function checkPart(part: CollapseResult, problem: Problem): string | undefined {
  if (part === null || typeof part !== 'object' || Array.isArray(part)) return 'is not an object';
  const K = problem.noise.length;
  const R = problem.record.length;
  const n = Array.isArray(part.noise) ? part.noise.length : 0;
  if (!Number.isInteger(part.gridStart) || part.gridStart < 0 || n === 0 || part.gridStart + n > K) return 'has no valid grid range';
  if (JSON.stringify(part.noise) !== JSON.stringify(problem.noise.slice(part.gridStart, part.gridStart + n))) return `has noise values that are not the grid's at ${part.gridStart}`;
  for (const key of ['model', 'sweep', 'steps', 'dt', 'epsilon', 'seed', 'paths'] as const) {
    if (part[key] !== problem[key]) return `has ${key} ${show(part[key])}, not ${show(problem[key])}`;
  }
  if (part.pathStart !== 0) return 'does not start at path 0';
  if (JSON.stringify(part.record) !== JSON.stringify(problem.record) || JSON.stringify(part.params) !== JSON.stringify(problem.params)) return 'has other record steps or parameters';
  if (!Array.isArray(part.recordTimes) || part.recordTimes.length !== R || !part.recordTimes.every(Number.isFinite)) return 'has bad record times';
  if (part.init === null || typeof part.init !== 'object') return 'has no initial condition';
  if (typeof part.backend !== 'string' || typeof part.device !== 'string' || typeof part.distance !== 'string') return 'lacks its backend, device or distance';
  if (!Number.isFinite(part.elapsedSeconds) || part.elapsedSeconds < 0) return 'has a bad elapsed time';
  const grid = (v: unknown, ok: (x: unknown) => boolean) => Array.isArray(v) && v.length === n && v.every((row) => Array.isArray(row) && row.length === R && row.every(ok));
  const count = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= problem.paths;
  if (!grid(part.collapsed, count) || !grid(part.diverged, count)) return `has counts that are not integers in [0, ${problem.paths}] of shape ${n}×${R}`;
  for (let k = 0; k < n; k++) {
    for (let r = 0; r < R; r++) {
      if (part.collapsed[k][r] + part.diverged[k][r] > problem.paths) return `counts more collapsed plus diverged paths than ${problem.paths} at grid point ${part.gridStart + k}`;
    }
  }
  const sum = (nonNegative: boolean) => (x: unknown) => x === null || (typeof x === 'number' && Number.isFinite(x) && (!nonNegative || x >= 0));
  if (!grid(part.sumDistance, sum(true)) || !grid(part.sumSquaredDistance, sum(true)) || !grid(part.sumLogDistance, sum(false))) return 'has bad distance sums';
  const theory = part.theory as unknown as { points?: unknown } | null;
  if (theory === null || typeof theory !== 'object' || !Array.isArray(theory.points) || theory.points.length !== n
    || !theory.points.every((p) => p !== null && typeof p === 'object')) return 'has no theory per grid point';
  return undefined;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Number of grid points the parts cover. */
function covered(parts: readonly CollapseResult[]): number {
  return parts.reduce((s, p) => s + p.noise.length, 0);
}

/** [start, end) ranges of grid points no part covers. */
function missingRanges(parts: readonly CollapseResult[], K: number): [number, number][] {
  const done = new Uint8Array(K);
  for (const p of parts) done.fill(1, p.gridStart, p.gridStart + p.noise.length);
  const ranges: [number, number][] = [];
  for (let k = 0; k < K; k++) {
    if (done[k]) continue;
    const start = k;
    while (k < K && !done[k]) k++;
    ranges.push([start, k]);
  }
  return ranges;
}

interface Outcome {
  interrupted: boolean;
  code: number;
  /** Seconds and path-steps of this process's work (resumed parts excluded). */
  seconds: number;
  pathSteps: number;
  batches: number;
  resumedPoints: number;
}

async function runBatches(engine: Engine, options: CollapseOptions, parts: CollapseResult[], K: number, batchFixed: number | undefined,
  save: () => void, io: Io, showBar: boolean, interrupt: Interrupt): Promise<Outcome> {
  const perPoint = options.paths * options.steps;
  const resumedPoints = covered(parts);
  const todoPoints = K - resumedPoints;
  const bar = new ProgressBar(io.stderr, showBar);
  interrupt.message = 'stopping; finished grid points are kept in the checkpoint';
  interrupt.beforeMessage = () => bar.clear();
  const stopAfter = Number(process.env.COLLAPSE_STOP_AFTER_BATCHES ?? NaN); // test hook: act as if interrupted
  const started = performance.now();
  let pointsDone = 0;
  let batches = 0;
  let size = batchFixed ?? Math.max(1, Math.min(K, Math.round((BATCH_SECONDS * (RATE_GUESS[engine.describe().backend] ?? 1e8)) / perPoint)));
  const seconds = () => (performance.now() - started) / 1000;
  const state = (gridDone: number, stepsDone: number) => {
    const s = seconds();
    const rate = s > 0.2 && stepsDone > 0 ? stepsDone / s : 0;
    const left = todoPoints * perPoint - stepsDone;
    return { done: gridDone, total: K, unit: 'grid points', rateUnit: 'path-steps', fraction: (resumedPoints * perPoint + stepsDone) / (K * perPoint), rate, etaSeconds: rate > 0 ? left / rate : NaN };
  };
  const finish = (interrupted: boolean, code: number): Outcome => {
    interrupt.beforeMessage = undefined;
    bar.clear();
    return { interrupted, code, seconds: seconds(), pathSteps: pointsDone * perPoint, batches, resumedPoints };
  };
  try {
    for (const [start, end] of missingRanges(parts, K)) {
      for (let g = start; g < end;) {
        if (interrupt.signal.aborted) return finish(true, interrupt.code);
        const gridEnd = Math.min(end, g + size);
        const t0 = performance.now();
        const part = await engine.collapse({
          ...options,
          shard: { gridStart: g, gridEnd },
          signal: interrupt.signal,
          onProgress: (p) => bar.update(state(resumedPoints + pointsDone + p.gridDone, pointsDone * perPoint + p.pathStepsDone)),
        });
        parts.push(part);
        save();
        batches++;
        const n = gridEnd - g;
        pointsDone += n;
        g = gridEnd;
        bar.update(state(resumedPoints + pointsDone, pointsDone * perPoint), true);
        if (batchFixed === undefined) {
          // Size the next batch from the measured time per grid point, growing at most 4× at a time.
          const perPointSeconds = (performance.now() - t0) / 1000 / n;
          const wanted = Math.round(BATCH_SECONDS / Math.max(perPointSeconds, 1e-9));
          size = Math.max(1, Math.min(wanted, size * 4, K));
        }
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
  if (interrupt.signal.aborted && covered(parts) < K) return finish(true, interrupt.code);
  return finish(false, 0);
}

/** One row per (noise, recorded step). */
export function resultCsv(r: CollapseResult): string {
  const hasTheory = r.theory.points.some((p) => p.probability?.some((v) => typeof v === 'number'));
  const head = ['noise', 'step', 'time', 'paths', 'collapsed', 'diverged', 'probability', 'lower', 'upper', 'meanDistance', 'meanLogDistance', ...(hasTheory ? ['theoryProbability'] : [])];
  const num = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '');
  const lines = [head.join(',')];
  r.noise.forEach((x, k) => r.record.forEach((step, i) => {
    const row = [num(x), String(step), num(r.recordTimes[i]), String(r.paths), String(r.collapsed[k][i]), String(r.diverged[k][i]),
      num(r.probability[k][i]), num(r.lower[k][i]), num(r.upper[k][i]), num(r.meanDistance[k][i]), num(r.meanLogDistance[k][i])];
    if (hasTheory) row.push(num(r.theory.points[k]?.probability?.[i]));
    lines.push(row.join(','));
  }));
  return lines.join('\n') + '\n';
}

/** Where each recorded step's probability first reaches 1/2 (linear interpolation), or undefined. */
function halfCrossing(r: CollapseResult, i: number): number | undefined {
  for (let k = 1; k < r.noise.length; k++) {
    const a = r.probability[k - 1][i];
    const b = r.probability[k][i];
    if (a < 0.5 && b >= 0.5) return r.noise[k - 1] + ((0.5 - a) / (b - a)) * (r.noise[k] - r.noise[k - 1]);
  }
  return undefined;
}

function summary(r: CollapseResult, info: ReturnType<Engine['describe']>, o: Outcome, out: string, K: number): string {
  const totalSteps = K * r.paths * r.steps;
  const lines = [
    `collapse sweep: ${r.model}${paramsText(r) ? ` (${paramsText(r)})` : ''}, ${K} values of ${r.sweep} × ${r.paths} paths × ${r.steps} steps = ${human(totalSteps)} path-steps`,
    `backend:   ${info.backend} on ${info.device} (${info.reason})`,
  ];
  if (typeof r.theory.threshold === 'number') lines.push(`threshold: ${r.theory.thresholdLabel ?? r.sweep} ≈ ${fmt(r.theory.threshold)}`);
  const half = r.record.map((step, i) => {
    const x = halfCrossing(r, i);
    return x === undefined ? undefined : `${fmt(x, 3)} (step ${step})`;
  }).filter(Boolean);
  if (half.length > 0) lines.push(`P = 0.5 at: ${r.sweep} ≈ ${half.join(', ')}`);
  const rate = o.seconds > 0 ? o.pathSteps / o.seconds : 0;
  lines.push(`elapsed:   ${duration(o.seconds)}, ${human(rate)} path-steps/s` +
    (o.resumedPoints > 0 ? ` (this run: ${K - o.resumedPoints} grid points; ${o.resumedPoints} came from the checkpoint)` : '') + `, ${o.batches} batch${o.batches === 1 ? '' : 'es'}`);
  lines.push(`wrote:     ${join(out, 'result.json')}, result.csv, collapse.svg, collapse.png, run.json`);
  return lines.join('\n') + '\n';
}

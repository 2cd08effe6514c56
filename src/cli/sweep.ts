import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, type Engine } from '../engine.js';
import { CollapseError } from '../errors.js';
import { collapseFigure, paramsText } from '../plot/collapse.js';
import { fmt } from '../plot/render.js';
import { MAX_STEPS, mergeResults, planCollapse } from '../sde/collapse.js';
import type { CollapseOptions, CollapseResult } from '../sde/types.js';
import { findModel, parseCommand, parseGrid, parseInteger, parseIntegerList, parsePositive, parseSets, UsageError } from './args.js';
import { commonOptions, type Io, parseRunSettings, reasonNote } from './common.js';
import { isDirectoryOrMissing, toJson, writeAtomic } from './files.js';
import { SWEEP_HELP } from './help.js';
import { duration, human, ProgressBar } from './progress.js';

const CHECKPOINT_VERSION = 1;

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
  const model = findModel(values.model ?? 'quartic');
  const params = parseSets(model, values.set ?? []);
  if (values.noise === undefined) throw new UsageError('--noise is required: the noise grid, e.g. --noise 0:3:100 (100 points from 0 to 3) or --noise 1,2,2.5', `see 'collapse sweep --help'`);
  const noise = parseGrid('--noise', values.noise);
  const run = parseRunSettings(values);
  const paths = values.paths === undefined ? 1000 : parseInteger('--paths', values.paths, 1, 0xffff_ffff);
  const steps = values.steps === undefined ? model.defaults.steps : parseInteger('--steps', values.steps, 1, MAX_STEPS);
  const dt = values.dt === undefined ? model.defaults.dt : parsePositive('--dt', values.dt);
  const epsilon = values.epsilon === undefined ? model.defaults.epsilon : parsePositive('--epsilon', values.epsilon);
  let record: number[];
  if (values.record !== undefined) {
    record = parseIntegerList('--record', values.record, 0, Number.MAX_SAFE_INTEGER);
    const late = record.find((r) => r > steps);
    if (late !== undefined) throw new UsageError(`--record step ${late} is past --steps ${steps}; record steps must be ≤ --steps`);
  } else {
    record = [...new Set([...model.defaults.record.filter((r) => r <= steps), steps])];
  }
  if (values.sweep !== undefined && !Object.hasOwn(model.params, values.sweep)) {
    throw new UsageError(`--sweep: model '${model.name}' has no parameter '${values.sweep}'; its parameters are ${Object.keys(model.params).join(', ')}`, `see 'collapse models'`);
  }
  const options: CollapseOptions = { model: model.name, params, noise, paths, steps, dt, record, epsilon, seed: run.seed, ...(values.sweep ? { sweep: values.sweep } : {}) };
  const plan = planCollapse(options); // every library-level check, before anything touches the disk
  const K = plan.noise.length;
  const batchFixed = values.batch === undefined ? undefined : parseInteger('--batch', values.batch, 1, K);
  const problem: Problem = { model: model.name, params: plan.values, sweep: plan.sweep, noise: plan.noise, paths, steps, dt, record: plan.record, epsilon, seed: plan.seed };

  const out = values.out ?? join('out', model.name);
  const where = isDirectoryOrMissing(out);
  if (where === 'other') throw new UsageError(`--out ${out} exists and is not a folder`);
  const checkpointPath = join(out, 'checkpoint.json');
  let parts: CollapseResult[] = [];
  if (values.resume) {
    if (!existsSync(checkpointPath)) {
      throw new UsageError(`--resume: no checkpoint in ${out}${existsSync(join(out, 'result.json')) ? ' (its result.json says that sweep already finished)' : ''}; run without --resume to start`);
    }
    parts = loadCheckpoint(checkpointPath, problem);
  } else if (existsSync(checkpointPath)) {
    throw new UsageError(`${out} holds an unfinished sweep (checkpoint.json): add --resume to continue it, or delete ${checkpointPath} (or pick another --out) to start over`);
  }

  const engine = await createEngine({ backend: run.backend, ...(run.threads === undefined ? {} : { threads: run.threads }) });
  try {
    const info = engine.describe();
    if (!values.quiet) {
      const note = reasonNote(info);
      if (note) io.stderr.write(note);
    }
    mkdirSync(out, { recursive: true });
    const save = () => writeAtomic(checkpointPath, toJson({ kind: 'collapse-sweep-checkpoint', version: CHECKPOINT_VERSION, problem, parts } satisfies Checkpoint, false));
    if (!values.resume) save();
    const outcome = await runBatches(engine, options, parts, K, batchFixed, save, io, !values.quiet && io.stderr.isTTY === true);
    if (outcome.interrupted) {
      const done = covered(parts);
      io.stderr.write(`interrupted: ${done} of ${K} grid points done; continue with the same command plus --resume\n`);
      return outcome.code;
    }
    const result = mergeResults([...parts].sort((a, b) => a.gridStart - b.gridStart));
    writeAtomic(join(out, 'result.json'), toJson(result));
    writeAtomic(join(out, 'result.csv'), resultCsv(result));
    const figure = await collapseFigure(result);
    writeAtomic(join(out, 'collapse.svg'), figure.svg);
    writeAtomic(join(out, 'collapse.png'), figure.png);
    rmSync(checkpointPath, { force: true });
    if (!values.quiet) io.stdout.write(summary(result, info, outcome, out, K));
    return 0;
  } finally {
    engine.close();
  }
}

function loadCheckpoint(path: string, problem: Problem): CollapseResult[] {
  let cp: Checkpoint;
  try {
    cp = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  } catch (error) {
    throw new UsageError(`--resume: ${path} is not a readable checkpoint (${error instanceof Error ? error.message : String(error)}); delete it to start over`);
  }
  if (cp?.kind !== 'collapse-sweep-checkpoint' || cp.version !== CHECKPOINT_VERSION || !Array.isArray(cp.parts) || !cp.problem) {
    throw new UsageError(`--resume: ${path} is not a checkpoint this version of collapse can read; delete it to start over`);
  }
  const diffs = (Object.keys(problem) as (keyof Problem)[])
    .filter((k) => JSON.stringify(cp.problem[k]) !== JSON.stringify(problem[k]))
    .map((k) => `${k}: checkpoint ${show(cp.problem[k])}, now ${show(problem[k])}`);
  if (diffs.length > 0) {
    throw new UsageError(`--resume: the options differ from the checkpoint's (${diffs.join('; ')}); rerun with the same options, or use another --out`);
  }
  return cp.parts;
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
  save: () => void, io: Io, showBar: boolean): Promise<Outcome> {
  const perPoint = options.paths * options.steps;
  const resumedPoints = covered(parts);
  const todoPoints = K - resumedPoints;
  const bar = new ProgressBar(io.stderr, showBar);
  const controller = new AbortController();
  let signalCode = 0;
  const onSignal = (name: NodeJS.Signals) => {
    if (signalCode !== 0) process.exit(signalCode); // a second Ctrl-C: leave now (the checkpoint is already on disk)
    signalCode = name === 'SIGINT' ? 130 : 143;
    bar.clear();
    io.stderr.write(`\n${name === 'SIGINT' ? 'Ctrl-C' : name}: stopping; finished grid points are kept in the checkpoint (again to quit at once)\n`);
    controller.abort(new Error(`interrupted by ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
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
    return { gridDone, gridTotal: K, fraction: (resumedPoints * perPoint + stepsDone) / (K * perPoint), rate, etaSeconds: rate > 0 ? left / rate : NaN };
  };
  const finish = (interrupted: boolean, code: number): Outcome => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    bar.clear();
    return { interrupted, code, seconds: seconds(), pathSteps: pointsDone * perPoint, batches, resumedPoints };
  };
  try {
    for (const [start, end] of missingRanges(parts, K)) {
      for (let g = start; g < end;) {
        if (controller.signal.aborted) return finish(true, signalCode);
        const gridEnd = Math.min(end, g + size);
        const t0 = performance.now();
        const part = await engine.collapse({
          ...options,
          shard: { gridStart: g, gridEnd },
          signal: controller.signal,
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
        if (batches === stopAfter) {
          signalCode = 130;
          controller.abort(new Error('COLLAPSE_STOP_AFTER_BATCHES'));
        }
        // Let a pending Ctrl-C run its handler (a js batch never yields while it computes).
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  } catch (error) {
    if (error instanceof CollapseError && error.code === 'ABORTED' && controller.signal.aborted) return finish(true, signalCode || 130);
    finish(false, 1);
    throw error;
  }
  if (controller.signal.aborted && covered(parts) < K) return finish(true, signalCode);
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
  lines.push(`wrote:     ${join(out, 'result.json')}, result.csv, collapse.svg, collapse.png`);
  return lines.join('\n') + '\n';
}

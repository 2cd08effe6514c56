import { CollapseError, invalidArgument } from '../errors.js';
import { finiteNumber, integerIn, MAX_U32, plainObject, positiveNumber } from '../validate.js';
import type { Backend } from '../backends/types.js';
import { emCollapse } from '../kernels/em_collapse.js';
import { STAT_FIELDS, type InitSpec, type SimJob } from './job.js';
import { builtinModels } from './models/index.js';
import { sweepableParams } from './sweepable.js';
import type { BuiltModel, ModelDefinition } from './model.js';
import { PATH_BLOCK } from './shards.js';
import { wilson } from './special.js';
import type { CollapseOptions, CollapseResult, Grid2 } from './types.js';

/** Most grid points one call accepts (the quartic's finite-time theory alone costs ~20 ms a point). */
export const MAX_GRID = 10_000;

/** Largest step count accepted: the native and webgpu kernels count steps in 32 bits. */
export const MAX_STEPS = 2 ** 32 - 1;

/** A validated problem, ready to be cut into backend jobs. */
export interface Plan {
  readonly definition: ModelDefinition;
  readonly built: BuiltModel;
  readonly values: Record<string, number>;
  readonly sweep: string;
  readonly noise: number[];
  readonly gridStart: number;
  readonly gridEnd: number;
  readonly pathStart: number;
  readonly pathEnd: number;
  readonly paths: number;
  readonly steps: number;
  readonly dt: number;
  readonly record: number[];
  readonly epsilon: number;
  readonly seed: number;
  readonly init: InitSpec;
  readonly trace?: { paths: number; every: number };
  /** Parameter vectors for grid points gridStart..gridEnd-1. */
  readonly params: Float32Array;
}

function resolveModel(model: unknown): ModelDefinition {
  if (typeof model === 'string') {
    const found = Object.hasOwn(builtinModels, model) ? builtinModels[model] : undefined;
    if (!found) throw invalidArgument('model', model, `one of ${Object.keys(builtinModels).map((n) => `'${n}'`).join(', ')} (or a defineModel(...) result)`);
    return found;
  }
  if (model && typeof model === 'object' && typeof (model as ModelDefinition).build === 'function') return model as ModelDefinition;
  throw invalidArgument('model', model, 'a built-in model name or a defineModel(...) result');
}

function checkParam(definition: ModelDefinition, name: string, value: unknown, what = `parameter '${name}' of model '${definition.name}'`): number {
  const spec = definition.params[name];
  const v = finiteNumber(what, value);
  if (spec.integer && !Number.isInteger(v)) throw invalidArgument(what, value, 'an integer');
  if (spec.min !== undefined && v < spec.min) throw invalidArgument(what, value, `≥ ${spec.min}`);
  if (spec.max !== undefined && v > spec.max) throw invalidArgument(what, value, `≤ ${spec.max}`);
  return v;
}

function perComponent(name: string, value: unknown, fallback: readonly number[], d: number): number[] {
  if (value === undefined) return [...fallback];
  if (typeof value === 'number') return Array.from({ length: d }, () => finiteNumber(name, value));
  if (!Array.isArray(value) || value.length !== d || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw invalidArgument(name, value, `a finite number or ${d} finite numbers`);
  }
  return [...value];
}

/** Validates `options` (every message says what was wrong and what is expected) and builds the model. */
export function planCollapse(options: CollapseOptions): Plan {
  plainObject('options', options);
  const definition = resolveModel(options.model);
  const given = options.params === undefined ? {} : plainObject('params', options.params);
  const known = Object.keys(definition.params);
  for (const name of Object.keys(given)) {
    if (!known.includes(name)) throw invalidArgument('parameter name', name, `a parameter of model '${definition.name}' (${known.join(', ')})`);
  }
  const values: Record<string, number> = {};
  for (const name of known) values[name] = checkParam(definition, name, given[name] ?? definition.params[name].default);
  const sweep = options.sweep ?? definition.noiseParam;
  if (!known.includes(sweep)) throw invalidArgument('sweep', sweep, `a parameter of model '${definition.name}' (${known.join(', ')})`);
  if (!Array.isArray(options.noise) || options.noise.length === 0) throw invalidArgument('noise', options.noise, `a non-empty list of values of '${sweep}'`);
  // Results hold a row per grid point and record, and the theory a quadrature per point: beyond this, cut the
  // sweep into shards (shard.gridStart/gridEnd, `collapse sweep --shard`) and merge them.
  if (options.noise.length > MAX_GRID) throw invalidArgument('noise', options.noise, `at most ${MAX_GRID} grid points per call (split larger sweeps with shard.gridStart/gridEnd and mergeResults)`);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalidArgument('onProgress', options.onProgress, 'a function');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw invalidArgument('signal', options.signal, 'an AbortSignal');
  const noise = options.noise.map((v, i) => checkParam(definition, sweep, v, `noise[${i}] (a value of '${sweep}')`));
  const paths = integerIn('paths', options.paths, 1, MAX_U32);
  const steps = integerIn('steps', options.steps, 1, MAX_STEPS);
  const dt = positiveNumber('dt', options.dt);
  const epsilon = positiveNumber('epsilon', options.epsilon);
  const seed = options.seed === undefined ? 0 : integerIn('seed', options.seed, 0, MAX_U32);
  const rawRecord = options.record ?? [steps];
  if (!Array.isArray(rawRecord) || rawRecord.length === 0) throw invalidArgument('record', rawRecord, 'a non-empty list of step indices');
  for (const r of rawRecord) {
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0) throw invalidArgument('record', r, 'step indices: integers ≥ 0');
    if (r > steps) throw invalidArgument('record', r, `steps ≤ steps (${steps})`);
  }
  const record = [...new Set(rawRecord as number[])].sort((a, b) => a - b);

  const shard = options.shard === undefined ? {} : plainObject('shard', options.shard);
  const gridStart = shard.gridStart === undefined ? 0 : integerIn('shard.gridStart', shard.gridStart, 0, noise.length - 1);
  const gridEnd = shard.gridEnd === undefined ? noise.length : integerIn('shard.gridEnd', shard.gridEnd, gridStart + 1, noise.length);
  const pathStart = shard.pathStart === undefined ? 0 : integerIn('shard.pathStart', shard.pathStart, 0, paths - 1);
  const pathEnd = shard.pathEnd === undefined ? paths : integerIn('shard.pathEnd', shard.pathEnd, pathStart + 1, paths);

  if (sweep !== definition.noiseParam && !sweepableParams(definition, values, seed).includes(sweep)) {
    throw invalidArgument('sweep', sweep, `a parameter model '${definition.name}' varies per grid point (${sweepableParams(definition, values, seed).join(', ')}); '${sweep}' is fixed when the model is built, so sweeping it would label every point with a value never used`);
  }
  const built = definition.build(values, { seed, data: options.data });
  const { d } = built.kernel;
  const init0 = options.init === undefined ? {} : plainObject('init', options.init);
  const init: InitSpec = {
    mean: perComponent('init.mean', init0.mean, built.init.mean, d),
    std: perComponent('init.std', init0.std, built.init.std, d),
    shared: init0.shared === undefined ? built.init.shared : Boolean(init0.shared),
  };
  if (init.std.some((s) => s < 0)) throw invalidArgument('init.std', init.std, 'standard deviations ≥ 0');
  let trace: Plan['trace'];
  if (options.trace !== undefined) {
    const t = plainObject('trace', options.trace);
    trace = {
      paths: integerIn('trace.paths', t.paths, 1, Math.min(1000, pathEnd - pathStart)),
      every: integerIn('trace.every', t.every, 1, steps),
    };
    const samples = Math.floor(steps / trace.every) + 1;
    if ((gridEnd - gridStart) * trace.paths * samples * d > 50_000_000) {
      throw invalidArgument('trace', options.trace, 'at most 5·10⁷ stored values (fewer paths, or a larger `every`)');
    }
  }
  const np = built.kernel.paramNames.length;
  const params = new Float32Array((gridEnd - gridStart) * np);
  for (let k = gridStart; k < gridEnd; k++) {
    const packed = built.pack({ ...values, [sweep]: noise[k] });
    if (packed.length !== np || !packed.every(Number.isFinite)) {
      throw invalidArgument(`parameters at noise[${k}] = ${noise[k]}`, packed, `${np} finite kernel parameters`);
    }
    params.set(packed, (k - gridStart) * np);
  }
  return { definition, built, values, sweep, noise, gridStart, gridEnd, pathStart, pathEnd, paths: pathEnd - pathStart, steps, dt, record, epsilon, seed, init, trace, params };
}

/**
 * The plan step of the em_collapse kernel: runs a validated plan on a backend in as many jobs as its memory
 * needs, sums their statistics exactly, and reports; progress and abort pass through.
 */
export async function runPlan(plan: Plan, backend: Backend, options: Pick<CollapseOptions, 'onProgress' | 'signal'>): Promise<CollapseResult> {
  // A throwing onProgress stops the run on every backend and rejects the call with its error: the backends
  // see an abort (native polls progress from a timer, where a throw would escape as an uncaught exception).
  const stop = new AbortController();
  let callbackError: { error: unknown } | undefined;
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let result: CollapseResult;
  try {
    result = await runJobs(plan, backend, {
      signal,
      onProgress: options.onProgress && ((p) => {
        if (callbackError) return;
        try {
          options.onProgress!(p);
        } catch (error) {
          callbackError = { error };
          stop.abort(error);
        }
      }),
    });
  } catch (error) {
    if (callbackError) throw callbackError.error;
    throw error;
  }
  // The last report comes after the last job: a throw there has nothing left to abort, but still rejects the call.
  if (callbackError) throw callbackError.error;
  return result;
}

async function runJobs(plan: Plan, backend: Backend, options: Pick<CollapseOptions, 'onProgress' | 'signal'>): Promise<CollapseResult> {
  const K = plan.gridEnd - plan.gridStart;
  const R = plan.record.length;
  const np = plan.built.kernel.paramNames.length;
  const stats = new Float64Array(R * K * STAT_FIELDS);
  // Paths are summed one global path block (PATH_BLOCK paths, aligned to multiples of it) at a time, and the
  // block sums are added in block order: a shard holding one block of a grid point then merges exactly (shards.ts).
  const pathChunk = Math.max(1, Math.min(plan.paths, PATH_BLOCK, backend.maxStatesPerJob));
  const gridChunk = Math.max(1, Math.min(K, Math.floor(backend.maxStatesPerJob / pathChunk)));
  const total = K * plan.paths * plan.steps;
  const started = performance.now();
  let doneBefore = 0;
  let gridDone = 0;
  const report = (pathStepsDone: number) => {
    const elapsedSeconds = (performance.now() - started) / 1000;
    options.onProgress?.({
      gridDone, gridTotal: K, pathStepsDone, pathStepsTotal: total, elapsedSeconds,
      pathStepsPerSecond: elapsedSeconds > 0 ? pathStepsDone / elapsedSeconds : 0,
    });
  };
  let traceValues: number[][][][] | undefined;
  const samples = plan.trace ? Math.floor(plan.steps / plan.trace.every) + 1 : 0;
  const pathEnd = plan.pathStart + plan.paths;
  for (let g0 = 0; g0 < K; g0 += gridChunk) {
    const gridCount = Math.min(gridChunk, K - g0);
    const blockStats = new Float64Array(R * gridCount * STAT_FIELDS);
    for (let b0 = plan.pathStart; b0 < pathEnd;) {
      const b1 = Math.min(pathEnd, (Math.floor(b0 / PATH_BLOCK) + 1) * PATH_BLOCK);
      blockStats.fill(0);
      for (let p0 = b0; p0 < b1; p0 += pathChunk) {
        if (options.signal?.aborted) throw new CollapseError('ABORTED', 'the estimate was aborted', {}, { cause: options.signal.reason });
        const paths = Math.min(pathChunk, b1 - p0);
        const job: SimJob = {
          model: plan.built.kernel,
          params: plan.params.subarray(g0 * np, (g0 + gridCount) * np),
          gridOffset: plan.gridStart + g0,
          gridCount,
          paths,
          pathOffset: p0,
          steps: plan.steps,
          dt: plan.dt,
          record: plan.record,
          epsilon: plan.epsilon,
          seed: plan.seed,
          init: plan.init,
          trace: plan.trace && p0 === plan.pathStart ? plan.trace : undefined,
          onProgress: (done) => report(doneBefore + done),
          signal: options.signal,
        };
        const out = await emCollapse.run(backend, job);
        for (let i = 0; i < blockStats.length; i++) blockStats[i] += out.stats[i];
        if (plan.trace && out.trace) {
          traceValues ??= [];
          const { d } = plan.built.kernel;
          for (let k = 0; k < gridCount; k++) {
            traceValues[g0 + k] = Array.from({ length: plan.trace.paths }, (_, p) =>
              Array.from({ length: samples }, (_, s) => Array.from(out.trace!.subarray(((k * plan.trace!.paths + p) * samples + s) * d, ((k * plan.trace!.paths + p) * samples + s + 1) * d))));
          }
        }
        doneBefore += gridCount * paths * plan.steps;
      }
      for (let r = 0; r < R; r++) {
        for (let k = 0; k < gridCount; k++) {
          const from = (r * gridCount + k) * STAT_FIELDS;
          const to = (r * K + g0 + k) * STAT_FIELDS;
          for (let f = 0; f < STAT_FIELDS; f++) stats[to + f] += blockStats[from + f];
        }
      }
      b0 = b1;
    }
    gridDone += gridCount;
    report(doneBefore);
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  const field = (f: number): Grid2 => Array.from({ length: K }, (_, k) => plan.record.map((_, r) => stats[(r * K + k) * STAT_FIELDS + f]));
  const noise = plan.noise.slice(plan.gridStart, plan.gridEnd);
  const theory = plan.built.theory(noise.map((v) => ({ ...plan.values, [plan.sweep]: v })), plan);
  return finishResult({
    model: plan.definition.name,
    params: plan.values,
    sweep: plan.sweep,
    noise,
    gridStart: plan.gridStart,
    record: plan.record,
    recordTimes: plan.record.map((r) => r * plan.dt),
    paths: plan.paths,
    pathStart: plan.pathStart,
    steps: plan.steps,
    dt: plan.dt,
    epsilon: plan.epsilon,
    seed: plan.seed,
    init: plan.init,
    distance: plan.definition.distanceLabel,
    collapsed: field(0),
    diverged: field(1),
    sumDistance: field(2),
    sumSquaredDistance: field(3),
    sumLogDistance: field(4),
    theory,
    backend: backend.info.name,
    device: backend.info.device,
    elapsedSeconds,
    pathStepsPerSecond: elapsedSeconds > 0 ? total / elapsedSeconds : 0,
    ...(plan.trace && traceValues
      ? { trace: { every: plan.trace.every, steps: Array.from({ length: samples }, (_, s) => s * plan.trace!.every), values: traceValues } }
      : {}),
  });
}

type RawResult = Omit<CollapseResult, 'probability' | 'lower' | 'upper' | 'meanDistance' | 'meanSquaredDistance' | 'meanLogDistance'>;

/** Derives probabilities, Wilson intervals and means from counts and sums. */
export function finishResult(raw: RawResult): CollapseResult {
  const map = (f: (k: number, r: number) => number): Grid2 => raw.noise.map((_, k) => raw.record.map((_, r) => f(k, r)));
  const intervals = raw.collapsed.map((row) => row.map((c) => wilson(c, raw.paths)));
  const finite = (k: number, r: number) => raw.paths - raw.diverged[k][r];
  const mean = (sums: Grid2) => map((k, r) => (finite(k, r) > 0 ? sums[k][r] / finite(k, r) : NaN));
  return {
    ...raw,
    probability: map((k, r) => raw.collapsed[k][r] / raw.paths),
    lower: intervals.map((row) => row.map((i) => i[0])),
    upper: intervals.map((row) => row.map((i) => i[1])),
    meanDistance: mean(raw.sumDistance),
    meanSquaredDistance: mean(raw.sumSquaredDistance),
    meanLogDistance: mean(raw.sumLogDistance),
  };
}

const SAME_KEYS = ['model', 'sweep', 'steps', 'dt', 'epsilon', 'seed'] as const;

/**
 * Joins results computed with `shard` (pieces of the grid and/or of the paths) into the result of the whole
 * sweep: counts are summed exactly, grid pieces are concatenated in grid order. The distance sums are exactly
 * the unsharded run's too when each path piece is whole grid points or one block of PATH_BLOCK paths (what
 * `cutShard` makes); other path pieces agree up to floating-point rounding.
 * @example
 * const a = await engine.collapse({ ...opts, shard: { gridStart: 0, gridEnd: 50 } });
 * const b = await engine.collapse({ ...opts, shard: { gridStart: 50 } });
 * const whole = mergeResults([a, b]);
 */
export function mergeResults(parts: readonly CollapseResult[]): CollapseResult {
  if (!Array.isArray(parts) || parts.length === 0) throw invalidArgument('parts', parts, 'a non-empty array of collapse results');
  parts.forEach((part, i) => {
    const ok = part !== null && typeof part === 'object' && Array.isArray(part.noise) && Array.isArray(part.collapsed) && Array.isArray(part.record)
      && Number.isInteger(part.gridStart) && Number.isInteger(part.pathStart) && Number.isInteger(part.paths);
    if (!ok) throw invalidArgument(`parts[${i}]`, part, 'a result of engine.collapse');
  });
  const first = parts[0];
  for (const part of parts) {
    for (const key of SAME_KEYS) {
      if (part[key] !== first[key]) throw invalidArgument(`parts: ${key}`, part[key], `the same ${key} in every part (${first[key]})`);
    }
    for (const key of ['record', 'params', 'init'] as const) {
      if (JSON.stringify(part[key]) !== JSON.stringify(first[key])) {
        throw invalidArgument(`parts: ${key}`, JSON.stringify(part[key]), `the same ${key} in every part (${JSON.stringify(first[key])}): parts of one sweep`);
      }
    }
  }
  // Group by grid piece; within a piece the path shards must tile the same paths range.
  const byGrid = new Map<number, CollapseResult[]>();
  for (const p of parts) byGrid.set(p.gridStart, [...(byGrid.get(p.gridStart) ?? []), p]);
  const pieces = [...byGrid.entries()].sort((a, b) => a[0] - b[0]).map(([, group]) => {
    group.sort((a, b) => a.pathStart - b.pathStart);
    for (let i = 1; i < group.length; i++) {
      if (group[i].pathStart !== group[i - 1].pathStart + group[i - 1].paths || group[i].noise.length !== group[0].noise.length) {
        throw invalidArgument('parts', `paths ${group[i].pathStart}..`, 'path shards that tile the paths without gaps or overlaps');
      }
    }
    const sum = (key: 'collapsed' | 'diverged' | 'sumDistance' | 'sumSquaredDistance' | 'sumLogDistance'): Grid2 =>
      group[0][key].map((row, k) => row.map((_, r) => group.reduce((s, g) => s + g[key][k][r], 0)));
    const paths = group.reduce((s, g) => s + g.paths, 0);
    return { ...group[0], paths, collapsed: sum('collapsed'), diverged: sum('diverged'), sumDistance: sum('sumDistance'),
      sumSquaredDistance: sum('sumSquaredDistance'), sumLogDistance: sum('sumLogDistance'),
      elapsedSeconds: group.reduce((s, g) => s + g.elapsedSeconds, 0) };
  });
  for (let i = 1; i < pieces.length; i++) {
    if (pieces[i].gridStart !== pieces[i - 1].gridStart + pieces[i - 1].noise.length) throw invalidArgument('parts', `grid piece at ${pieces[i].gridStart}`, 'grid pieces without gaps or overlaps');
    if (pieces[i].paths !== pieces[0].paths) throw invalidArgument('parts', pieces[i].paths, `the same number of paths in every grid piece (${pieces[0].paths})`);
  }
  const cat = <K extends keyof CollapseResult>(key: K): CollapseResult[K] => pieces.flatMap((p) => p[key] as unknown[]) as CollapseResult[K];
  const elapsedSeconds = pieces.reduce((s, p) => s + p.elapsedSeconds, 0);
  const pathSteps = pieces.reduce((s, p) => s + p.noise.length * p.paths * p.steps, 0);
  return finishResult({
    ...pieces[0],
    noise: cat('noise'),
    collapsed: cat('collapsed'),
    diverged: cat('diverged'),
    sumDistance: cat('sumDistance'),
    sumSquaredDistance: cat('sumSquaredDistance'),
    sumLogDistance: cat('sumLogDistance'),
    theory: { ...pieces[0].theory, points: pieces.flatMap((p) => p.theory.points) },
    elapsedSeconds,
    pathStepsPerSecond: elapsedSeconds > 0 ? pathSteps / elapsedSeconds : 0,
    trace: pieces.every((p) => p.trace) ? { ...pieces[0].trace!, values: pieces.flatMap((p) => p.trace!.values) } : undefined,
  });
}

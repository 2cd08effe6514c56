/**
 * Running one reproduction on an engine: settings (a scale plus overrides) checked against the reproduction's
 * declarations, stages kept in a checkpoint the caller persists, progress, abort, and the result.
 */
import type { Engine } from '../engine.js';
import { aborted, CollapseError, invalidArgument } from '../errors.js';
import { integerIn, MAX_U32 } from '../validate.js';
import { REPRODUCTIONS } from './registry.js';
import type { Claim, DataFile, FigureOutput, ReproContext, ReproProgress, Reproduction, ScaleName, SettingSpec, Settings, SettingValue } from './types.js';

/** What a checkpoint of a reproduction holds: finished stages' values and long stages' saved state. */
export interface ReproCheckpoint {
  readonly stages: Record<string, unknown>;
  readonly state: Record<string, unknown>;
}

export interface ReproduceOptions {
  /** 'quick' (default) or 'paper'. */
  readonly scale?: ScaleName;
  /** Settings overriding the scale's (names from the reproduction's `settings`). */
  readonly set?: Readonly<Record<string, SettingValue>>;
  /** Seed of every random draw (default 1). */
  readonly seed?: number;
  /** Folder of the CIFAR binary batches, for the reproductions that train on CIFAR. */
  readonly dataDir?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ReproProgress) => void;
  /** Stages already done (from a checkpoint a previous run left): they are not computed again. */
  readonly resume?: ReproCheckpoint;
  /** Called with the whole checkpoint each time a stage finishes or a long stage saves its state. */
  readonly onCheckpoint?: (checkpoint: ReproCheckpoint) => void;
  /** Where large binary intermediates go (default: memory, for this call only). Names are letters, digits, `.`, `-`, `_`. */
  readonly blobs?: BlobStore;
}

/** Storage of a reproduction's binary intermediates (see ReproContext.readBlob). */
export interface BlobStore {
  read(name: string): Uint8Array | undefined;
  write(name: string, bytes: Uint8Array): void;
}

/** A blob store in memory. */
export function memoryBlobs(): BlobStore {
  const map = new Map<string, Uint8Array>();
  return { read: (name) => map.get(name), write: (name, bytes) => { map.set(name, bytes); } };
}

export interface ReproResult {
  readonly name: string;
  readonly figure: string;
  readonly title: string;
  readonly scale: ScaleName;
  /** Every setting as used (the scale's, with the overrides applied). */
  readonly settings: Settings;
  /** The names of the settings given as overrides. */
  readonly overrides: readonly string[];
  readonly seed: number;
  readonly backend: string;
  readonly device: string;
  readonly claims: readonly Claim[];
  readonly figures: readonly FigureOutput[];
  readonly files: readonly DataFile[];
  readonly sections: readonly { readonly title: string; readonly body: string }[];
  readonly differences: readonly string[];
  readonly measured: Readonly<Record<string, unknown>>;
  /** Seconds this call computed (stages taken from the checkpoint excluded). */
  readonly seconds: number;
  /** Stages taken from the checkpoint. */
  readonly resumedStages: number;
}

/** The reproduction called `name`, or an INVALID_ARGUMENT error listing them. */
export function findReproduction(name: unknown): Reproduction {
  const r = typeof name === 'string' && Object.hasOwn(REPRODUCTIONS, name) ? REPRODUCTIONS[name] : undefined;
  if (!r) throw invalidArgument('reproduction', name, `one of ${Object.keys(REPRODUCTIONS).join(', ')}`);
  return r;
}

/** Checks one setting value against its declaration; returns it (lists as plain arrays). */
export function checkSetting(repro: Reproduction, name: string, value: unknown): SettingValue {
  const spec: SettingSpec | undefined = Object.hasOwn(repro.settings, name) ? repro.settings[name] : undefined;
  if (!spec) throw invalidArgument(`setting of ${repro.name}`, name, `one of ${Object.keys(repro.settings).join(', ')}`);
  const what = `${repro.name} setting '${name}'`;
  const range = (v: number) => {
    if (spec.min !== undefined && v < spec.min) throw invalidArgument(what, v, `≥ ${spec.min}`);
    if (spec.max !== undefined && v > spec.max) throw invalidArgument(what, v, `≤ ${spec.max}`);
    return v;
  };
  switch (spec.kind) {
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value) || (spec.kind === 'integer' && !Number.isInteger(value))) {
        throw invalidArgument(what, value, spec.kind === 'integer' ? 'an integer' : 'a finite number');
      }
      return range(value);
    case 'list':
    case 'integers':
      if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'number' && Number.isFinite(v) && (spec.kind === 'list' || Number.isInteger(v)))) {
        throw invalidArgument(what, value, spec.kind === 'list' ? 'a non-empty list of finite numbers' : 'a non-empty list of integers');
      }
      return (value as number[]).map(range);
    case 'choice':
      if (typeof value !== 'string' || !spec.choices?.includes(value)) throw invalidArgument(what, value, `one of ${spec.choices?.join(', ')}`);
      return value;
  }
}

/** The settings of `repro` at `scale` with `overrides` applied (each checked). */
export function resolveSettings(repro: Reproduction, scale: ScaleName, overrides: Readonly<Record<string, SettingValue>> = {}): Settings {
  if (scale !== 'quick' && scale !== 'paper') throw invalidArgument('scale', scale, "'quick' or 'paper'");
  const out: Record<string, SettingValue> = {};
  for (const [name, spec] of Object.entries(repro.settings)) out[name] = spec[scale];
  for (const [name, value] of Object.entries(overrides)) out[name] = checkSetting(repro, name, value);
  return out;
}

/**
 * Runs one of the paper's reproductions on `engine` and returns its claims (each with a verdict), figures and
 * data. Stages found in `resume` are not recomputed; `onCheckpoint` receives the growing checkpoint. An abort
 * (through `signal`) rejects with ABORTED after the finished stages were handed to `onCheckpoint`.
 * @example
 * const engine = await createEngine();
 * const r = await reproduce(engine, 'fig1', { scale: 'quick' });
 * for (const c of r.claims) console.log(c.verdict, c.statement);
 */
export async function reproduce(engine: Engine, name: string, options: ReproduceOptions = {}): Promise<ReproResult> {
  const repro = findReproduction(name);
  const scale = options.scale ?? 'quick';
  const settings = resolveSettings(repro, scale, options.set ?? {});
  const seed = integerIn('seed', options.seed ?? 1, 0, MAX_U32);
  const signal = options.signal ?? new AbortController().signal;
  const checkpoint: ReproCheckpoint = {
    stages: { ...(options.resume?.stages ?? {}) },
    state: { ...(options.resume?.state ?? {}) },
  };
  const plan = repro.plan(settings);
  const total = plan.reduce((s, p) => s + p.work, 0) || 1;
  const workOf = new Map(plan.map((p) => [p.key, p]));
  const resumedStages = Object.keys(checkpoint.stages).filter((k) => workOf.has(k)).length;
  let doneWork = plan.filter((p) => Object.hasOwn(checkpoint.stages, p.key)).reduce((s, p) => s + p.work, 0);
  let stagesDone = resumedStages;
  const started = performance.now();
  const emit = (stage: string, fraction: number, note?: string) => {
    options.onProgress?.({ fraction: Math.min(1, fraction), stage, stagesDone, stages: plan.length, ...(note ? { note } : {}) });
  };
  const persist = () => options.onCheckpoint?.({ stages: checkpoint.stages, state: checkpoint.state });
  const blobs = options.blobs ?? memoryBlobs();
  const blobName = (name: string) => {
    if (!/^[\w.-]+$/.test(name)) throw invalidArgument('blob name', name, 'letters, digits, ".", "-" or "_"');
    return name;
  };
  const context: ReproContext = {
    engine,
    settings,
    seed,
    signal,
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    async stage<T>(key: string, compute: (report: (fraction: number, note?: string) => void) => Promise<T>): Promise<T> {
      if (Object.hasOwn(checkpoint.stages, key)) return checkpoint.stages[key] as T;
      if (signal.aborted) throw aborted('the reproduction');
      const planned = workOf.get(key);
      const label = planned?.label ?? key;
      const w = planned?.work ?? 0;
      emit(label, doneWork / total);
      const value = await compute((f, note) => emit(label, (doneWork + w * Math.max(0, Math.min(1, f))) / total, note));
      // Through JSON on every run: NaN becomes null the same way whether or not the value came from a checkpoint.
      const kept = JSON.parse(JSON.stringify(value ?? null)) as T;
      checkpoint.stages[key] = kept;
      delete checkpoint.state[key];
      doneWork += w;
      stagesDone++;
      persist();
      emit(label, doneWork / total);
      return kept;
    },
    load<T>(key: string): T | undefined {
      return Object.hasOwn(checkpoint.state, key) ? (checkpoint.state[key] as T) : undefined;
    },
    save(key: string, value: unknown) {
      checkpoint.state[key] = JSON.parse(JSON.stringify(value));
      persist();
    },
    readBlob: (name) => blobs.read(blobName(name)),
    writeBlob: (name, bytes) => blobs.write(blobName(name), bytes),
  };
  let outcome;
  try {
    outcome = await repro.run(context);
  } catch (error) {
    if (signal.aborted && !(error instanceof CollapseError && error.code === 'ABORTED')) throw aborted('the reproduction', error);
    throw error;
  }
  const info = engine.describe();
  return {
    name: repro.name, figure: repro.figure, title: repro.title, scale, settings,
    overrides: Object.keys(options.set ?? {}), seed, backend: info.backend, device: info.device,
    claims: outcome.claims, figures: outcome.figures, files: outcome.files, sections: outcome.sections,
    differences: outcome.differences, measured: outcome.measured,
    seconds: (performance.now() - started) / 1000, resumedStages,
  };
}

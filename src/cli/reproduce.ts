/**
 * `collapse reproduce <name|all|list>`: the paper's experiments, one command each, with a report. Everything is
 * validated before anything touches the disk; stages are checkpointed in DIR/checkpoint.json (checksummed, tied to
 * the settings, seed and backend), Ctrl-C keeps the finished stages and `--resume` continues; the files of a
 * finished run replace the old ones as one step.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine.js';
import { CollapseError } from '../errors.js';
import { REPRODUCTIONS } from '../repro/registry.js';
import { renderIndexHtml, renderIndexMarkdown, renderReport, resultJson, showSetting, verdictSummary, type IndexEntry, type RunInfo } from '../repro/report.js';
import { reproduce, resolveSettings, type BlobStore, type ReproCheckpoint, type ReproResult } from '../repro/run.js';
import type { Reproduction, ScaleName, SettingValue } from '../repro/types.js';
import { parseCommand, parseGrid, parseIntegerList, parseNumber, UsageError } from './args.js';
import { type Interrupt, type Io, parseRunSettings, withEngine } from './common.js';
import { commitFiles, makeOutDir, preflightOutDir, toJson, writeAtomic } from './files.js';
import { REPRODUCE_HELP } from './help.js';
import { ProgressBar } from './progress.js';

const CHECKPOINT_VERSION = 1;
const CHECKPOINT = 'checkpoint.json';
/** The folder of a run's binary intermediates (trained weights, training checkpoints) while it is unfinished. */
const BLOBS = '.stages';

/** Blobs as files of `dir` (created on the first write; each file written atomically). */
function folderBlobs(dir: string): BlobStore {
  return {
    read(name) {
      try { return readFileSync(join(dir, name)); } catch { return undefined; }
    },
    write(name, bytes) {
      makeOutDir(dir);
      writeAtomic(join(dir, name), bytes);
    },
  };
}

/** What a checkpoint must match to be resumed. */
interface Identity {
  name: string;
  scale: ScaleName;
  settings: Record<string, SettingValue>;
  seed: number;
  backend: string;
}

interface CheckpointFile extends ReproCheckpoint {
  kind: 'collapse-reproduce-checkpoint';
  version: number;
  sha256: string;
  identity: Identity;
}

interface Parsed {
  names: string[];
  all: boolean;
  scale: ScaleName;
  sets: Record<string, Record<string, SettingValue>>;
  seed: number;
  backend: ReturnType<typeof parseRunSettings>['backend'];
  threads?: number;
  dataDir?: string;
  out: string;
  resume: boolean;
  force: boolean;
  quiet: boolean;
}

export async function reproduceCommand(argv: string[], io: Io): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === '-h' || first === '--help' || (first.startsWith('-') && argv.includes('--help'))) {
    io.stdout.write(REPRODUCE_HELP);
    return 0;
  }
  if (first.startsWith('-')) throw new UsageError(`'collapse reproduce' needs what to reproduce first: ${Object.keys(REPRODUCTIONS).join(', ')}, all or list`, `see 'collapse reproduce --help'`);
  const { values } = parseCommand('reproduce', argv.slice(1), {
    scale: { type: 'string' },
    set: { type: 'string', multiple: true },
    seed: { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    'data-dir': { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'boolean' },
    force: { type: 'boolean' },
    quiet: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(REPRODUCE_HELP);
    return 0;
  }
  if (first === 'list') {
    io.stdout.write(values.json ? toJson(listJson()) : listText());
    return 0;
  }
  const all = first === 'all';
  if (!all && !Object.hasOwn(REPRODUCTIONS, first)) {
    throw new UsageError(`unknown reproduction '${first}'; the reproductions are ${Object.keys(REPRODUCTIONS).join(', ')} (or all, list)`, `see 'collapse reproduce list'`);
  }
  const names = all ? Object.keys(REPRODUCTIONS) : [first];
  const scale = (values.scale ?? 'quick') as ScaleName;
  if (scale !== 'quick' && scale !== 'paper') throw new UsageError(`--scale must be quick or paper; got '${values.scale}'`);
  const run = parseRunSettings(values);
  const sets = parseSets(names, all, values.set ?? []);
  for (const name of names) {
    try {
      resolveSettings(REPRODUCTIONS[name], scale, sets[name]);
    } catch (error) {
      if (error instanceof CollapseError) throw new UsageError(`--set: ${error.message}`, `see 'collapse reproduce list'`);
      throw error;
    }
  }
  const resume = values.resume === true, force = values.force === true;
  if (resume && force) throw new UsageError('--resume and --force contradict each other: --resume continues the run in --out, --force starts it over');
  const parsed: Parsed = {
    names, all, scale, sets, seed: run.seed, backend: run.backend, ...(run.threads === undefined ? {} : { threads: run.threads }),
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
    out: values.out ?? join('out', 'repro', all ? '' : first).replace(/\/$/, ''), resume, force, quiet: values.quiet === true,
  };
  if (parsed.dataDir !== undefined && !existsSync(parsed.dataDir)) throw new UsageError(`--data-dir ${parsed.dataDir} does not exist`, 'give the folder holding the CIFAR binary batches');
  const command = ['collapse', 'reproduce', ...argv].map(quote).join(' ');

  // Nothing touches the disk before every output folder is known to be usable.
  const folders = all ? names.map((n) => join(parsed.out, n)) : [parsed.out];
  for (const dir of [...new Set([parsed.out, ...folders])]) preflightOutDir(dir);
  if (!resume && !force) {
    for (const dir of folders) refuseExisting(dir);
  }
  if (resume && !all && !existsSync(join(parsed.out, CHECKPOINT))) {
    throw new UsageError(`--resume: no checkpoint in ${parsed.out}${existsSync(join(parsed.out, 'result.json')) ? ' (its result.json says that run already finished)' : ''}; run without --resume to start`);
  }

  const started = performance.now();
  return withEngine(run, io, parsed.quiet, async (engine, interrupt, held) => {
    const info = engine.describe();
    held.hold(parsed.out);
    const entries: IndexEntry[] = [];
    for (const name of names) {
      const dir = all ? join(parsed.out, name) : parsed.out;
      if (all) held.hold(dir);
      const identity: Identity = { name, scale, settings: { ...resolveSettings(REPRODUCTIONS[name], scale, sets[name]) }, seed: parsed.seed, backend: info.backend };
      if (all && resume && finished(dir, identity)) {
        entries.push(entryFromDisk(dir, name));
        if (!parsed.quiet) io.stdout.write(`${REPRODUCTIONS[name].figure} (${name}): already finished in ${dir}, kept\n`);
        continue;
      }
      if (all && resume && !existsSync(join(dir, CHECKPOINT)) && existsSync(join(dir, 'result.json'))) {
        throw new UsageError(`--resume: ${dir} holds a finished reproduction with other settings, seed or backend; add --force instead to redo it, or pick another --out`);
      }
      const code = await runOne(engine, info, name, dir, identity, parsed, all ? subCommand(name, dir, values.set ?? [], parsed) : command, io, interrupt, entries);
      if (code !== 0) return code;
    }
    if (all) {
      // the reproductions' own wall times (a resumed `all` keeps the finished ones and their times)
      const header = { command, scale, backend: `${info.backend} (${info.device})`, wallSeconds: entries.reduce((a, e) => a + (e.wallSeconds ?? 0), 0), finished: new Date().toISOString() };
      commitFiles(parsed.out, [['index.md', renderIndexMarkdown(entries.map((e) => ({ ...e, figures: e.figures.map(({ png: _p, ...f }) => f) })), header)], ['index.html', renderIndexHtml(entries, header)]]);
      if (!parsed.quiet) io.stdout.write(`wrote ${join(parsed.out, 'index.md')} and index.html (${duration((performance.now() - started) / 1000)})\n`);
    }
    return 0;
  });
}

async function runOne(engine: Engine, info: ReturnType<Engine['describe']>, name: string, dir: string, identity: Identity, parsed: Parsed,
  command: string, io: Io, interrupt: Interrupt, entries: IndexEntry[]): Promise<number> {
  const repro = REPRODUCTIONS[name];
  const checkpointPath = join(dir, CHECKPOINT);
  let resumeFrom: ReproCheckpoint | undefined;
  if (parsed.resume && existsSync(checkpointPath)) resumeFrom = loadCheckpoint(checkpointPath, identity);
  else if (parsed.force) {
    rmSync(checkpointPath, { force: true });
    rmSync(join(dir, BLOBS), { recursive: true, force: true });
  }
  const bar = new ProgressBar(io.stderr, !parsed.quiet && io.stderr.isTTY === true);
  interrupt.message = 'stopping; finished stages are kept in the checkpoint';
  interrupt.beforeMessage = () => bar.clear();
  const stopAfter = Number(process.env.COLLAPSE_STOP_AFTER_STAGES ?? NaN); // test hook: act as if interrupted
  let saves = 0;
  const t0 = performance.now();
  if (!parsed.quiet) io.stderr.write(`${repro.figure} (${name}): ${repro.title} — scale ${parsed.scale}, ${info.backend}\n`);
  let result: ReproResult;
  try {
    result = await reproduce(engine, name, {
      scale: parsed.scale, set: parsed.sets[name], seed: parsed.seed, signal: interrupt.signal,
      ...(parsed.dataDir === undefined ? {} : { dataDir: parsed.dataDir }),
      ...(resumeFrom ? { resume: resumeFrom } : {}),
      blobs: folderBlobs(join(dir, BLOBS)),
      onProgress: (p) => {
        const seconds = (performance.now() - t0) / 1000;
        const rate = seconds > 1 && p.fraction > 0 ? p.fraction / seconds : 0;
        bar.update({ done: p.stagesDone, total: p.stages, unit: 'stages', fraction: p.fraction, rate: 0, rateUnit: '', etaSeconds: rate > 0 ? (1 - p.fraction) / rate : NaN, note: `${p.stage}${p.note ? `: ${p.note}` : ''}` });
      },
      onCheckpoint: (c) => {
        writeAtomic(checkpointPath, checkpointText(identity, c));
        if (++saves === stopAfter) interrupt.stop('COLLAPSE_STOP_AFTER_STAGES');
      },
    });
  } catch (error) {
    bar.clear();
    if (error instanceof CollapseError && error.code === 'ABORTED' && interrupt.signal.aborted) {
      io.stderr.write(existsSync(checkpointPath)
        ? `interrupted: the finished stages are kept in ${checkpointPath}; continue with the same command plus --resume\n`
        : 'interrupted before the first stage finished; nothing was written\n');
      return interrupt.code || 130;
    }
    throw error;
  }
  bar.clear();
  interrupt.message = 'stopping before the report is written; every stage is kept in the checkpoint';
  const runInfo: RunInfo = {
    command, version: packageVersion(), node: process.version, backend: info.backend, device: info.device, reason: info.reason,
    wallSeconds: (performance.now() - t0) / 1000, finished: new Date().toISOString(),
  };
  const files: [string, string | Uint8Array][] = [
    ['report.md', renderReport(result, runInfo)],
    ['result.json', toJson(resultJson(result))],
    ['run.json', toJson({ ...runInfo, computeSeconds: result.seconds, resumedStages: result.resumedStages, ...(info.threads === undefined ? {} : { threads: info.threads }) })],
    ...result.figures.flatMap((f): [string, string | Uint8Array][] => [[`${f.name}.svg`, f.svg], [`${f.name}.png`, f.png]]),
    ...result.files.map((f): [string, string | Uint8Array] => [f.name, f.content]),
  ];
  if (interrupt.code) {
    io.stderr.write(`interrupted: every stage is done and kept in ${checkpointPath}; the same command plus --resume writes the report\n`);
    return interrupt.code;
  }
  commitFiles(dir, files, [CHECKPOINT]);
  rmSync(join(dir, BLOBS), { recursive: true, force: true });
  entries.push({ name, figure: result.figure, title: result.title, claims: result.claims, figures: result.figures, wallSeconds: runInfo.wallSeconds, backend: info.backend });
  if (!parsed.quiet) {
    const lines = [`${result.figure} (${name}): ${verdictSummary(result.claims)} — ${duration(runInfo.wallSeconds)} on ${info.backend}`];
    for (const c of result.claims) lines.push(`  ${c.verdict.padEnd(17)} ${c.statement}`);
    lines.push(`  wrote ${join(dir, 'report.md')}, result.json, run.json, ${result.figures.map((f) => `${f.name}.png/.svg`).join(', ')}${result.files.length > 0 ? `, ${result.files.map((f) => f.name).join(', ')}` : ''}`);
    io.stdout.write(lines.join('\n') + '\n');
  }
  return 0;
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** The command that runs one reproduction of `all` on its own, into its folder. */
function subCommand(name: string, dir: string, sets: readonly string[], p: Parsed): string {
  const own = sets.filter((s) => s.startsWith(`${name}.`)).flatMap((s) => ['--set', s.slice(name.length + 1)]);
  return ['collapse', 'reproduce', name, ...(p.scale === 'quick' ? [] : ['--scale', p.scale]), ...own, ...(p.seed === 1 ? [] : ['--seed', String(p.seed)]),
    ...(p.backend === 'auto' ? [] : ['--backend', p.backend]), ...(p.threads === undefined ? [] : ['--threads', String(p.threads)]), ...(p.dataDir === undefined ? [] : ['--data-dir', p.dataDir]),
    '--out', dir].map(quote).join(' ');
}

function duration(seconds: number): string {
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
}

/** `--set NAME=VALUE` for one reproduction, or `--set fig1.NAME=VALUE` (required with `all`). */
function parseSets(names: readonly string[], all: boolean, sets: readonly string[]): Record<string, Record<string, SettingValue>> {
  const out: Record<string, Record<string, SettingValue>> = Object.fromEntries(names.map((n) => [n, {}]));
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set takes NAME=VALUE (e.g. --set paths=200); got '${s}'`);
    let key = s.slice(0, eq).trim();
    const text = s.slice(eq + 1);
    let target = names[0];
    const dot = key.indexOf('.');
    if (dot > 0) {
      target = key.slice(0, dot);
      key = key.slice(dot + 1);
      if (!names.includes(target)) throw new UsageError(`--set ${s}: '${target}' is not ${all ? 'one of the reproductions' : 'the reproduction being run'} (${names.join(', ')})`);
    } else if (all) {
      throw new UsageError(`--set ${s}: with 'all', name the reproduction: --set fig1.${key}=${text}`);
    }
    const repro = REPRODUCTIONS[target];
    if (!Object.hasOwn(repro.settings, key)) {
      throw new UsageError(`--set: ${target} has no setting '${key}'; its settings are ${Object.keys(repro.settings).join(', ')}`, `see 'collapse reproduce list'`);
    }
    if (Object.hasOwn(out[target], key)) throw new UsageError(`--set ${target}.${key} is given twice; give it once`);
    out[target][key] = parseValue(repro, key, text);
  }
  return out;
}

function parseValue(repro: Reproduction, key: string, text: string): SettingValue {
  const spec = repro.settings[key];
  const name = `--set ${key}`;
  switch (spec.kind) {
    case 'integer':
    case 'number': return parseNumber(name, text);
    case 'list': return parseGrid(name, text);
    case 'integers': return parseIntegerList(name, text, 0, Number.MAX_SAFE_INTEGER);
    case 'choice': return text.trim();
  }
}

function refuseExisting(dir: string): void {
  if (existsSync(join(dir, CHECKPOINT))) {
    throw new UsageError(`${dir} holds an unfinished reproduction (checkpoint.json): add --resume to continue it, or --force to start over (or pick another --out)`);
  }
  if (existsSync(join(dir, 'result.json'))) {
    throw new UsageError(`${dir} already holds a finished reproduction (result.json): add --force to replace it, or pick another --out`);
  }
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

function checkpointText(identity: Identity, c: ReproCheckpoint): string {
  const body = JSON.parse(JSON.stringify({ identity, stages: c.stages, state: c.state })) as { identity: Identity; stages: Record<string, unknown>; state: Record<string, unknown> };
  return toJson({ kind: 'collapse-reproduce-checkpoint', version: CHECKPOINT_VERSION, sha256: digest(body), ...body } satisfies CheckpointFile, false);
}

function loadCheckpoint(path: string, identity: Identity): ReproCheckpoint {
  const refuse = (why: string): never => {
    throw new UsageError(`--resume: ${path} cannot be used: ${why}`, 'delete it (or run with --force instead of --resume) to start over');
  };
  let cp: CheckpointFile;
  try {
    cp = JSON.parse(readFileSync(path, 'utf8')) as CheckpointFile;
  } catch (error) {
    return refuse(`it is not readable JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (cp === null || typeof cp !== 'object' || cp.kind !== 'collapse-reproduce-checkpoint') refuse('it is not a reproduction checkpoint');
  if (cp.version !== CHECKPOINT_VERSION) refuse(`it has version ${JSON.stringify(cp.version)}; this collapse reads version ${CHECKPOINT_VERSION}`);
  if (typeof cp.sha256 !== 'string' || cp.sha256 !== digest({ identity: cp.identity, stages: cp.stages, state: cp.state })) refuse('its content does not match its checksum (it was edited or damaged)');
  if (cp.stages === null || typeof cp.stages !== 'object' || cp.state === null || typeof cp.state !== 'object') refuse('it lacks its stages');
  const diffs = (Object.keys(identity) as (keyof Identity)[])
    .filter((k) => JSON.stringify(cp.identity?.[k]) !== JSON.stringify(identity[k]))
    .map((k) => k === 'settings' ? `settings: ${settingDiffs(cp.identity?.settings ?? {}, identity.settings)}` : `${k}: checkpoint ${JSON.stringify(cp.identity?.[k])}, now ${JSON.stringify(identity[k])}`);
  if (diffs.length > 0) throw new UsageError(`--resume: this run differs from the checkpoint's (${diffs.join('; ')}); rerun with the same options, or use another --out`);
  return { stages: cp.stages, state: cp.state };
}

function settingDiffs(a: Record<string, SettingValue>, b: Record<string, SettingValue>): string {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k} was ${a[k] === undefined ? '(none)' : showSetting(a[k])}, now ${b[k] === undefined ? '(none)' : showSetting(b[k])}`).join(', ');
}

/** A finished run in `dir` with exactly these settings (its result.json). */
function finished(dir: string, identity: Identity): boolean {
  try {
    const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { name?: string; scale?: string; settings?: unknown; seed?: number; backend?: string };
    return r.name === identity.name && r.scale === identity.scale && r.seed === identity.seed && r.backend === identity.backend
      && JSON.stringify(r.settings) === JSON.stringify(identity.settings);
  } catch {
    return false;
  }
}

function entryFromDisk(dir: string, name: string): IndexEntry {
  const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as ReturnType<typeof resultJson> & { claims: IndexEntry['claims']; figures: { name: string; title: string; caption: string }[] };
  let wallSeconds: number | undefined;
  try {
    wallSeconds = (JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { wallSeconds?: number }).wallSeconds;
  } catch {
    wallSeconds = undefined;
  }
  return {
    name, figure: String(r.figure), title: String(r.title), claims: r.claims, backend: String(r.backend),
    figures: r.figures.map((f) => ({ ...f, png: readFileSync(join(dir, `${f.name}.png`)) })),
    ...(wallSeconds === undefined ? {} : { wallSeconds }),
  };
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function listJson(): unknown {
  return Object.values(REPRODUCTIONS).map((r) => ({ name: r.name, figure: r.figure, title: r.title, summary: r.summary, settings: r.settings }));
}

function listText(): string {
  const lines: string[] = [];
  for (const r of Object.values(REPRODUCTIONS)) {
    lines.push(`${r.name.padEnd(6)} ${r.figure}: ${r.title}`, `       ${r.summary}`);
    for (const [k, spec] of Object.entries(r.settings)) {
      const q = showSetting(spec.quick), p = showSetting(spec.paper);
      lines.push(`         ${k.padEnd(18)} quick ${q}${q === p ? ' (= paper)' : `, paper ${p}`}: ${spec.description}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * Sweeps on Slurm: `collapse sweep ... --slurm --shards N` writes DIR/slurm/ (an array job computing the shards
 * into DIR/shards/K, a merge job after it), submits both with sbatch, and `collapse status DIR` follows them,
 * resubmitting only the shards that failed or went missing. Slurm does the scheduling; this file only writes
 * scripts, calls sbatch/squeue/scancel, and reads what the jobs leave on the (shared) file system.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './args.js';
import { Interrupt, type Io, pause } from './common.js';
import { checkOutDir, FolderLock, makeOutDir, OutputError, removeCreated, tidy, toJson, writeAtomic } from './files.js';
import { ProgressBar } from './progress.js';
import { resultLines, wroteLine } from './results.js';
import { type Problem, SHARD_FILE } from './shards.js';
import { parseShardCount, type SweepSpec, type SweepValues } from './sweep.js';

const STATE_FILE = 'sweep.json';
const STATE_VERSION = 1;

/** DIR/slurm/sweep.json: what was submitted, so that `collapse status` can follow and resubmit. */
interface SlurmState {
  kind: 'collapse-slurm-sweep';
  version: number;
  problem: Problem;
  count: number;
  /** sbatch options given with --slurm-args, split into words. */
  slurmArgs: string[];
  submissions: Submission[];
}

interface Submission {
  arrayJob: string;
  /** Shard indices of this array job. */
  shards: number[];
  mergeJob: string;
  submitted: string;
}

export type ShardStatus = 'done' | 'running' | 'pending' | 'failed' | 'missing';

export interface SlurmStatus {
  dir: string;
  state: SlurmState;
  shards: { index: number; status: ShardStatus; job?: string; detail?: string }[];
  merge: { status: 'done' | 'running' | 'pending' | 'failed' | 'none'; job?: string; detail?: string };
  /** squeue could not be asked (not installed, or the controller does not answer): states come from files only. */
  queueUnknown?: string;
}

/** Splits `--slurm-args` into words like a shell would (quotes and backslashes; no expansions). */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) word = (word ?? '') + text[++i];
      else word = (word ?? '') + c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) throw new UsageError(`--slurm-args has an unclosed ${quote} quote: ${text}`);
  if (word !== undefined) words.push(word);
  return words;
}

/** Single-quotes a word for bash. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The full path of `command` on PATH, or undefined. */
export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, command);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

function needSbatch(): string {
  const sbatch = which('sbatch');
  if (!sbatch) {
    throw new UsageError('--slurm submits with Slurm\'s sbatch, which is not on PATH here; nothing was written',
      'run this on a machine with the Slurm client commands (a login node), or run the shards yourself with --shard K/N: see \'collapse sweep --help\'');
  }
  return sbatch;
}

/** Runs sbatch; returns the job id. */
function sbatch(args: string[]): string {
  const r = spawnSync('sbatch', ['--parsable', ...args], { encoding: 'utf8' });
  if (r.error) throw new OutputError(`could not run sbatch: ${r.error.message}`, 'check that Slurm\'s sbatch works here');
  if (r.status !== 0) {
    throw new OutputError(`sbatch refused the job (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').join(' ')}`, 'fix the sbatch options (--slurm-args) or the cluster setup, then run again');
  }
  const id = r.stdout.trim().split(';')[0];
  if (!/^\d+$/.test(id)) throw new OutputError(`sbatch answered '${r.stdout.trim()}', not a job id`, 'check that Slurm\'s sbatch works here');
  return id;
}

/** 3,5,6,7 → "3,5-7" (Slurm's --array syntax). */
export function ranges(xs: readonly number[]): string {
  const sorted = [...xs].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** The options that define the sweep, as the array job passes them on to each `collapse sweep --shard`. */
const PASSED = ['model', 'sweep', 'noise', 'paths', 'steps', 'dt', 'record', 'epsilon', 'seed', 'backend', 'threads', 'batch'] as const;

function shardScript(dir: string, count: number, values: SweepValues): string {
  const cli = [process.execPath, fileURLToPath(new URL('./main.js', import.meta.url)), 'sweep'];
  const args = [
    ...(values.set ?? []).map((s) => `--set=${s}`),
    ...PASSED.flatMap((k) => (values[k] === undefined ? [] : [`--${k}=${String(values[k])}`])),
  ];
  const threads = values.threads === undefined ? ' ${SLURM_CPUS_PER_TASK:+--threads=$SLURM_CPUS_PER_TASK}' : '';
  const q = shellQuote;
  return `#!/bin/bash
#SBATCH --job-name=${q(`collapse-${basename(dir)}`)}
#SBATCH --array=1-${count}
#SBATCH --output=${q(join(dir, 'slurm', 'logs', 'shard-%a.out'))}
#SBATCH --open-mode=append
# Written by 'collapse sweep --slurm': computes shard $SLURM_ARRAY_TASK_ID of ${count} of the sweep in ${dir}
# into ${join(dir, 'shards', '<index>')}. 'collapse status ${dir}' shows the shards; '--resubmit' reruns the failed ones.
i=$SLURM_ARRAY_TASK_ID
out=${q(join(dir, 'shards'))}/$i
state=${q(join(dir, 'slurm', 'state'))}
echo "job \${SLURM_JOB_ID:-?} on $(hostname) at $(date -u +%FT%TZ)" > "$state/shard-$i.started"
if [ -f "$out/${SHARD_FILE}" ]; then
  echo "shard $i/${count} is already done"; echo 0 > "$state/shard-$i.exit"; exit 0
fi
resume=
[ -f "$out/checkpoint.json" ] && resume=--resume
${cli.map(q).join(' ')} \\
  ${args.map(q).join(' ')} \\
  --shard="$i/${count}" --out="$out" $resume${threads}
code=$?
echo $code > "$state/shard-$i.exit"
exit $code
`;
}

function mergeScript(dir: string): string {
  const q = shellQuote;
  const cli = [process.execPath, fileURLToPath(new URL('./main.js', import.meta.url))];
  return `#!/bin/bash
#SBATCH --job-name=${q(`collapse-${basename(dir)}-merge`)}
#SBATCH --output=${q(join(dir, 'slurm', 'logs', 'merge.out'))}
#SBATCH --open-mode=append
# Written by 'collapse sweep --slurm': merges the shards in ${join(dir, 'shards')} into ${dir} once they are all done.
${cli.map(q).join(' ')} merge ${q(join(dir, 'shards'))} --out=${q(dir)} --force
code=$?
echo $code > ${q(join(dir, 'slurm', 'state', 'merge.exit'))}
exit $code
`;
}

const RESULT_FILES = ['result.json', 'result.csv', 'collapse.svg', 'collapse.png', 'run.json'];

/** `collapse sweep ... --slurm --shards N --out DIR [--slurm-args "..."] [--wait]`. */
export async function slurmSweep(spec: SweepSpec, values: SweepValues, io: Io): Promise<number> {
  if (values.shards === undefined) throw new UsageError('--slurm needs --shards N: how many array tasks share the sweep', `at most ${spec.cells} for this sweep; see 'collapse sweep --help'`);
  const count = parseShardCount('--shards', values.shards, spec);
  if (values.resume) throw new UsageError('--resume does not go with --slurm: to rerun the failed or missing shards of a Slurm sweep, use collapse status DIR --resubmit');
  const slurmArgs = shellWords(values['slurm-args'] ?? '');
  needSbatch(); // before anything is written
  const out = values.out ?? join('out', spec.model.name);
  const dir = resolve(out);
  const { exists } = checkOutDir(out);
  const force = values.force === true;
  if (exists) {
    FolderLock.check(out);
    tidy(out);
    if (existsSync(join(dir, 'slurm', STATE_FILE)) && !force) {
      throw new UsageError(`${out} holds a Slurm sweep already: see collapse status ${out} (add --resubmit to rerun its failed shards), or add --force to start it over`);
    }
    if (existsSync(join(dir, 'result.json')) && !force) throw new UsageError(`${out} already holds a finished sweep (result.json): add --force to replace it, or pick another --out`);
  }
  const created = makeOutDir(out);
  const lock = FolderLock.acquire(out);
  let submitted = false;
  try {
    if (force) {
      for (const f of RESULT_FILES) rmSync(join(dir, f), { force: true });
      for (const d of ['slurm', 'shards']) rmSync(join(dir, d), { recursive: true, force: true });
    }
    for (const d of ['slurm/logs', 'slurm/state', 'shards']) mkdirSync(join(dir, d), { recursive: true });
    writeAtomic(join(dir, 'slurm', 'shards.sbatch'), shardScript(dir, count, values));
    writeAtomic(join(dir, 'slurm', 'merge.sbatch'), mergeScript(dir));
    const state: SlurmState = { kind: 'collapse-slurm-sweep', version: STATE_VERSION, problem: spec.problem, count, slurmArgs, submissions: [] };
    const shards = Array.from({ length: count }, (_, i) => i + 1);
    const sub = submit(dir, state, shards, []);
    submitted = true;
    if (!values.quiet) {
      io.stdout.write(`submitted: array job ${sub.arrayJob} (shards 1..${count} of ${spec.K} grid points × ${spec.problem.paths} paths) and merge job ${sub.mergeJob} (after it)\n` +
        `scripts:   ${join(out, 'slurm')}/shards.sbatch, merge.sbatch; logs in ${join(out, 'slurm', 'logs')}\n` +
        `follow:    collapse status ${out}${values.wait ? '' : ' --wait'}\n`);
    }
  } catch (error) {
    if (!submitted) {
      rmSync(join(dir, 'slurm'), { recursive: true, force: true });
      rmSync(join(dir, 'shards'), { recursive: true, force: true });
    }
    throw error;
  } finally {
    lock.release();
    removeCreated(out, created);
  }
  return values.wait ? waitSlurm(out, io, values.quiet === true) : 0;
}

/** Submits the array job for `shards` and a merge job after it (and after `alsoWaitFor`), and records both. */
function submit(dir: string, state: SlurmState, shards: number[], alsoWaitFor: string[]): Submission {
  const arrayJob = sbatch([`--array=${ranges(shards)}`, ...state.slurmArgs, join(dir, 'slurm', 'shards.sbatch')]);
  let mergeJob: string;
  try {
    mergeJob = sbatch([`--dependency=afterok:${[arrayJob, ...alsoWaitFor].join(':')}`, '--kill-on-invalid-dep=yes', ...state.slurmArgs, join(dir, 'slurm', 'merge.sbatch')]);
  } catch (error) {
    spawnSync('scancel', [arrayJob]);
    throw error;
  }
  rmSync(join(dir, 'slurm', 'state', 'merge.exit'), { force: true });
  const sub: Submission = { arrayJob, shards, mergeJob, submitted: new Date().toISOString() };
  state.submissions.push(sub);
  writeAtomic(join(dir, 'slurm', STATE_FILE), toJson(state));
  return sub;
}

export function isSlurmSweep(dir: string): boolean {
  return existsSync(join(dir, 'slurm', STATE_FILE));
}

function readState(dir: string): SlurmState {
  const path = join(dir, 'slurm', STATE_FILE);
  let state: SlurmState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as SlurmState;
  } catch (error) {
    throw new UsageError(`${path} is not readable: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (state?.kind !== 'collapse-slurm-sweep' || state.version !== STATE_VERSION || !Array.isArray(state.submissions) || !Number.isInteger(state.count)) {
    throw new UsageError(`${path} is not a collapse Slurm sweep of version ${STATE_VERSION}`);
  }
  return state;
}

const PENDING = new Set(['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SPECIAL_EXIT', 'RESIZING', 'SIGNALING', 'STAGE_OUT']);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'SUSPENDED', 'STOPPED']);

/** squeue's view of `jobs` (array tasks one per line), or a reason why it could not be asked. */
function queue(jobs: string[]): Map<string, { state: string; reason: string }> | string {
  if (!which('squeue')) return 'squeue is not on PATH';
  const r = spawnSync('squeue', ['-h', '-r', '--states=all', '-o', '%i|%T|%r', '-j', jobs.join(',')], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `squeue failed: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n')[0]}`;
  const map = new Map<string, { state: string; reason: string }>();
  for (const line of r.stdout.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    if (id && state) map.set(id, { state, reason: reason ?? '' });
  }
  return map;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Where each shard and the merge stand: the shard folders first, then squeue, then the jobs' own state files. */
export function slurmStatus(out: string): SlurmStatus {
  const dir = resolve(out);
  const state = readState(dir);
  const latest = new Map<number, Submission>();
  for (const sub of state.submissions) for (const i of sub.shards) latest.set(i, sub);
  const last = state.submissions.at(-1);
  const q = queue([...new Set(state.submissions.flatMap((s) => [s.arrayJob, s.mergeJob]))]);
  const jobs = typeof q === 'string' ? undefined : q;
  const stateDir = join(dir, 'slurm', 'state');
  const shards = Array.from({ length: state.count }, (_, n) => {
    const index = n + 1;
    if (existsSync(join(dir, 'shards', String(index), SHARD_FILE))) return { index, status: 'done' as ShardStatus };
    const sub = latest.get(index);
    if (!sub) return { index, status: 'missing' as ShardStatus, detail: 'never submitted' };
    const job = `${sub.arrayJob}_${index}`;
    const seen = jobs?.get(job);
    const exit = readText(join(stateDir, `shard-${index}.exit`));
    const started = readText(join(stateDir, `shard-${index}.started`));
    if (seen && PENDING.has(seen.state)) return { index, status: 'pending' as ShardStatus, job, detail: seen.reason !== 'None' ? seen.reason : undefined };
    if (seen && RUNNING.has(seen.state)) return { index, status: 'running' as ShardStatus, job };
    if (seen) {
      const how = seen.state === 'COMPLETED' ? 'finished without writing its shard.json' : `${seen.state}${seen.reason && seen.reason !== 'None' ? ` (${seen.reason})` : ''}`;
      return { index, status: 'failed' as ShardStatus, job, detail: `${how}${exit && exit !== '0' ? `, exit ${exit}` : ''}` };
    }
    if (exit !== undefined) return { index, status: 'failed' as ShardStatus, job, detail: exit === '0' ? 'finished without writing its shard.json' : `exit ${exit}` };
    if (jobs && started) return { index, status: 'failed' as ShardStatus, job, detail: `${started.replace(/^job \S+ /, 'started ')}, never finished (killed?)` };
    if (jobs) return { index, status: 'missing' as ShardStatus, job, detail: 'not in the queue and never started' };
    return { index, status: 'pending' as ShardStatus, job, detail: 'state unknown: squeue did not answer' };
  });
  let merge: SlurmStatus['merge'] = { status: 'none' };
  const seenMerge = last && jobs?.get(last.mergeJob);
  if (existsSync(join(dir, 'result.json'))) {
    // Done once the merge job has left: it may still be renaming the other result files.
    merge = seenMerge && RUNNING.has(seenMerge.state) && readText(join(stateDir, 'merge.exit')) === undefined ? { status: 'running', job: last.mergeJob } : { status: 'done', job: last?.mergeJob };
  } else if (last) {
    const seen = seenMerge;
    const exit = readText(join(stateDir, 'merge.exit'));
    if (seen && PENDING.has(seen.state)) merge = { status: 'pending', job: last.mergeJob, detail: seen.reason !== 'None' ? seen.reason : undefined };
    else if (seen && RUNNING.has(seen.state)) merge = { status: 'running', job: last.mergeJob };
    else if (seen || exit !== undefined) merge = { status: 'failed', job: last.mergeJob, detail: seen ? `${seen.state}${seen.reason && seen.reason !== 'None' ? ` (${seen.reason})` : ''}` : `exit ${exit}` };
    else if (!jobs) merge = { status: 'pending', job: last.mergeJob, detail: 'state unknown: squeue did not answer' };
    else merge = { status: 'failed', job: last.mergeJob, detail: 'not in the queue, no result' };
  }
  return { dir: out, state, shards, merge, ...(typeof q === 'string' ? { queueUnknown: q } : {}) };
}

const count = (s: SlurmStatus, status: ShardStatus) => s.shards.filter((x) => x.status === status).length;

/** The report of `collapse status DIR` for a Slurm sweep. */
export function statusText(s: SlurmStatus): string {
  const p = s.state.problem;
  const lines = [`Slurm sweep in ${s.dir}: ${p.model}, ${p.noise.length} values of ${p.sweep} × ${p.paths} paths × ${p.steps} steps, ${s.state.count} shards`];
  lines.push(`shards:    ${(['done', 'running', 'pending', 'failed', 'missing'] as const).map((k) => `${count(s, k)} ${k}`).join(', ')}`);
  for (const status of ['failed', 'missing', 'running', 'pending'] as const) {
    const xs = s.shards.filter((x) => x.status === status);
    if (xs.length === 0) continue;
    const shown = xs.slice(0, 12).map((x) => `${x.index}${x.job ? ` (job ${x.job}${x.detail ? `: ${x.detail}` : ''})` : x.detail ? ` (${x.detail})` : ''}`);
    lines.push(`  ${`${status}:`.padEnd(9)}${shown.join(', ')}${xs.length > 12 ? `, ... (${xs.length} in all)` : ''}`);
  }
  if (count(s, 'failed') > 0) lines.push(`  logs:    ${join(s.dir, 'slurm', 'logs')}/shard-K.out`);
  const m = s.merge;
  lines.push(`merge:     ${m.status === 'none' ? 'not submitted' : m.status}${m.job ? ` (job ${m.job}${m.detail ? `: ${m.detail}` : ''})` : ''}${m.status === 'failed' && existsSync(join(s.dir, 'slurm', 'logs', 'merge.out')) ? `; log ${join(s.dir, 'slurm', 'logs', 'merge.out')}` : ''}`);
  if (m.status === 'done') lines.push(wroteLine(s.dir));
  if (s.queueUnknown) lines.push(`note:      ${s.queueUnknown}; shard states come from the files the jobs wrote`);
  if (needsResubmit(s)) lines.push(`resubmit:  collapse status ${s.dir} --resubmit${count(s, 'failed') + count(s, 'missing') > 0 ? ' (reruns only the failed and missing shards, then merges)' : ' (merges)'}`);
  return lines.join('\n') + '\n';
}

function needsResubmit(s: SlurmStatus): boolean {
  if (s.merge.status === 'done') return false;
  return count(s, 'failed') + count(s, 'missing') > 0 || (s.merge.status === 'failed' || s.merge.status === 'none');
}

/** `collapse status DIR --resubmit`: reruns only the failed and missing shards, and a merge after them. */
export function resubmit(out: string, slurmArgsText: string | undefined, io: Io, quiet: boolean): number {
  const s = slurmStatus(out);
  const dir = resolve(out);
  if (s.merge.status === 'done') {
    if (!quiet) io.stdout.write(`nothing to resubmit: ${out} holds the merged result\n`);
    return 0;
  }
  if (s.queueUnknown) throw new UsageError(`cannot resubmit safely: ${s.queueUnknown}, so running shards cannot be told from failed ones`, 'run it where squeue answers (a login node)');
  needSbatch();
  const redo = s.shards.filter((x) => x.status === 'failed' || x.status === 'missing').map((x) => x.index);
  const active = s.shards.filter((x) => x.status === 'running' || x.status === 'pending').map((x) => x.job!).filter(Boolean);
  if (redo.length === 0 && (s.merge.status === 'pending' || s.merge.status === 'running')) {
    if (!quiet) io.stdout.write(`nothing to resubmit: no shard failed; the merge job ${s.merge.job} is ${s.merge.status}\n`);
    return 0;
  }
  const state = s.state;
  if (slurmArgsText !== undefined) state.slurmArgs = shellWords(slurmArgsText);
  const lock = FolderLock.acquire(dir);
  try {
    // The shards to rerun are not running (squeue says so): what their killed runs left is theirs to clear.
    for (const i of redo) {
      const shardDir = join(dir, 'shards', String(i));
      rmSync(join(shardDir, '.collapse.lock'), { force: true });
      for (const f of [`shard-${i}.exit`, `shard-${i}.started`]) rmSync(join(dir, 'slurm', 'state', f), { force: true });
    }
    if (s.merge.status === 'pending' && s.merge.job) spawnSync('scancel', [s.merge.job]);
    let text: string;
    if (redo.length === 0) {
      const mergeJob = sbatch([...(active.length ? [`--dependency=afterok:${active.join(':')}`, '--kill-on-invalid-dep=yes'] : []), ...state.slurmArgs, join(dir, 'slurm', 'merge.sbatch')]);
      rmSync(join(dir, 'slurm', 'state', 'merge.exit'), { force: true });
      state.submissions.push({ arrayJob: state.submissions.at(-1)?.arrayJob ?? '', shards: [], mergeJob, submitted: new Date().toISOString() });
      writeAtomic(join(dir, 'slurm', STATE_FILE), toJson(state));
      text = `submitted: merge job ${mergeJob} (all shards are done or running)\n`;
    } else {
      const sub = submit(dir, state, redo, active);
      text = `submitted: array job ${sub.arrayJob} (shard${redo.length === 1 ? '' : 's'} ${ranges(redo)} of ${state.count}) and merge job ${sub.mergeJob} (after it${active.length ? ` and the ${active.length} still queued or running` : ''})\n`;
    }
    if (!quiet) io.stdout.write(text);
  } finally {
    lock.release();
  }
  return 0;
}

const pollSeconds = () => {
  const v = Number(process.env.COLLAPSE_SLURM_POLL_SECONDS);
  return Number.isFinite(v) && v > 0 ? v : 5;
};

/**
 * Follows a Slurm sweep until the merged result exists (exit 0) or a shard or the merge failed (exit 1, naming
 * them and the resubmit command). Ctrl-C stops following only: the jobs go on.
 */
export async function waitSlurm(out: string, io: Io, quiet: boolean): Promise<number> {
  const interrupt = new Interrupt(io);
  const bar = new ProgressBar(io.stderr, !quiet && io.stderr.isTTY === true);
  interrupt.message = `stopping to follow; the jobs go on (collapse status ${out} shows them)`;
  interrupt.beforeMessage = () => bar.clear();
  const started = performance.now();
  let firstDone: number | undefined;
  try {
    for (;;) {
      const s = slurmStatus(out);
      const done = count(s, 'done');
      const total = s.state.count;
      firstDone ??= done;
      const seconds = (performance.now() - started) / 1000;
      const rate = done > firstDone ? (done - firstDone) / seconds : 0;
      bar.update({ done, total, unit: 'shards', fraction: done / total, rate: 0, rateUnit: 'shards', etaSeconds: rate > 0 ? (total - done) / rate : NaN,
        note: `${count(s, 'running')} running, ${count(s, 'pending')} pending${count(s, 'failed') ? `, ${count(s, 'failed')} failed` : ''}; merge ${s.merge.status}` }, true);
      const settled = s.merge.status !== 'pending' && s.merge.status !== 'running';
      const activeShards = count(s, 'running') + count(s, 'pending');
      if (s.merge.status === 'done') {
        bar.clear();
        if (!quiet) {
          const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
          io.stdout.write([...(await resultLines({ ...result, elapsedSeconds: 0, pathStepsPerSecond: 0 })), `shards:    ${total} on Slurm`, wroteLine(out)].join('\n') + '\n');
        }
        return 0;
      }
      if (settled && activeShards === 0) {
        bar.clear();
        io.stderr.write(`collapse: the Slurm sweep in ${out} did not finish:\n${statusText(s)}`);
        return 1;
      }
      if (interrupt.code) {
        bar.clear();
        return interrupt.code;
      }
      await pause(pollSeconds() * 1000, interrupt.signal).done;
      if (interrupt.code) {
        bar.clear();
        return interrupt.code;
      }
    }
  } finally {
    interrupt.dispose();
  }
}

/**
 * Sweeps through a Redis work queue (BullMQ): `collapse sweep ... --redis URL` enqueues the shards as jobs and
 * collects their results as workers finish them; `collapse worker --redis URL` (on any number of machines)
 * computes them. A worker that dies mid-shard loses its lock; BullMQ's stalled-job check hands the shard to
 * another worker. Results travel back through Redis: only the submitting process writes its --out.
 */
import { createHash } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import type { Job, Queue as QueueType, QueueEvents as QueueEventsType, Worker as WorkerType } from 'bullmq';
import { createEngine, type Engine } from '../engine.js';
import { CollapseError } from '../errors.js';
import { mergeResults } from '../sde/collapse.js';
import { cutShard, type ShardPiece } from '../sde/shards.js';
import type { CollapseOptions, CollapseResult } from '../sde/types.js';
import { parseCommand, parseInteger, UsageError } from './args.js';
import { Interrupt, type Io, parseRunSettings, pause, reasonNote } from './common.js';
import { checkOutDir, FolderLock, makeOutDir, recover, removeCreated, tidy, writeAtomic } from './files.js';
import { WORKER_HELP } from './help.js';
import { duration, human, ProgressBar } from './progress.js';
import { resultLines, writeResults, wroteLine } from './results.js';
import { packageVersion } from './common.js';
import { checkPart, type Problem } from './shards.js';
import { checkpointText, type CheckpointProblem, cutKeys, inspectOut, parseShardCount, partKeys, type SweepSpec, type SweepValues } from './sweep.js';

const JOB_KIND = 'collapse-shard-job';
const JOB_VERSION = 1;
/** Default queue name (`--queue`). */
const QUEUE = 'collapse';
/** Shards handed out when --shards is not given: one per grid point (or path block), at most this many. */
const DEFAULT_SHARDS = 256;

/** The data of one job: a shard of a sweep. */
interface ShardJob {
  kind: typeof JOB_KIND;
  version: number;
  sweepId: string;
  index: number;
  count: number;
  problem: Problem;
  pieces: ShardPiece[];
}

/** `redis://[user:password@]host:port[/db]` without its password, for messages. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function parseRedisUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`--redis must be a Redis URL like redis://127.0.0.1:6379 (or rediss:// for TLS); got '${text}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError(`--redis must be a redis:// or rediss:// URL; got '${safeUrl(text)}'`);
  return text;
}

function parseQueueName(text: string | undefined): string {
  const name = text ?? QUEUE;
  if (!/^[\w.-]{1,100}$/.test(name)) throw new UsageError(`--queue must be 1 to 100 letters, digits, '_', '.' or '-'; got '${name}'`);
  return name;
}

/** Asks Redis once, failing fast (a few seconds) with a clear message instead of retrying for ever. */
async function pingRedis(url: string, after = '; nothing was written'): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let last: Error | undefined;
  client.on('error', (error: Error) => {
    last = error;
  });
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== 'PONG') throw new Error(`it answered '${pong}' to PING`);
  } catch (error) {
    // The connection's own error (ECONNREFUSED, ETIMEDOUT, NOAUTH...) says more than the failed command's.
    let why = (last?.message || (error instanceof Error ? error.message : String(error)) || 'no answer').replace(/\.$/, '');
    if (/RESP|protocol/i.test(why)) why = `what answers there does not speak Redis (${why.replace(/\. Please report this$/, '')})`;
    throw new UsageError(`cannot reach Redis at ${safeUrl(url)}: ${why}${after}`,
      'start redis-server there (e.g. redis-server --port 6379 --bind 127.0.0.1), or check the URL given to --redis');
  } finally {
    client.disconnect();
  }
}

/** BullMQ's connection options: never give up on a Redis that drops out for a while (workers wait it out). */
const connection = (url: string) => ({ url, maxRetriesPerRequest: null, connectionName: `collapse-${hostname()}-${process.pid}` });

/** The shards of a sweep as queue jobs, with ids that name the sweep: resubmitting the same sweep adds nothing new. */
function shardJobs(problem: Problem, count: number): ShardJob[] {
  const sweepId = createHash('sha256').update(JSON.stringify({ problem, count, JOB_VERSION })).digest('hex').slice(0, 20);
  return Array.from({ length: count }, (_, i) => ({
    kind: JOB_KIND, version: JOB_VERSION, sweepId, index: i + 1, count, problem,
    pieces: [...cutShard(problem.noise.length, problem.paths, i + 1, count).pieces],
  }));
}

const jobId = (j: Pick<ShardJob, 'sweepId' | 'index'>) => `${j.sweepId}-${j.index}`;

/**
 * `collapse sweep ... --redis URL --out DIR [--shards N] [--queue Q]`: enqueues the shards, collects the results
 * as workers finish them (kept in DIR/checkpoint.json as they arrive), and writes the result files.
 */
export async function redisSweep(spec: SweepSpec, values: SweepValues, argv: string[], io: Io): Promise<number> {
  const url = parseRedisUrl(values.redis!);
  const queueName = parseQueueName(values.queue);
  for (const name of ['backend', 'threads', 'batch'] as const) {
    if (values[name] !== undefined) throw new UsageError(`--${name} is the workers' choice with --redis: give it to collapse worker`);
  }
  const count = values.shards === undefined ? Math.min(spec.cells, DEFAULT_SHARDS) : parseShardCount('--shards', values.shards, spec);
  const resume = values.resume === true;
  const force = values.force === true;
  if (resume && force) throw new UsageError('--resume and --force contradict each other: --resume continues the sweep in --out, --force starts it over');
  const problem = spec.problem;
  const cpProblem: CheckpointProblem = { ...problem, queue: { count } };
  const jobs = shardJobs(problem, count);
  const want = new Set(jobs.flatMap((j) => cutKeys(cutShard(problem.noise.length, problem.paths, j.index, count), problem.paths)));
  const out = values.out ?? join('out', spec.model.name);
  const { exists } = checkOutDir(out);
  if (exists) {
    FolderLock.check(out);
    tidy(out);
    inspectOut(out, cpProblem, want, 'result.json', resume, force);
  }
  await pingRedis(url); // before anything is written

  const { Queue, QueueEvents } = await import('bullmq');
  const interrupt = new Interrupt(io);
  let created: string | undefined;
  let lock: FolderLock | undefined;
  let queue: QueueType | undefined;
  let events: QueueEventsType | undefined;
  const bar = new ProgressBar(io.stderr, !values.quiet && io.stderr.isTTY === true);
  try {
    created = makeOutDir(out);
    lock = FolderLock.acquire(out);
    recover(out);
    const parts = inspectOut(out, cpProblem, want, 'result.json', resume, force);
    const checkpointPath = join(out, 'checkpoint.json');
    const save = () => writeAtomic(checkpointPath, checkpointText(cpProblem, parts));
    save();
    const have = () => new Set(parts.flatMap((p) => partKeys(p, problem.paths)));
    const owned = (j: ShardJob) => {
      const h = have();
      return cutKeys(cutShard(problem.noise.length, problem.paths, j.index, count), problem.paths).every((k) => h.has(k));
    };
    const pending = new Map(jobs.filter((j) => !owned(j)).map((j) => [jobId(j), j]));
    const resumedShards = count - pending.size;

    queue = new Queue(queueName, { connection: connection(url) });
    queue.on('error', () => {}); // reconnects by itself; a lasting outage shows as no progress
    events = new QueueEvents(queueName, { connection: connection(url) });
    events.on('error', () => {});
    let wake: (() => void) | undefined;
    const poke = () => wake?.();
    events.on('completed', poke);
    events.on('failed', poke);
    await events.waitUntilReady();
    // Jobs of an earlier, interrupted submission that failed for good are retried; others are left as they are.
    for (const id of pending.keys()) {
      const job = await queue.getJob(id);
      if (job && (await job.getState()) === 'failed') await job.retry('failed');
    }
    await queue.addBulk([...pending.values()].map((j) => ({
      name: `shard ${j.index}/${j.count}`,
      data: j,
      opts: { jobId: jobId(j), attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: false, removeOnFail: false },
    })));
    if (!values.quiet) io.stderr.write(`queued: ${pending.size} shard${pending.size === 1 ? '' : 's'} of ${count} on ${safeUrl(url)} (queue '${queueName}')${resumedShards ? `; ${resumedShards} came from the checkpoint` : ''}\n`);

    const started = performance.now();
    const perShardSteps = (j: ShardJob) => j.pieces.reduce((s, p) => s + (p.gridEnd - p.gridStart) * (p.pathEnd - p.pathStart) * problem.steps, 0);
    const totalSteps = jobs.reduce((s, j) => s + perShardSteps(j), 0);
    let doneSteps = jobs.filter((j) => !pending.has(jobId(j))).reduce((s, j) => s + perShardSteps(j), 0);
    const firstSteps = doneSteps;
    const failures = new Map<string, string>();
    let workers = -1;
    let lastWorkerCheck = 0;
    interrupt.message = `stopping; the collected shards are kept in ${checkpointPath}, the others stay queued`;
    interrupt.beforeMessage = () => bar.clear();
    const draw = () => {
      const s = (performance.now() - started) / 1000;
      const rate = s > 0.5 && doneSteps > firstSteps ? (doneSteps - firstSteps) / s : 0;
      bar.update({ done: count - pending.size, total: count, unit: 'shards', fraction: doneSteps / totalSteps, rate, rateUnit: 'path-steps',
        etaSeconds: rate > 0 ? (totalSteps - doneSteps) / rate : NaN, note: `${workers < 0 ? '?' : workers} worker${workers === 1 ? '' : 's'}${failures.size ? `, ${failures.size} failed` : ''}` }, true);
    };
    while (pending.size > failures.size && !interrupt.code) {
      if (performance.now() - lastWorkerCheck > 3000) {
        workers = await queue.getWorkersCount().catch(() => workers);
        lastWorkerCheck = performance.now();
      }
      for (const job of await queue.getJobs(['failed'], 0, -1)) {
        if (job?.id && pending.has(job.id) && !failures.has(job.id)) {
          failures.set(job.id, `${job.failedReason || 'failed'}${job.attemptsMade > 1 ? ` (after ${job.attemptsMade} attempts)` : ''}`);
        }
      }
      for (const job of await queue.getJobs(['completed'], 0, -1)) {
        const j = job?.id ? pending.get(job.id) : undefined;
        if (!job || !j || failures.has(job.id!)) continue;
        const got = job.returnvalue as unknown;
        const why = checkReturned(got, j, problem);
        if (why) {
          failures.set(job.id!, `its worker returned a result that ${why}`);
          continue;
        }
        parts.push(...(got as CollapseResult[]));
        save(); // merged as it arrives: a later --resume keeps it
        pending.delete(job.id!);
        doneSteps += perShardSteps(j);
        await job.remove().catch(() => {});
      }
      draw();
      if (pending.size === failures.size) break;
      const p = pause(1000, interrupt.signal);
      wake = p.wake;
      await p.done;
      wake = undefined;
    }
    bar.clear();
    if (interrupt.code) {
      io.stderr.write(`interrupted: ${count - pending.size} of ${count} shards collected into ${checkpointPath}; the rest stay queued and workers go on computing them; collect them with the same command plus --resume\n`);
      return interrupt.code;
    }
    if (failures.size > 0) {
      const list = [...failures.entries()].slice(0, 10).map(([id, why]) => `  shard ${pending.get(id)!.index}/${count}: ${why}`).join('\n');
      io.stderr.write(`collapse: error: ${failures.size} shard${failures.size === 1 ? '' : 's'} failed on the workers (${count - pending.size} of ${count} collected into ${checkpointPath}):\n${list}\n` +
        `  (fix the cause, then run the same command plus --resume: it retries only these)\n`);
      return 1;
    }
    interrupt.message = 'stopping before the results are written; all shards are kept in the checkpoint';
    const merged = mergeResults([...parts].sort((a, b) => a.gridStart - b.gridStart || a.pathStart - b.pathStart));
    const distinct = (xs: string[]) => [...new Set(xs)];
    const result = { ...merged, backend: distinct(parts.map((p) => p.backend)).join(', '), device: distinct(parts.map((p) => p.device)).join('; ') };
    const seconds = (performance.now() - started) / 1000;
    const runInfo = {
      command: 'collapse sweep --redis', argv: argv.map((a) => (a.startsWith('redis') ? safeUrl(a) : a)), version: packageVersion(), node: process.version,
      backend: result.backend, device: result.device, queue: queueName, shards: count, resumedShards, finished: new Date().toISOString(),
      thisRunSeconds: seconds, computeSeconds: merged.elapsedSeconds, pathStepsPerSecond: merged.pathStepsPerSecond,
    };
    const written = await writeResults(out, result, runInfo, ['checkpoint.json'], () => interrupt.code === 0);
    if (!written) {
      io.stderr.write(`interrupted: all ${count} shards are collected in ${checkpointPath}; the same command plus --resume writes the results\n`);
      return interrupt.code;
    }
    if (!values.quiet) {
      const lines = await resultLines(result);
      lines.splice(1, 0, `workers:   ${result.backend} on ${result.device}`);
      lines.push(`elapsed:   ${duration(seconds)} for ${count - resumedShards} shard${count - resumedShards === 1 ? '' : 's'}, ${human((totalSteps - firstSteps) / Math.max(seconds, 1e-9))} path-steps/s through the queue`);
      lines.push(wroteLine(out));
      io.stdout.write(lines.join('\n') + '\n');
    }
    return 0;
  } finally {
    bar.clear();
    interrupt.dispose();
    await events?.close().catch(() => {});
    await queue?.close().catch(() => {});
    lock?.release();
    removeCreated(out, created);
  }
}

/** Why a job's return value is not the shard it was asked for (undefined if it is). */
function checkReturned(got: unknown, j: ShardJob, problem: Problem): string | undefined {
  if (!Array.isArray(got)) return 'is not a list of parts';
  for (const [i, part] of got.entries()) {
    const why = checkPart(part as CollapseResult, problem);
    if (why) return `part ${i} ${why}`;
  }
  const keys = got.flatMap((p) => partKeys(p as CollapseResult, problem.paths)).sort();
  const want = cutKeys(cutShard(problem.noise.length, problem.paths, j.index, j.count), problem.paths).sort();
  return JSON.stringify(keys) === JSON.stringify(want) ? undefined : `does not cover exactly shard ${j.index}/${j.count}`;
}

/**
 * `collapse worker --redis URL [--concurrency C] [--backend B] [--threads N] [--queue Q]`: computes shards from
 * the queue until stopped (Ctrl-C or SIGTERM: finishes the shards in hand; a second one leaves at once, and those
 * shards go back to the queue when their lock expires).
 */
export async function workerCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseCommand('worker', argv, {
    redis: { type: 'string' },
    queue: { type: 'string' },
    concurrency: { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    'lock-seconds': { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(WORKER_HELP);
    return 0;
  }
  if (values.redis === undefined) throw new UsageError('--redis URL is required: the Redis the sweep was queued on, e.g. --redis redis://127.0.0.1:6379');
  const url = parseRedisUrl(values.redis);
  const queueName = parseQueueName(values.queue);
  const concurrency = values.concurrency === undefined ? 1 : parseInteger('--concurrency', values.concurrency, 1, 256);
  const lockSeconds = values['lock-seconds'] === undefined ? 30 : parseInteger('--lock-seconds', values['lock-seconds'], 1, 3600);
  const run = parseRunSettings(values);
  await pingRedis(url, '');
  const { Worker, UnrecoverableError } = await import('bullmq');

  // One engine per concurrent shard; native engines share the cores between them unless --threads says otherwise.
  const threads = run.threads ?? (concurrency > 1 && run.backend !== 'js' ? Math.max(1, Math.floor(availableParallelism() / concurrency)) : undefined);
  const idle: Engine[] = [];
  const all: Engine[] = [];
  const take = async () => {
    const e = idle.pop();
    if (e) return e;
    const engine = await createEngine({ backend: run.backend, ...(threads === undefined ? {} : { threads }) });
    if (all.length === 0 && !values.quiet) {
      const info = engine.describe();
      io.stdout.write(`backend: ${info.backend} on ${info.device} (${info.reason})\n`);
      const note = reasonNote(info);
      if (note) io.stderr.write(note);
    }
    all.push(engine);
    return engine;
  };
  const log = (line: string) => {
    if (!values.quiet) io.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  };
  const abort = new AbortController();
  let worker: WorkerType | undefined;
  idle.push(await take()); // a backend that cannot start is refused now, not by failing every shard
  const interrupt = new Interrupt(io);
  interrupt.message = 'finishing the shards in hand, then leaving';
  try {
    worker = new Worker(queueName, async (job: Job) => {
      const data = job.data as ShardJob;
      if (data?.kind !== JOB_KIND || data.version !== JOB_VERSION) {
        throw new UnrecoverableError(`job ${job.id} is not a collapse shard of version ${JOB_VERSION} (kind ${String(data?.kind)}, version ${String(data?.version)}): the submitting collapse and this worker differ in version`);
      }
      const p = data.problem;
      const options: CollapseOptions = { model: p.model, params: p.params, sweep: p.sweep, noise: p.noise, paths: p.paths, steps: p.steps, dt: p.dt, record: p.record, epsilon: p.epsilon, seed: p.seed };
      log(`shard ${data.index}/${data.count} of sweep ${data.sweepId} started (attempt ${job.attemptsStarted})`);
      // Test hook (never set by users): this worker fails the shard, as a broken machine would.
      if (process.env.COLLAPSE_TEST_FAIL_SHARD === String(data.index)) throw new Error(`COLLAPSE_TEST_FAIL_SHARD: shard ${data.index} fails on purpose`);
      const engine = await take();
      const t0 = performance.now();
      const total = data.pieces.reduce((s, q) => s + (q.gridEnd - q.gridStart) * (q.pathEnd - q.pathStart) * p.steps, 0);
      let before = 0;
      let lastReport = 0;
      try {
        const parts: CollapseResult[] = [];
        for (const piece of data.pieces) {
          parts.push(await engine.collapse({
            ...options, shard: piece, signal: abort.signal,
            onProgress: (q) => {
              const now = performance.now();
              if (now - lastReport < 1000) return;
              lastReport = now;
              void job.updateProgress(Math.round((1000 * (before + q.pathStepsDone)) / total) / 1000).catch(() => {});
            },
          }));
          before += (piece.gridEnd - piece.gridStart) * (piece.pathEnd - piece.pathStart) * p.steps;
        }
        log(`shard ${data.index}/${data.count} of sweep ${data.sweepId} done in ${duration((performance.now() - t0) / 1000)}`);
        return parts;
      } catch (error) {
        // A bad problem never gets better by retrying; a device error might.
        if (error instanceof CollapseError && error.code === 'INVALID_ARGUMENT') throw new UnrecoverableError(error.message);
        throw error;
      } finally {
        idle.push(engine);
      }
    }, {
      connection: connection(url), concurrency, lockDuration: lockSeconds * 1000, stalledInterval: Math.max(1000, (lockSeconds * 1000) / 2),
      maxStalledCount: 10, drainDelay: 2, autorun: false, name: `${hostname()}:${process.pid}`,
    });
    worker.on('error', (error) => log(`redis: ${error.message}`));
    worker.on('failed', (job, error) => {
      if (job) log(`shard ${(job.data as ShardJob).index}/${(job.data as ShardJob).count} failed: ${error.message}`);
    });
    log(`waiting for shards on ${safeUrl(url)} (queue '${queueName}', concurrency ${concurrency})`);
    const running = worker.run();
    await new Promise<void>((res) => interrupt.signal.addEventListener('abort', () => res(), { once: true }));
    // First signal: stop taking shards and finish those in hand. A second one exits at once (Interrupt).
    await worker.close();
    await running.catch(() => {});
    return interrupt.code;
  } finally {
    interrupt.dispose();
    for (const e of all) e.close();
  }
}

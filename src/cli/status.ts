import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { glueValues, parseCommand, UsageError } from './args.js';
import type { Io } from './common.js';
import { STATUS_HELP } from './help.js';
import { naturalOrder, readShard, SHARD_FILE, shardDirs } from './shards.js';
import { isSlurmSweep, resubmit, slurmStatus, statusText, waitSlurm } from './slurm.js';

/**
 * `collapse status DIR`: for a Slurm sweep, which shards are done, running, pending, failed or missing, and the
 * merge (`--resubmit` reruns only the failed and missing ones; `--wait` follows until the result exists); for a
 * folder of shards computed any other way, which are finished and which are missing.
 */
export async function statusCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('status', glueValues(argv, ['--slurm-args']), {
    resubmit: { type: 'boolean' },
    wait: { type: 'boolean' },
    'slurm-args': { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, true);
  if (values.help) {
    io.stdout.write(STATUS_HELP);
    return 0;
  }
  const args = positionals as string[];
  if (args.length !== 1) throw new UsageError(args.length === 0 ? 'give the sweep folder: collapse status DIR' : `give one folder; got ${args.length}: ${args.join(' ')}`);
  const dir = args[0];
  if (!existsSync(dir)) throw new UsageError(`${dir} does not exist`);
  if (isSlurmSweep(dir)) {
    if (values.json && (values.resubmit || values.wait)) throw new UsageError('--json reports only; give it without --resubmit and --wait');
    if (values.resubmit) {
      const code = resubmit(dir, values['slurm-args'], io, values.quiet === true);
      return values.wait && code === 0 ? waitSlurm(dir, io, values.quiet === true) : code;
    }
    if (values['slurm-args'] !== undefined) throw new UsageError('--slurm-args goes with --resubmit');
    if (values.wait) return waitSlurm(dir, io, values.quiet === true);
    const s = slurmStatus(dir);
    if (values.json) {
      io.stdout.write(JSON.stringify({ dir, count: s.state.count, shards: s.shards, merge: s.merge, submissions: s.state.submissions, ...(s.queueUnknown ? { note: s.queueUnknown } : {}) }, null, 2) + '\n');
    } else {
      io.stdout.write(statusText(s));
    }
    return 0;
  }
  for (const name of ['resubmit', 'wait', 'slurm-args'] as const) {
    if (values[name] !== undefined) throw new UsageError(`--${name} is for Slurm sweeps (made with collapse sweep --slurm); ${dir} is not one`);
  }
  return shardFolderStatus(dir, io, values.json === true);
}

/** Shards computed with --shard K/N by any scheduler: which are finished, unfinished, missing. */
function shardFolderStatus(dir: string, io: Io, json: boolean): number {
  let dirs: string[];
  try {
    dirs = shardDirs([dir]);
  } catch {
    const what = existsSync(join(dir, 'result.json')) ? ' (it holds a finished sweep: result.json)' : '';
    throw new UsageError(`${dir} is neither a Slurm sweep (no slurm/sweep.json) nor a folder of shards${what}`, `see 'collapse status --help'`);
  }
  const rows = dirs.sort(naturalOrder).map((d) => {
    if (!existsSync(join(d, SHARD_FILE))) return { dir: d, status: 'unfinished' as const };
    try {
      const s = readShard(d).file;
      return { dir: d, status: 'done' as const, index: s.shard.index, count: s.shard.count, sweep: JSON.stringify(s.problem) };
    } catch (error) {
      return { dir: d, status: 'unusable' as const, why: error instanceof Error ? error.message : String(error) };
    }
  });
  const done = rows.filter((r) => r.status === 'done');
  const counts = [...new Set(done.map((r) => r.count))];
  const sweeps = new Set(done.map((r) => r.sweep));
  let missing: number[] = [];
  if (counts.length === 1 && counts[0] !== undefined) {
    const have = new Set(done.map((r) => r.index));
    missing = Array.from({ length: counts[0] }, (_, i) => i + 1).filter((i) => !have.has(i));
  }
  if (json) {
    io.stdout.write(JSON.stringify({ dir, shards: rows.map(({ sweep: _s, ...r }) => r), missing, sweeps: sweeps.size }, null, 2) + '\n');
    return 0;
  }
  const lines = [`shards in ${dir}: ${done.length} done${rows.length > done.length ? `, ${rows.length - done.length} not usable yet` : ''}`];
  for (const r of rows) {
    if (r.status === 'done') lines.push(`  ${r.dir}: shard ${r.index}/${r.count} done`);
    else if (r.status === 'unfinished') lines.push(`  ${r.dir}: unfinished (checkpoint.json): rerun its collapse sweep ... --shard command with --resume`);
    else lines.push(`  ${r.dir}: ${r.why.replace(/^.*? is not a usable shard: /, 'not usable: ')}`);
  }
  if (sweeps.size > 1) lines.push(`warning: these shards belong to ${sweeps.size} different sweeps; merge refuses to mix them`);
  if (counts.length === 1) lines.push(missing.length === 0 ? `complete: merge with collapse merge ${dir} --out DIR` : `missing: shard${missing.length === 1 ? '' : 's'} ${missing.map((i) => `${i}/${counts[0]}`).join(', ')}`);
  if (existsSync(join(dir, 'result.json'))) {
    try {
      const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { noise?: unknown[] };
      lines.push(`result:    ${join(dir, 'result.json')} (${Array.isArray(r.noise) ? r.noise.length : '?'} grid points)`);
    } catch {
      // not ours to judge here
    }
  }
  io.stdout.write(lines.join('\n') + '\n');
  return 0;
}

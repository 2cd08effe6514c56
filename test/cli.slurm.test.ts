// A sweep through a real single-node Slurm (issue 12): munged, slurmctld and slurmd started here on 127.0.0.1
// (test/helpers/cluster.ts), `collapse sweep --slurm --shards N --wait` submitting the array and merge jobs,
// a shard failing on purpose, `collapse status` naming it, and `--resubmit` rerunning only that shard.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN } from './helpers/cli.js';
import { type Daemon, missing, REQUIRED, startSlurm } from './helpers/cluster.js';

const TMP = mkdtempSync(join(tmpdir(), 'collapse-slurm-'));
const why = missing('slurm');
if (why && REQUIRED) throw new Error(`SC_REQUIRE_CLUSTER=1 but Slurm cannot run here: ${why}`);

let slurm: Daemon | undefined;
beforeAll(async () => {
  ensureBuilt();
  if (!why) slurm = await startSlurm(TMP);
});
afterAll(async () => {
  await slurm?.stop();
  rmSync(TMP, { recursive: true, force: true });
});

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[], env: Record<string, string | undefined> = {}): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: TMP, encoding: 'utf8', timeout: 110_000,
    env: { ...process.env, ...slurm?.env, COLLAPSE_SLURM_POLL_SECONDS: '0.3', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SWEEP = ['sweep', '--noise', '1:3.5:6', '--paths', '24', '--steps', '600', '--record', '150,600', '--seed', '7', '--backend', 'js'];

describe('sbatch missing', () => {
  it('--slurm without sbatch on PATH: exit 2, nothing written', () => {
    const out = join(TMP, 'no-sbatch');
    const r = cli([...SWEEP, '--slurm', '--shards', '3', '--out', out], { PATH: join(TMP, 'empty-path') });
    expect(r.stderr).toMatch(/^collapse: error: --slurm submits with Slurm's sbatch, which is not on PATH here; nothing was written/);
    expect(r.stderr).toMatch(/--shard K\/N/);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });
});

describe.skipIf(why !== undefined)('a sweep on a real single-node Slurm', () => {
  it('array job + merge job give the unsharded result; a failed shard is named and resubmitted alone', () => {
    const reference = join(TMP, 'reference');
    expect(cli([...SWEEP, '--quiet', '--out', reference]).code).toBe(0);

    // 1. shard 2 fails on purpose (a test hook read by the shard's own process, exported to the job by sbatch)
    const out = join(TMP, 'q');
    const first = cli([...SWEEP, '--slurm', '--shards', '3', '--slurm-args', '--time=10 --job-name="collapse test"', '--out', out, '--wait'], { COLLAPSE_TEST_FAIL_SHARD: '2' });
    expect(first.stdout).toMatch(/^submitted: array job (\d+) \(shards 1\.\.3 of 6 grid points × 24 paths\) and merge job (\d+) \(after it\)/);
    expect(first.stderr).toMatch(/did not finish/);
    expect(first.stderr).toMatch(/failed: +2 \(job \d+_2: FAILED/);
    expect(first.code).toBe(1);
    expect(readdirSync(join(out, 'slurm')).sort()).toEqual(['logs', 'merge.sbatch', 'shards.sbatch', 'state', 'sweep.json']);
    expect(readFileSync(join(out, 'slurm', 'shards.sbatch'), 'utf8')).toMatch(/#SBATCH --array=1-3\n/);
    expect(readFileSync(join(out, 'slurm', 'logs', 'shard-2.out'), 'utf8')).toMatch(/COLLAPSE_TEST_FAIL_SHARD/);
    expect(readFileSync(join(out, 'slurm', 'logs', 'shard-1.out'), 'utf8')).toMatch(/collapse sweep: shard 1\/3 of quartic/);
    expect(JSON.parse(readFileSync(join(out, 'slurm', 'sweep.json'), 'utf8')).slurmArgs).toEqual(['--time=10', '--job-name=collapse test']);
    expect(existsSync(join(out, 'result.json'))).toBe(false);

    const status = cli(['status', out]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/shards: +2 done, 0 running, 0 pending, 1 failed, 0 missing/);
    expect(status.stdout).toMatch(/merge: +failed \(job \d+: CANCELLED/);
    expect(status.stdout).toMatch(new RegExp(`resubmit: +collapse status ${out} --resubmit`));
    const report = JSON.parse(cli(['status', out, '--json']).stdout);
    expect(report.shards.map((s: { status: string }) => s.status)).toEqual(['done', 'failed', 'done']);

    // a second submission into the same folder is refused (nothing touched)
    const again = cli([...SWEEP, '--slurm', '--shards', '3', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/holds a Slurm sweep already: see collapse status/);

    // 2. one command reruns only shard 2, then merges
    const redo = cli(['status', out, '--resubmit', '--wait']);
    expect(redo.stderr).toBe('');
    expect(redo.stdout).toMatch(/^submitted: array job \d+ \(shard 2 of 3\) and merge job \d+ \(after it\)/);
    expect(redo.code).toBe(0);
    const state = JSON.parse(readFileSync(join(out, 'slurm', 'sweep.json'), 'utf8'));
    expect(state.submissions.map((s: { shards: number[] }) => s.shards)).toEqual([[1, 2, 3], [2]]);
    for (const f of ['result.csv', 'result.json', 'collapse.svg', 'collapse.png']) {
      expect(readFileSync(join(out, f)).equals(readFileSync(join(reference, f))), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).shards).toHaveLength(3);
    const done = cli(['status', out]);
    expect(done.stdout).toMatch(/shards: +3 done/);
    expect(done.stdout).toMatch(/merge: +done/);
    expect(cli(['status', out, '--resubmit']).stdout).toMatch(/nothing to resubmit/);
  });
});

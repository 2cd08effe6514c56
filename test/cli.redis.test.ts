// A sweep through a real Redis work queue (issue 12): redis-server started here on 127.0.0.1
// (test/helpers/cluster.ts), two `collapse worker` processes, one killed (SIGKILL) in the middle of a shard; the
// shard is recomputed by the other worker and the result is exactly the unsharded one.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN } from './helpers/cli.js';
import { type Daemon, freePort, missing, REQUIRED, startRedis } from './helpers/cluster.js';

const TMP = mkdtempSync(join(tmpdir(), 'collapse-redis-'));
const why = missing('redis');
if (why && REQUIRED) throw new Error(`SC_REQUIRE_CLUSTER=1 but Redis cannot run here: ${why}`);

let redis: Daemon | undefined;
const workers: ChildProcess[] = [];
beforeAll(async () => {
  ensureBuilt();
  if (!why) redis = await startRedis(TMP);
});
afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await redis?.stop();
  rmSync(TMP, { recursive: true, force: true });
});

interface Run { code: number | null; stdout: string; stderr: string; seconds: number }

function cli(args: string[]): Run {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: TMP, encoding: 'utf8', timeout: 60_000, env: { ...process.env, COLLAPSE_TEST_FAIL_SHARD: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

/** A worker process; `log` collects its stdout and stderr. */
function worker(args: string[], env: Record<string, string> = {}): { child: ChildProcess; log: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN, 'worker', ...args], { cwd: TMP, env: { ...process.env, ...env } });
  workers.push(child);
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d));
  child.stderr!.on('data', (d: Buffer) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, log: () => text, exited };
}

const until = async (what: string, ok: () => boolean, seconds = 30) => {
  const end = Date.now() + seconds * 1000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** Four grid points, one shard each; about half a second of the reference backend per shard. */
const SWEEP = ['sweep', '--noise', '1:3.5:4', '--paths', '64', '--steps', '30000', '--record', '5000,30000', '--seed', '7'];

describe('Redis URL that does not answer', () => {
  it('sweep --redis and worker --redis: exit 2 in seconds, nothing written', async () => {
    const port = await freePort(); // nothing listens there
    const out = join(TMP, 'no-redis');
    const r = cli([...SWEEP, '--redis', `redis://127.0.0.1:${port}`, '--out', out]);
    expect(r.stderr).toMatch(new RegExp(`^collapse: error: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; nothing was written`));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.seconds).toBeLessThan(10);
    expect(existsSync(out)).toBe(false);
    const w = cli(['worker', '--redis', `redis://127.0.0.1:${port}`]);
    expect(w.stderr).toMatch(/^collapse: error: cannot reach Redis at/);
    expect(w.code).toBe(2);
    const bad = cli([...SWEEP, '--redis', 'http://127.0.0.1:6379', '--out', out]);
    expect(bad.stderr).toMatch(/--redis must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(bad.code).toBe(2);
    expect(cli([...SWEEP, '--redis', `redis://127.0.0.1:${port}`, '--backend', 'js', '--out', out]).stderr).toMatch(/--backend is the workers' choice with --redis/);
    expect(existsSync(out)).toBe(false);
  });
});

describe.skipIf(why !== undefined)('a sweep through a real Redis with two workers', () => {
  it('a worker killed mid-shard: the shard is retried on the other worker and the result is the unsharded one', async () => {
    const reference = join(TMP, 'reference');
    expect(cli([...SWEEP, '--backend', 'js', '--quiet', '--out', reference]).code).toBe(0);
    const url = redis!.address;
    // A short lock: the killed worker's shard is handed on within seconds (the default is 30 s).
    const a = worker(['--redis', url, '--backend', 'js', '--lock-seconds', '2']);
    const b = worker(['--redis', url, '--backend', 'js', '--lock-seconds', '2']);
    await until('both workers', () => /waiting for shards/.test(a.log()) && /waiting for shards/.test(b.log()));

    const out = join(TMP, 'q');
    const sweep = spawn(process.execPath, [MAIN, ...SWEEP, '--redis', url, '--out', out], { cwd: TMP });
    let stdout = '';
    let stderr = '';
    sweep.stdout.on('data', (d: Buffer) => (stdout += d));
    sweep.stderr.on('data', (d: Buffer) => (stderr += d));
    const done = new Promise<number | null>((resolve) => sweep.on('close', resolve));

    // Kill worker A while it computes its first shard.
    await until('worker A to start a shard', () => /shard (\d)\/4 of sweep \w+ started/.test(a.log()));
    const killed = /shard (\d)\/4 of sweep \w+ started/.exec(a.log())![1];
    a.child.kill('SIGKILL');
    await a.exited;
    expect(a.log()).not.toMatch(new RegExp(`shard ${killed}/4 of sweep \\w+ done`));

    expect(await done, stderr).toBe(0);
    expect(stderr).toMatch(/queued: 4 shards of 4 on redis:\/\/127\.0\.0\.1:\d+ \(queue 'collapse'\)/);
    expect(stdout).toMatch(/workers: +js on plain TypeScript/);
    // the killed shard was computed again, by worker B, as a second attempt
    expect(b.log()).toMatch(new RegExp(`shard ${killed}/4 of sweep \\w+ started \\(attempt 2\\)`));
    expect(b.log()).toMatch(new RegExp(`shard ${killed}/4 of sweep \\w+ done`));
    for (const f of ['result.csv', 'result.json', 'collapse.svg', 'collapse.png']) {
      expect(readFileSync(join(out, f)).equals(readFileSync(join(reference, f))), f).toBe(true);
    }
    // the submitting process alone wrote the folder; the collected jobs were removed from Redis
    expect(readdirSync(out).sort()).toEqual(['collapse.png', 'collapse.svg', 'result.csv', 'result.json', 'run.json']);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run).toMatchObject({ command: 'collapse sweep --redis', shards: 4, queue: 'collapse' });
    const port = new URL(url).port;
    expect(spawnSync('redis-cli', ['-p', port, '--scan', '--pattern', 'bull:collapse:*-1'], { encoding: 'utf8' }).stdout.trim()).toBe('');

    // SIGTERM: the surviving worker finishes what it holds (nothing) and leaves
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(143);
  });

  it('a shard that fails on every attempt is named (exit 1, the rest kept); --resume retries only it', async () => {
    const url = redis!.address;
    const small = ['sweep', '--noise', '1:3.5:4', '--paths', '16', '--steps', '400', '--record', '100,400', '--seed', '9', '--queue', 'flaky'];
    const reference = join(TMP, 'reference-flaky');
    expect(cli([...small.slice(0, -2), '--backend', 'js', '--quiet', '--out', reference]).code).toBe(0);
    const broken = worker(['--redis', url, '--queue', 'flaky', '--backend', 'js'], { COLLAPSE_TEST_FAIL_SHARD: '3' });
    await until('the broken worker', () => /waiting for shards/.test(broken.log()));
    const out = join(TMP, 'flaky');
    const first = cli([...small, '--redis', url, '--out', out]);
    expect(first.stderr).toMatch(/collapse: error: 1 shard failed on the workers \(3 of 4 collected into .*checkpoint\.json\):\n  shard 3\/4: COLLAPSE_TEST_FAIL_SHARD: shard 3 fails on purpose \(after 3 attempts\)/);
    expect(first.stderr).toMatch(/run the same command plus --resume/);
    expect(first.code).toBe(1);
    expect(readdirSync(out)).toEqual(['checkpoint.json']);
    broken.child.kill('SIGTERM');
    expect(await broken.exited).toBe(143);

    const good = worker(['--redis', url, '--queue', 'flaky', '--backend', 'js']);
    const again = cli([...small, '--redis', url, '--out', out, '--resume']);
    expect(again.stderr).toMatch(/queued: 1 shard of 4 .*; 3 came from the checkpoint/);
    expect(again.code).toBe(0);
    expect(readFileSync(join(out, 'result.csv')).equals(readFileSync(join(reference, 'result.csv')))).toBe(true);
    await until('the good worker\'s log', () => /shard 3\/4 of sweep \w+ done/.test(good.log())); // read while spawnSync blocked
    expect(good.log()).not.toMatch(/shard [124]\/4/);
    good.child.kill('SIGTERM');
    await good.exited;
  });
});

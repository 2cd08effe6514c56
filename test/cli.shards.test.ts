// Sweeps cut into shards by index (issue 12): `collapse sweep --shard K/N` and `collapse merge`, spawned as users
// run them. Every cut must merge into exactly the unsharded result: the same result.csv bytes, the same counts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN } from './helpers/cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'collapse-shards-'));

beforeAll(ensureBuilt);
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: TMP, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs many CLI commands, two at a time (the machine has two cores). */
async function cliAll(commands: string[][]): Promise<Run[]> {
  const results: Run[] = new Array(commands.length);
  let next = 0;
  const lane = async () => {
    while (next < commands.length) {
      const i = next++;
      results[i] = await new Promise<Run>((resolve) => {
        const child = spawn(process.execPath, [MAIN, ...commands[i]], { cwd: TMP });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d));
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    }
  };
  await Promise.all([lane(), lane()]);
  return results;
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const bytes = (path: string) => readFileSync(path);
let serial = 0;
const dir = (name: string) => join(TMP, `${name}-${++serial}`);

/** A clean exit-2 refusal: one message on stderr, no stack trace, nothing on stdout. */
function refused(r: Run, message: RegExp): void {
  expect(r.stderr).toMatch(message);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^collapse: error: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
}

/** Eight grid points straddling the threshold √3 on the reference backend: milliseconds a shard. */
const GRID = ['sweep', '--noise', '1:3.5:8', '--paths', '24', '--steps', '600', '--record', '150,600', '--seed', '7', '--backend', 'js', '--quiet'];
/**
 * Three grid points of 150 000 paths: three path blocks of up to 65 536 paths each, so that every N > 3 (and
 * most N ≤ 3) splits some grid point's paths between shards, on the native backend (a fraction of a second).
 */
const BLOCKS = ['sweep', '--noise', '1,2,3', '--paths', '150000', '--steps', '40', '--dt', '0.01', '--record', '10,40', '--epsilon', '1e-3',
  '--seed', '3', '--backend', 'native', '--quiet'];

/** Shards 1..N of `args` into DIR/K, then merged into DIR/merged; returns the merged folder. */
async function shardAndMerge(args: string[], n: number): Promise<string> {
  const base = dir(`n${n}`);
  const runs = await cliAll(Array.from({ length: n }, (_, i) => [...args, '--shard', `${i + 1}/${n}`, '--out', join(base, String(i + 1))]));
  runs.forEach((r, i) => expect(r.code, `shard ${i + 1}/${n}: ${r.stderr}`).toBe(0));
  for (let i = 1; i <= n; i++) expect(readdirSync(join(base, String(i)))).toEqual(['shard.json']);
  const merged = join(base, 'merged');
  const m = cli(['merge', ...Array.from({ length: n }, (_, i) => join(base, String(i + 1))), '--out', merged]);
  expect(m.code, m.stderr).toBe(0);
  expect(m.stdout).toMatch(new RegExp(`merged: +${n} shards?`));
  return merged;
}

function expectSameResult(merged: string, reference: string, what: string): void {
  expect(bytes(join(merged, 'result.csv')).equals(bytes(join(reference, 'result.csv'))), `${what}: result.csv`).toBe(true);
  const a = json(join(merged, 'result.json'));
  const b = json(join(reference, 'result.json'));
  for (const key of ['collapsed', 'diverged', 'paths', 'noise', 'sumDistance', 'sumSquaredDistance', 'sumLogDistance']) expect(a[key], `${what}: ${key}`).toEqual(b[key]);
  expect(bytes(join(merged, 'result.json')).equals(bytes(join(reference, 'result.json'))), `${what}: result.json`).toBe(true);
  expect(bytes(join(merged, 'collapse.svg')).equals(bytes(join(reference, 'collapse.svg'))), `${what}: collapse.svg`).toBe(true);
}

describe('shards merge into exactly the unsharded sweep', () => {
  it('paths split in blocks of 65 536: every N from 1 to 7 (3: one shard per grid point)', async () => {
    const reference = dir('blocks-reference');
    const r = cli([...BLOCKS, '--out', reference]);
    expect(r.code, r.stderr).toBe(0);
    const merged: Record<number, string> = {};
    for (const n of [1, 2, 3, 4, 5, 6, 7]) {
      merged[n] = await shardAndMerge(BLOCKS, n);
      expectSameResult(merged[n], reference, `${n} shards`);
    }
    // shard 2 of 7 holds cell 1 of 9: grid point 0's second block of paths (65536..131071)
    const shard = json(join(merged[7], '..', '2', 'shard.json'));
    expect(shard.shard).toMatchObject({ index: 2, count: 7, blocks: 3, cells: 9, cellStart: 1, cellEnd: 2 });
    expect(shard.parts.map((p: { gridStart: number; pathStart: number; paths: number }) => [p.gridStart, p.pathStart, p.paths])).toEqual([[0, 65536, 65536]]);
    const run = json(join(merged[7], 'run.json'));
    expect(run.command).toBe('collapse merge');
    expect(run.shards.map((s: { index: number }) => s.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('whole grid points: one shard per grid point (8 of 8)', async () => {
    const reference = dir('grid-reference');
    expect(cli([...GRID, '--out', reference]).code).toBe(0);
    expectSameResult(await shardAndMerge(GRID, 8), reference, '8 shards');
  });

  it('any complete set merges, also of different N; the merge refuses to overwrite a result without --force', async () => {
    const reference = dir('mixed-reference');
    expect(cli([...GRID, '--out', reference]).code).toBe(0);
    const base = dir('mixed');
    const runs = await cliAll([
      [...GRID, '--shard', '1/2', '--out', join(base, 'half')],
      [...GRID, '--shard', '3/4', '--out', join(base, 'q3')],
      [...GRID, '--shard', '4/4', '--out', join(base, 'q4')],
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const out = join(base, 'merged');
    expect(cli(['merge', join(base, 'q4'), join(base, 'half'), join(base, 'q3'), '--out', out, '--quiet']).code).toBe(0);
    expectSameResult(out, reference, '1/2 + 3/4 + 4/4');
    const before = bytes(join(out, 'result.csv'));
    refused(cli(['merge', join(base, 'half'), join(base, 'q3'), join(base, 'q4'), '--out', out]), /already holds a finished sweep \(result\.json\): add --force/);
    expect(bytes(join(out, 'result.csv')).equals(before)).toBe(true);
    expect(cli(['merge', join(base, 'half'), join(base, 'q3'), join(base, 'q4'), '--out', out, '--force', '--quiet']).code).toBe(0);
  });

  it('an interrupted shard continues with --resume and still merges exactly', async () => {
    const reference = dir('resume-reference');
    expect(cli([...GRID, '--out', reference]).code).toBe(0);
    const base = dir('resume');
    const first = join(base, '1');
    const stopped = cli([...GRID, '--batch', '1', '--shard', '1/2', '--out', first], { COLLAPSE_STOP_AFTER_BATCHES: '2' });
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/interrupted: 2 of 4 grid points done; continue with the same command plus --resume/);
    expect(readdirSync(first).sort()).toEqual(['checkpoint.json']);
    refused(cli(['merge', first, '--out', join(base, 'm0')]), /is not a usable shard: it holds an unfinished shard \(checkpoint\.json, no shard\.json\)/);
    refused(cli([...GRID, '--batch', '1', '--shard', '1/2', '--out', first]), /holds an unfinished shard \(checkpoint\.json\): add --resume/);
    refused(cli([...GRID, '--batch', '1', '--shard', '2/2', '--out', first, '--resume']), /the options differ from the checkpoint's \(shard: checkpoint shard 1\/2, now shard 2\/2\)/);
    expect(cli([...GRID, '--batch', '1', '--shard', '1/2', '--out', first, '--resume']).code).toBe(0);
    expect(readdirSync(first)).toEqual(['shard.json']);
    expect(cli([...GRID, '--shard', '2/2', '--out', join(base, '2')]).code).toBe(0);
    const out = join(base, 'merged');
    expect(cli(['merge', base, '--out', out, '--quiet']).code).toBe(0); // the parent folder: its shard subfolders
    expectSameResult(out, reference, 'resumed shard');
  });
});

describe('bad input: clear errors, exit 2, nothing lost', () => {
  let shards: string;
  beforeAll(async () => {
    shards = dir('bad');
    const runs = await cliAll([1, 2, 3].map((k) => [...GRID, '--shard', `${k}/3`, '--out', join(shards, String(k))]));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
  });

  it('--shard K/N outside 1 ≤ K ≤ N ≤ the cells, or not K/N: nothing written', () => {
    const cases: [string, RegExp][] = [
      ['3/2', /--shard 3\/2: there is no shard 3 of 2; K goes from 1 to N \(2\)/],
      ['0/4', /--shard 0\/4: shards are numbered from 1 to N/],
      ['1/0', /--shard 1\/0: N, the number of shards, must be at least 1/],
      ['2', /--shard must be K\/N \(shard K of N, 1 ≤ K ≤ N\), e\.g\. --shard 3\/8; got '2'/],
      ['1/9', /--shard 1\/9: this sweep splits into at most 8 shards \(8 grid points, each computed whole: up to 65536 paths are not split\)/],
    ];
    for (const [shard, message] of cases) {
      const out = dir('bad-shard');
      refused(cli([...GRID, '--shard', shard, '--out', out]), message);
      expect(existsSync(out)).toBe(false);
    }
    const zero = cli([...GRID, '--shard', '0/4', '--out', dir('zero')]);
    expect(zero.stderr).toMatch(/write --shard \$\(\(INDEX \+ 1\)\)\/4/);
    refused(cli([...GRID, '--shards', '4', '--out', dir('shards')]), /--shards N goes with --slurm or --redis; to compute one shard here, give --shard K\/N/);
    refused(cli([...GRID, '--wait', '--out', dir('wait')]), /--wait goes with --slurm/);
    refused(cli([...GRID, '--shard', '1/2', '--slurm', '--shards', '2', '--out', dir('both')]), /--shard computes one shard here; --slurm hands all of them out/);
  });

  it('merge refuses a shard of another sweep, a shard given twice, overlaps, gaps and damaged files, naming them', async () => {
    const other = dir('other-seed');
    expect(cli([...GRID.map((a, i) => (GRID[i - 1] === '--seed' ? '8' : a)), '--shard', '2/3', '--out', other]).code).toBe(0);
    const half = dir('half');
    expect(cli([...GRID, '--shard', '1/2', '--out', half]).code).toBe(0);
    const [s1, s2, s3] = [1, 2, 3].map((k) => join(shards, String(k)));
    const out = dir('merged');
    refused(cli(['merge', s1, other, s3, '--out', out]), new RegExp(`${other} is a shard of another sweep than ${s1}: seed 8 in ${other}, 7 in ${s1}`));
    refused(cli(['merge', s1, s2, s2, s3, '--out', out]), new RegExp(`shard 2/3 is given twice: ${s2} and ${s2}`));
    refused(cli(['merge', half, s2, s3, '--out', out]), new RegExp(`${half} \\(shard 1/2\\) and ${s2} \\(shard 2/3\\) overlap: both hold grid points 2\\.\\.3`));
    refused(cli(['merge', s1, s3, '--out', out]), /the 2 shards given do not cover the whole sweep: missing shard 2\/3 \(grid points 2\.\.4\)/);
    refused(cli(['merge', s1, '--out', s1]), /--out .* is one of the shard folders/);
    refused(cli(['merge', '--out', out]), /give the shard folders to merge/);
    refused(cli(['merge', s1, s2, s3]), /--out is required/);
    refused(cli(['merge', join(TMP, 'nowhere'), '--out', out]), /nowhere does not exist/);
    // a shard.json edited by hand (a count changed) fails its checksum
    const edited = dir('edited');
    expect(cli([...GRID, '--shard', '2/3', '--out', edited]).code).toBe(0);
    const text = readFileSync(join(edited, 'shard.json'), 'utf8');
    writeFileSync(join(edited, 'shard.json'), text.replace(/"collapsed":\[\[(\d+)/, (_, c: string) => `"collapsed":[[${Number(c) + 1}`));
    refused(cli(['merge', s1, edited, s3, '--out', out]), new RegExp(`${edited} is not a usable shard: shard\\.json does not match its checksum`));
    expect(existsSync(out)).toBe(false);
    // and the good set still merges
    expect(cli(['merge', s1, s2, s3, '--out', out, '--quiet']).code).toBe(0);
  });

  it('collapse status on a folder of shards names the finished and the missing ones', () => {
    const base = dir('status');
    expect(cli([...GRID, '--shard', '1/3', '--out', join(base, 'a')]).code).toBe(0);
    expect(cli([...GRID, '--shard', '3/3', '--out', join(base, 'c')]).code).toBe(0);
    const r = cli(['status', base]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2 done/);
    expect(r.stdout).toMatch(/missing: shard 2\/3/);
    const j = JSON.parse(cli(['status', base, '--json']).stdout);
    expect(j.missing).toEqual([2]);
    refused(cli(['status', base, '--resubmit']), /--resubmit is for Slurm sweeps/);
  });
});

// The `collapse` CLI, spawned as users run it: outputs, exit codes, messages, interruption and --resume.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN, ROOT } from './helpers/cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'collapse-cli-'));


beforeAll(ensureBuilt);

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run { code: number | null; stdout: string; stderr: string; seconds: number }

function cli(args: string[], env: Record<string, string> = {}): Run {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: TMP, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

const dir = (name: string) => join(TMP, name);
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
/** A tiny sweep on the reference backend: 6 noise levels straddling the threshold √3 ≈ 1.73. */
const SMALL = ['sweep', '--model', 'quartic', '--set', 'mu=1.5', '--noise', '1:3.5:6', '--paths', '64', '--steps', '2000',
  '--dt', '0.0025', '--record', '500,2000', '--epsilon', '1e-30', '--seed', '7', '--backend', 'js'];

describe('help and listings', () => {
  it('--help, help sweep, sweep --help, --version, models', () => {
    const main = cli(['--help']);
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/Usage: collapse <command>/);
    for (const c of ['sweep', 'trajectories', 'models']) expect(main.stdout).toContain(c);

    const sweep = cli(['sweep', '--help']);
    expect(sweep.code).toBe(0);
    for (const opt of ['--model', '--set', '--noise', '--sweep', '--paths', '--steps', '--dt', '--record', '--epsilon', '--seed',
      '--backend', '--threads', '--out', '--resume', '--quiet', 'result.json', 'result.csv', 'collapse.svg', 'Examples', 'artificially reduced']) {
      expect(sweep.stdout).toContain(opt);
    }
    expect(cli(['help', 'sweep']).stdout).toBe(sweep.stdout);
    expect(cli(['trajectories', '-h']).stdout).toContain('trajectories.json');

    const version = cli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(json(join(ROOT, 'package.json')).version);

    const models = cli(['models']);
    expect(models.code).toBe(0);
    expect(models.stdout).toMatch(/quartic[\s\S]*mu\s+default 1\.5[\s\S]*zeta/);
    const list = JSON.parse(cli(['models', '--json']).stdout);
    expect(list.map((m: { name: string }) => m.name)).toEqual(['quartic', 'neuron', 'teacher-student', 'two-neuron', 'two-neuron-sgd']);
  });
});

describe('sweep', () => {
  it('writes result.json, result.csv, collapse.svg and collapse.png', () => {
    const out = dir('small');
    const r = cli([...SMALL, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/backend: +js/);
    expect(r.stdout).toContain('ζ = √(2μ) ≈ 1.732');
    expect(r.seconds).toBeLessThan(30); // exits by itself, promptly
    expect(readdirSync(out).sort()).toEqual(['collapse.png', 'collapse.svg', 'result.csv', 'result.json', 'run.json']);

    const result = json(join(out, 'result.json'));
    expect(result.noise).toEqual([1, 1.5, 2, 2.5, 3, 3.5]);
    expect(result.record).toEqual([500, 2000]);
    expect(result.paths).toBe(64);
    expect(result.backend).toBe('js');
    expect(result.theory.threshold).toBeCloseTo(Math.sqrt(3), 12);
    expect(result.pathStepsPerSecond).toBeUndefined(); // wall-clock fields live in run.json
    expect(json(join(out, 'run.json')).pathStepsPerSecond).toBeGreaterThan(0);
    expect(result.collapsed).toHaveLength(6);
    for (const [k, row] of result.collapsed.entries()) {
      expect(row).toHaveLength(2);
      for (const [i, c] of row.entries()) {
        expect(Number.isInteger(c) && c >= 0 && c <= 64).toBe(true);
        expect(result.probability[k][i]).toBe(c / 64);
      }
    }
    // Below the threshold nothing collapses; at ζ = 3.5 the count agrees with the closed form (4σ of 64 paths).
    expect(result.collapsed[0]).toEqual([0, 0]);
    const theory = result.theory.points[5].probability[1];
    expect(theory).toBeGreaterThan(0.05);
    expect(Math.abs(result.probability[5][1] - theory)).toBeLessThan(4 * Math.sqrt((theory * (1 - theory)) / 64));

    const csv = readFileSync(join(out, 'result.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('noise,step,time,paths,collapsed,diverged,probability,lower,upper,meanDistance,meanLogDistance,theoryProbability');
    expect(csv).toHaveLength(1 + 6 * 2);
    const row = csv[1 + 5 * 2 + 1].split(',');
    expect(Number(row[0])).toBe(3.5);
    expect(Number(row[1])).toBe(2000);
    expect(Number(row[2])).toBeCloseTo(5, 12);
    expect(Number(row[4])).toBe(result.collapsed[5][1]);

    const svg = readFileSync(join(out, 'collapse.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('step 2000 (t = 5)');
    const png = readFileSync(join(out, 'collapse.png'));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    expect(png.readUInt32BE(16)).toBe(width);
  });

  it('uses the model defaults, writes no progress bar when stderr is not a terminal, and --quiet silences stdout', () => {
    const out = dir('quiet');
    const r = cli(['sweep', '--noise', '2,3', '--paths', '8', '--steps', '400', '--backend', 'js', '--quiet', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
    const result = json(join(out, 'result.json'));
    expect(result.dt).toBe(0.0025);
    expect(result.epsilon).toBe(1e-30);
    expect(result.record).toEqual([400]); // the quartic defaults (10000, ...) are all past --steps 400
  });

  const bad: [string, string[], RegExp][] = [
    ['an unknown option', ['--noise', '1', '--frobnicate', '2'], /unknown option '--frobnicate'/],
    ['an unknown model', ['--model', 'nope', '--noise', '1'], /unknown model 'nope'.*quartic/],
    ['an unknown parameter in --set', ['--set', 'nu=1', '--noise', '1'], /no parameter 'nu'.*mu, zeta/],
    ['a malformed --set', ['--set', 'mu', '--noise', '1'], /--set takes name=value/],
    ['ε = 0', ['--noise', '1', '--epsilon', '0'], /--epsilon must be > 0/],
    ['dt ≤ 0', ['--noise', '1', '--dt=-0.1'], /--dt must be > 0/],
    ['non-integer paths', ['--noise', '1', '--paths', '10.5'], /--paths must be an integer/],
    ['huge paths', ['--noise', '1', '--paths', '1e12'], /--paths must be an integer in \[1, 4294967295\]/],
    ['huge steps', ['--noise', '1', '--steps', '1e16'], /--steps must be an integer in/],
    ['a record step past steps', ['--noise', '1', '--steps', '100', '--record', '50,200'], /--record step 200 is past --steps 100/],
    ['an empty noise grid', ['--noise', ''], /--noise is empty/],
    ['a malformed linspace', ['--noise', '0:3'], /not a linspace; write a:b:n/],
    ['a linspace with a bad count', ['--noise', '0:3:x'], /linspace count/],
    ['a missing --noise', [], /--noise is required/],
    ['a negative noise level', ['--noise', '1,-1'], /noise\[1\].*≥ 0/],
    ['an unknown backend', ['--noise', '1', '--backend', 'cuda'], /--backend must be one of auto, webgpu, native, js/],
    ['--resume without a checkpoint', ['--noise', '1', '--resume'], /no checkpoint/],
    ['a stray argument', ['oops', '--noise', '1'], /unexpected argument 'oops'/],
  ];
  it.each(bad)('rejects %s: exit 2, a message, no folder', (_, args, message) => {
    const out = dir(`bad-${Math.random().toString(36).slice(2)}`);
    const r = cli(['sweep', ...args, ...(args.includes('--backend') ? [] : ['--backend', 'js']), '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^collapse: error: /);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/see 'collapse (sweep --help|models)'/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('rejects an unknown command with exit 2', () => {
    const r = cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/collapse: error: unknown command 'frobnicate'/);
  });

  it('reports an unexpected error with exit 1, the stack only with COLLAPSE_DEBUG=1', () => {
    // An errno the CLI does not know (injected by a test hook) is the unexpected kind; ENOTDIR & co. are exit 2.
    const args = ['sweep', '--noise', '1', '--paths', '2', '--steps', '10', '--backend', 'js', '--out', dir('unexpected')];
    const env = { COLLAPSE_TEST_FAIL_WRITE: 'checkpoint.json=EWEIRD' };
    const r = cli(args, env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^collapse: unexpected error: .*EWEIRD/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(dir('unexpected'))).toBe(false);
    const debug = cli(args, { ...env, COLLAPSE_DEBUG: '1' });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});

describe('interruption and --resume', () => {
  const counts = (out: string) => {
    const r = json(join(out, 'result.json'));
    return { noise: r.noise, collapsed: r.collapsed, diverged: r.diverged, sumDistance: r.sumDistance, sumLogDistance: r.sumLogDistance, paths: r.paths };
  };

  it('stops after a batch (COLLAPSE_STOP_AFTER_BATCHES test hook), keeps the checkpoint, resumes to the uninterrupted result', () => {
    const whole = dir('whole');
    expect(cli([...SMALL, '--out', whole, '--quiet']).code).toBe(0);

    const out = dir('stopped');
    const stopped = cli([...SMALL, '--out', out, '--batch', '2'], { COLLAPSE_STOP_AFTER_BATCHES: '1' });
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('interrupted: 2 of 6 grid points done; continue with the same command plus --resume');
    expect(readdirSync(out)).toEqual(['checkpoint.json']); // no half-written or temporary files
    const checkpoint = json(join(out, 'checkpoint.json'));
    expect(checkpoint.parts).toHaveLength(1);
    expect(checkpoint.parts[0].noise).toEqual([1, 1.5]);

    // Starting over on top of a checkpoint needs --resume; other options are refused.
    const again = cli([...SMALL, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/unfinished sweep.*--resume/);
    const changed = cli([...SMALL.map((a) => (a === '2000' ? '3000' : a)), '--out', out, '--resume']);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/options differ from the checkpoint's \(steps: checkpoint 2000, now 3000/);
    expect(existsSync(join(out, 'checkpoint.json'))).toBe(true);

    // A second stop, then the rest (batches of a different size: the result must not care).
    const second = cli([...SMALL, '--out', out, '--resume', '--batch', '1'], { COLLAPSE_STOP_AFTER_BATCHES: '1' });
    expect(second.code).toBe(130);
    expect(second.stderr).toContain('interrupted: 3 of 6 grid points done');
    const resumed = cli([...SMALL, '--out', out, '--resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('3 came from the checkpoint');
    expect(readdirSync(out).sort()).toEqual(['collapse.png', 'collapse.svg', 'result.csv', 'result.json', 'run.json']);
    expect(counts(out)).toEqual(counts(whole));
    expect(readFileSync(join(out, 'result.csv'), 'utf8')).toBe(readFileSync(join(whole, 'result.csv'), 'utf8'));
  });

  it('Ctrl-C (SIGINT) saves the finished grid points and exits 130; --resume completes identically', async () => {
    const args = ['sweep', '--noise', '1:3.5:8', '--paths', '100', '--steps', '12000', '--record', '3000,12000', '--seed', '3', '--backend', 'js', '--batch', '1'];
    const whole = dir('sigint-whole');
    expect(cli([...args, '--out', whole, '--quiet']).code).toBe(0);

    const out = dir('sigint');
    const child = spawn(process.execPath, [MAIN, ...args, '--out', out], { cwd: TMP });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const checkpoint = join(out, 'checkpoint.json');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (existsSync(checkpoint) && json(checkpoint).parts.length >= 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    const m = /interrupted: (\d+) of 8 grid points done; continue with the same command plus --resume/.exec(stderr);
    expect(m).not.toBeNull();
    const done = Number(m![1]);
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(8);
    expect(json(checkpoint).parts.reduce((s: number, p: { noise: number[] }) => s + p.noise.length, 0)).toBe(done);
    expect(existsSync(join(out, 'result.json'))).toBe(false);

    const resumed = cli([...args, '--out', out, '--resume']);
    expect(resumed.code).toBe(0);
    expect(counts(out)).toEqual(counts(whole));
    expect(existsSync(checkpoint)).toBe(false);
  });
});

describe('trajectories', () => {
  it('writes trajectories.json/svg/png with ~1000 samples per path and the stationary densities', () => {
    const out = dir('traj');
    const r = cli(['trajectories', '--model', 'quartic', '--set', 'mu=1.5', '--noise', '0.1,1,2.5', '--paths', '5', '--steps', '2000',
      '--dt', '0.0025', '--seed', '1', '--backend', 'js', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['trajectories.json', 'trajectories.png', 'trajectories.svg']);
    const t = json(join(out, 'trajectories.json'));
    expect(t.every).toBe(2);
    expect(t.values).toHaveLength(3);
    expect(t.values[0]).toHaveLength(5);
    expect(t.values[0][0]).toHaveLength(1001);
    expect(t.times[1000]).toBeCloseTo(5, 12);
    // ζ = 0.1 and 1 have a density (normalized on the grid), ζ = 2.5 ≥ √3 has none.
    for (const k of [0, 1]) {
      const { theta, density } = t.densities[k];
      const h = theta[1] - theta[0];
      expect(density.reduce((s: number, v: number) => s + v, 0) * h).toBeCloseTo(1, 9);
    }
    expect(t.densities[2].note).toMatch(/no stationary density/);
    // By t = 5 the small-noise paths sit near ±√μ.
    for (const path of t.values[0]) expect(Math.abs(Math.abs(path[1000][0]) - Math.sqrt(1.5))).toBeLessThan(0.2);
    const png = readFileSync(join(out, 'trajectories.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  it('rejects more than 1000 traced paths with exit 2 and no folder', () => {
    const out = dir('traj-bad');
    const r = cli(['trajectories', '--noise', '1', '--paths', '5000', '--backend', 'js', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--paths must be an integer in \[1, 1000\]/);
    expect(existsSync(out)).toBe(false);
  });
});

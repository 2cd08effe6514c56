// The `collapse` CLI under bad input and faults (issue 7): no crash, no silent loss, no silent wrong answer.
// Each describe block is one class of the issue; kills at precise moments use the COLLAPSE_TEST_SIGNAL_AT hook
// and full disks / permissions the COLLAPSE_TEST_FAIL_WRITE hook (src/cli/files.ts).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN } from './helpers/cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'collapse-hard-'));


beforeAll(ensureBuilt);

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run { code: number | null; signal: string | null; stdout: string; stderr: string }

function cli(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: TMP, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

let serial = 0;
const dir = (name: string) => join(TMP, `${name}-${++serial}`);
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const bytes = (path: string) => readFileSync(path);
const files = (d: string) => readdirSync(d).sort();
const RESULT = ['collapse.png', 'collapse.svg', 'result.csv', 'result.json', 'run.json'];
/** The files two runs with the same options must reproduce byte for byte. */
const STABLE = ['collapse.png', 'collapse.svg', 'result.csv', 'result.json'];

/** Six grid points in batches of one: six checkpoints, milliseconds each on the js backend. */
const SMALL = ['sweep', '--noise', '1:3.5:6', '--paths', '16', '--steps', '400', '--record', '100,400', '--seed', '7', '--backend', 'js', '--batch', '1', '--quiet'];
const withSeed = (seed: number) => SMALL.map((a, i) => (SMALL[i - 1] === '--seed' ? String(seed) : a));

/** A clean exit-2 refusal: one message on stderr, no stack trace, nothing on stdout. */
function refused(r: Run, message: RegExp, code = 2): void {
  expect(r.stderr).toMatch(message);
  expect(r.code).toBe(code);
  expect(r.stderr).toMatch(/^collapse: error: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
}

let reference: string;
beforeAll(() => {
  reference = dir('reference');
  expect(cli([...SMALL, '--out', reference]).code).toBe(0);
});

/** Same bytes as the uninterrupted reference run, in every file that does not hold wall-clock time. */
function expectReference(out: string, ref = reference): void {
  expect(files(out)).toEqual(RESULT);
  for (const f of STABLE) expect(bytes(join(out, f)).equals(bytes(join(ref, f))), f).toBe(true);
}

describe('2: a sweep that would be silently wrong is refused', () => {
  it('--sweep of a parameter fixed at build time (neuron m, labelNoise; two-neuron n) is refused naming the sweepable ones', () => {
    for (const [model, param, ok] of [['neuron', 'm', /sweepable parameters are alpha$/m], ['neuron', 'labelNoise', /sweepable parameters are alpha$/m],
      ['two-neuron', 'n', /sweepable parameters are sigma, lr(, \w+)*$/m]] as const) {
      const out = dir('sweep-fixed');
      const r = cli(['sweep', '--model', model, '--sweep', param, '--noise', '4,8', '--paths', '4', '--steps', '20', '--backend', 'js', '--out', out]);
      refused(r, new RegExp(`--sweep ${param}: model '${model}' cannot sweep '${param}'`));
      expect(r.stderr).toMatch(ok);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('a sweepable parameter is really used: --sweep mu gives all-collapsed at mu = -1 and none at mu = 1.5', () => {
    const out = dir('sweep-mu');
    const r = cli(['sweep', '--sweep', 'mu', '--set', 'zeta=0.2', '--noise=-1,1.5', '--paths', '16', '--steps', '2000', '--dt', '0.01',
      '--epsilon', '1e-4', '--backend', 'js', '--quiet', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = json(join(out, 'result.json'));
    expect(result.sweep).toBe('mu');
    expect(result.collapsed).toEqual([[16], [0]]);
  });

  it('--set of the swept parameter, an option given twice and --set NAME twice are refused, not "last wins"', () => {
    const cases: [string[], RegExp][] = [
      [['--set', 'zeta=2'], /--set zeta=2 conflicts with the sweep: 'zeta' is the swept parameter/],
      [['--sweep', 'mu', '--set', 'mu=2'], /--set mu=2 conflicts with the sweep/],
      [['--paths', '16', '--paths', '32'], /option '--paths' is given twice/],
      [['--quiet', '--quiet'], /option '--quiet' is given twice/],
      [['--out', 'a', '--out=b'], /option '--out' is given twice/],
      [['--set', 'mu=1', '--set', 'mu=2'], /--set mu is given twice/],
    ];
    for (const [extra, message] of cases) {
      const out = dir('twice');
      refused(cli(['sweep', '--noise', '1,2', '--steps', '20', '--backend', 'js', ...extra, ...(extra.includes('--out') ? [] : ['--out', out])]), message);
      expect(existsSync(out)).toBe(false);
    }
    refused(cli(['trajectories', '--noise', '1', '--set', 'zeta=1', '--backend', 'js', '--out', dir('traj-set')]), /conflicts with the sweep/);
  });
});

describe('3: results are never lost to another run', () => {
  it('a folder holding a finished sweep is refused without --force (nothing touched); --force replaces it', () => {
    const out = dir('finished');
    cpSync(reference, out, { recursive: true });
    const before = Object.fromEntries(files(out).map((f) => [f, bytes(join(out, f))]));
    refused(cli([...withSeed(8), '--out', out]), /already holds a finished sweep \(result\.json\): add --force/);
    expect(files(out)).toEqual(RESULT);
    for (const f of RESULT) expect(bytes(join(out, f)).equals(before[f])).toBe(true);
    const forced = cli([...withSeed(8), '--out', out, '--force']);
    expect(forced.code).toBe(0);
    expect(json(join(out, 'result.json')).seed).toBe(8);
    refused(cli([...SMALL, '--out', out, '--force', '--resume']), /--resume and --force contradict/);
  });

  it('trajectories: an existing trajectories.json is refused without --force', () => {
    const out = dir('traj');
    const args = ['trajectories', '--noise', '1', '--paths', '2', '--steps', '50', '--backend', 'js', '--quiet', '--out', out];
    expect(cli(args).code).toBe(0);
    refused(cli(args), /already holds trajectories \(trajectories\.json\): add --force/);
    expect(cli([...args, '--force']).code).toBe(0);
    expect(files(out)).toEqual(['trajectories.json', 'trajectories.png', 'trajectories.svg']);
  });

  it('a folder locked by a live run is refused, even with --force or --resume; a dead run\'s lock is taken over', () => {
    const out = dir('locked');
    mkdirSync(out);
    // This test process is alive: its pid in the lock stands for a running sweep.
    writeFileSync(join(out, '.collapse.lock'), JSON.stringify({ pid: process.pid, host: hostname(), started: 'now' }));
    for (const extra of [[], ['--force'], ['--resume']]) {
      refused(cli([...SMALL, '--out', out, ...extra]), new RegExp(`is in use by another collapse run \\(pid ${process.pid}`));
    }
    expect(files(out)).toEqual(['.collapse.lock']); // untouched
    // A lock left by a process that no longer exists (SIGKILL, power loss) does not block.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(join(out, '.collapse.lock'), JSON.stringify({ pid: Number(dead), host: hostname(), started: 'then' }));
    expect(cli([...SMALL, '--out', out]).code).toBe(0);
    expectReference(out);
  });

  it('of two sweeps started together into one folder, exactly one writes; the other is refused', async () => {
    const out = dir('race');
    const start = (seed: number) => new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, [MAIN, ...withSeed(seed), '--out', out], { cwd: TMP });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
    const [a, b] = await Promise.all([start(11), start(12)]);
    const codes = [a.code, b.code].sort();
    expect(codes).toEqual([0, 2]);
    const loser = a.code === 2 ? a : b;
    expect(loser.stderr).toMatch(/in use by another collapse run|already holds a finished sweep|holds an unfinished sweep/);
    expect(json(join(out, 'result.json')).seed).toBe(a.code === 0 ? 11 : 12);
    expect(files(out)).toEqual(RESULT);
  });
});

describe('4: the user\'s input and environment are reported as such, before anything is written', () => {
  it('--out empty, a file, under a file: exit 2 naming the path, no folder', () => {
    const file = join(TMP, `a-file-${++serial}`);
    writeFileSync(file, 'x');
    refused(cli([...SMALL, '--out', '']), /--out is empty/);
    refused(cli([...SMALL, '--out', file]), /--out .*a-file-\d+ exists and is not a folder/);
    refused(cli([...SMALL, '--out', join(file, 'sub', 'deeper')]), /cannot be created: .*a-file-\d+ is a file, not a folder/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('a read-only folder: exit 2 naming the path and what to do', () => {
    const parent = dir('readonly');
    mkdirSync(parent);
    if (process.getuid?.() !== 0) {
      chmodSync(parent, 0o555);
      try {
        refused(cli([...SMALL, '--out', join(parent, 'x')]), /permission denied \(EACCES\)[\s\S]*pick another --out, or make the folder writable/);
      } finally {
        chmodSync(parent, 0o755);
      }
    }
    // As root, permissions do not apply: the same refusal from an injected EACCES on the first write.
    const out = join(parent, 'y');
    refused(cli([...SMALL, '--out', out], { COLLAPSE_TEST_FAIL_WRITE: 'checkpoint.json=EACCES' }), /cannot write .*checkpoint\.json: permission denied \(EACCES\)/);
    expect(existsSync(out)).toBe(false);
  });

  it('a full disk: exit 74 with what to do, nothing half-written, and --resume completes once there is space', () => {
    for (const name of ['checkpoint.json', 'collapse.png']) {
      const out = dir('full');
      const r = cli([...SMALL, '--out', out], { COLLAPSE_TEST_FAIL_WRITE: `${name}=ENOSPC` });
      refused(r, new RegExp(`cannot write .*${name.replace('.', '\\.')}: no space left on the device \\(ENOSPC\\)[\\s\\S]*free some space`), 74);
      if (name === 'checkpoint.json') {
        expect(existsSync(out)).toBe(false); // the very first write failed: the folder is gone again
      } else {
        expect(files(out)).toEqual(['checkpoint.json']); // all grid points kept; no temporary files
        expect(cli([...SMALL, '--out', out, '--resume']).code).toBe(0);
        expectReference(out);
      }
    }
  });

  it('--steps and --record past what the backends count (2^32 - 1) are refused before anything is written', () => {
    const out = dir('steps');
    refused(cli(['sweep', '--noise', '1', '--paths', '1', '--steps', '4294967296', '--record', '1', '--backend', 'js', '--out', out]), /--steps must be an integer in \[1, 4294967295\]/);
    refused(cli(['sweep', '--noise', '1', '--paths', '1', '--steps', '10', '--record', '4294967296', '--backend', 'js', '--out', out]), /--record must be an integer in \[0, 4294967295\]/);
    refused(cli(['trajectories', '--noise', '1', '--steps', '4294967296', '--backend', 'js', '--out', out]), /--steps must be an integer in \[1, 4294967295\]/);
    expect(existsSync(out)).toBe(false);
  });

  it('stdout on a full device or closed early: a one-line note or nothing, never a stack trace', async () => {
    if (existsSync('/dev/full')) {
      for (const args of [['models'], ['--help'], [...SMALL.filter((a) => a !== '--quiet'), '--out', dir('devfull')]]) {
        const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: TMP, encoding: 'utf8', stdio: ['ignore', openFull(), 'pipe'] });
        expect(r.stderr).toBe('collapse: could not write to stdout (ENOSPC)\n');
        expect(r.status).toBe(1);
      }
    }
    // The reader goes away before the first byte: EPIPE, a quiet exit.
    const child = spawn(process.execPath, [MAIN, 'models'], { cwd: TMP, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

const openFull = () => openSync('/dev/full', 'w');

describe('5: a checkpoint is checked in full before it is used', () => {
  let stopped: string;
  beforeAll(() => {
    stopped = dir('stopped');
    expect(cli([...SMALL, '--out', stopped], { COLLAPSE_STOP_AFTER_BATCHES: '3' }).code).toBe(130);
  });

  /** Edits a copy of the checkpoint; `reseal` recomputes the checksum, as a careful forger would. */
  function edited(edit: (cp: { parts: Record<string, unknown>[] } & Record<string, unknown>) => void, reseal: boolean): string {
    const out = dir('edited');
    cpSync(stopped, out, { recursive: true });
    const path = join(out, 'checkpoint.json');
    const cp = json(path);
    edit(cp);
    if (reseal) cp.sha256 = createHash('sha256').update(JSON.stringify({ problem: cp.problem, parts: cp.parts })).digest('hex');
    writeFileSync(path, JSON.stringify(cp));
    return out;
  }

  it.each([
    ['an edited count (checksum kept)', (cp) => { (cp.parts[1].collapsed as number[][])[0][0] = 3; }, false, /does not match its checksum \(it was edited or damaged\)/],
    ['a count past --paths', (cp) => { (cp.parts[1].collapsed as number[][])[0][0] = 99_999; }, true, /part 1 has counts that are not integers in \[0, 16\]/],
    ['collapsed + diverged past --paths', (cp) => { (cp.parts[0].collapsed as number[][])[0][0] = 10; (cp.parts[0].diverged as number[][])[0][0] = 10; }, true, /counts more collapsed plus diverged paths than 16/],
    ['a missing field (valid JSON, wrong shape)', (cp) => { delete cp.parts[0].collapsed; }, true, /part 0 has counts that are not/],
    ['parts that are not an array', (cp) => { cp.parts = 'x' as never; }, true, /lacks its problem or its parts/],
    ['a duplicated part', (cp) => { cp.parts.push(cp.parts[0]); }, true, /parts 0 and 3 both hold grid point 0/],
    ['a part moved on the grid', (cp) => { cp.parts[0].gridStart = 5; }, true, /part 0 has noise values that are not the grid's at 5/],
    ['a part with other paths', (cp) => { cp.parts[2].paths = 8; }, true, /part 2 has paths 8, not 16/],
    ['another version', (cp) => { cp.version = 1; }, true, /has version 1; this collapse reads version 2/],
  ] as [string, (cp: { parts: Record<string, unknown>[] } & Record<string, unknown>) => void, boolean, RegExp][])(
    'refuses %s with exit 2 before computing anything, and leaves it in place', (_, edit, reseal, message) => {
      const out = edited(edit, reseal);
      const before = bytes(join(out, 'checkpoint.json'));
      refused(cli([...SMALL, '--out', out, '--resume']), message);
      expect(files(out)).toEqual(['checkpoint.json']);
      expect(bytes(join(out, 'checkpoint.json')).equals(before)).toBe(true);
    });

  it('refuses a truncated checkpoint; --force starts over', () => {
    const out = dir('truncated');
    cpSync(stopped, out, { recursive: true });
    const path = join(out, 'checkpoint.json');
    writeFileSync(path, readFileSync(path, 'utf8').slice(0, 200));
    refused(cli([...SMALL, '--out', out, '--resume']), /is not readable JSON/);
    expect(cli([...SMALL, '--out', out, '--force']).code).toBe(0);
    expectReference(out);
  });
});

describe('6: a signal at any moment leaves the old consistent state or the new one', () => {
  // Moments: the first checkpoint half-written (temporary file, not renamed), a later one, just renamed; the result
  // commit with its journal written, halfway through its renames, and done.
  const moments = ['tmp:checkpoint.json#1', 'tmp:checkpoint.json#3', 'renamed:checkpoint.json#4', 'tmp:result.json', 'journal',
    'renamed:result.csv', 'renamed:run.json'];

  it.each(moments)('SIGINT at %s: exit 130 with a resumable checkpoint, or 0 with the whole result; never a mix', (moment) => {
    const out = dir('sigint');
    const r = cli([...SMALL, '--out', out], { COLLAPSE_TEST_SIGNAL_AT: moment });
    expect(r.stderr).not.toMatch(/\n\s+at /);
    if (r.code === 130) {
      expect(files(out)).toEqual(['checkpoint.json']); // no temporary file, no lock, no result
      expect(cli([...SMALL, '--out', out, '--resume']).code).toBe(0);
    } else {
      expect(r.code).toBe(0); // the signal came during the synchronous commit: it completes first
    }
    expectReference(out);
  });

  it.each(moments)('SIGKILL at %s: the next run finds either the old state or the new one, and finishes identically', (moment) => {
    const out = dir('sigkill');
    const r = cli([...SMALL, '--out', out], { COLLAPSE_TEST_SIGNAL_AT: `${moment}=SIGKILL` });
    expect(r.signal).toBe('SIGKILL');
    const visible = files(out);
    const next = cli([...SMALL, '--out', out, ...(visible.includes('checkpoint.json') && !existsSync(join(out, '.commit.json')) ? ['--resume'] : [])]);
    if (existsSync(join(out, 'result.json')) && next.code === 2) {
      expect(next.stderr).toMatch(/already holds a finished sweep/); // the commit was rolled forward
    } else {
      expect(next.code).toBe(0);
    }
    expectReference(out); // also: no lock, no journal, no temporary file is left
  });

  it('replacing a result with --force, killed mid-commit: the old files stay whole, or the new ones are completed', () => {
    const reference8 = dir('ref8');
    expect(cli([...withSeed(8), '--out', reference8]).code).toBe(0);
    for (const moment of ['tmp:result.json', 'journal', 'renamed:result.json', 'renamed:collapse.svg']) {
      const out = dir('replace');
      cpSync(reference, out, { recursive: true });
      expect(cli([...withSeed(8), '--out', out, '--force'], { COLLAPSE_TEST_SIGNAL_AT: `${moment}=SIGKILL` }).signal).toBe('SIGKILL');
      // Any later run into the folder first completes (or drops) the interrupted step, then decides.
      refused(cli([...SMALL, '--out', out]), /already holds a finished sweep|holds an unfinished sweep/);
      const seed = json(join(out, 'result.json')).seed;
      expect(files(out)).toEqual(existsSync(join(out, 'checkpoint.json')) ? ['checkpoint.json', ...RESULT].sort() : RESULT);
      expectReferenceFiles(out, seed === 8 ? reference8 : reference);
    }
  });
});

function expectReferenceFiles(out: string, ref: string): void {
  for (const f of STABLE) expect(bytes(join(out, f)).equals(bytes(join(ref, f))), f).toBe(true);
}

describe('7: result files do not depend on the clock', () => {
  it('two runs with the same options write the same bytes; timings go to run.json', () => {
    const out = dir('again');
    expect(cli([...SMALL, '--out', out]).code).toBe(0);
    expectReference(out);
    const result = json(join(out, 'result.json'));
    expect(result.elapsedSeconds).toBeUndefined();
    expect(result.pathStepsPerSecond).toBeUndefined();
    const run = json(join(out, 'run.json'));
    expect(run.command).toBe('collapse sweep');
    expect(run.backend).toBe('js');
    expect(run.computeSeconds).toBeGreaterThan(0);
    expect(Date.parse(run.finished)).toBeGreaterThan(0);
  });
});

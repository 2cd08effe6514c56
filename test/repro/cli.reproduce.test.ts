// `collapse reproduce`, spawned as users run it: help, refusals of bad input (exit 2, nothing written), the files
// of a run, Ctrl-C and --resume (the resumed result equals an uninterrupted one), `all` with its index.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN } from '../helpers/cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'collapse-repro-'));
beforeAll(ensureBuilt);
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [MAIN, 'reproduce', ...args], { cwd: TMP, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = (name: string) => join(TMP, name);
const read = (path: string) => readFileSync(path, 'utf8');

/** Seconds-long settings of each reproduction (too small for its verdicts: this checks the command, not the science). */
const TINY: Record<string, string[]> = {
  fig1: ['zeta=1.5,2,2.5', 'paths=50', 'steps=4000', 'record=2000,4000', 'trajectoryPaths=5', 'trajectorySteps=1000'],
  fig2: ['alpha=0.5,1.5', 'paths=20', 'record=500,1000', 'landscapeSteps=1000', 'landscapePaths=4', 'lyapunovPaths=20'],
  fig5: ['seeds=4', 'steps=2000', 'dropStep=1500'],
  toy: ['steps=500', 'seeds=2', 'lrs=0.1,0.5', 'sigmas=0,0.1'],
  fig3: ['steps=50', 'batch=8', 'warmup=10'],
  fig4: ['lrs=0.005', 'noises=0', 'lrSteps=50', 'noiseSteps=50', 'batch=8', 'warmup=10'],
  fig6: ['drops=50,100', 'phase2Steps=50', 'phase2Decay=0', 'batch=8', 'warmup=10', 'replicates=1'],
};
const sets = (name: string, qualified = false) => TINY[name].flatMap((s) => ['--set', qualified ? `${name}.${s}` : s]);

describe('collapse reproduce: help and bad input', () => {
  it('--help, help reproduce and list describe every reproduction and its settings', () => {
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    for (const text of ['fig1', 'fig2', 'fig3', 'fig4', 'fig5', 'fig6', 'toy', '--scale', '--set', '--data-dir', '--resume', 'report.md', 'index.html']) expect(help.stdout).toContain(text);
    expect(spawnSync(process.execPath, [MAIN, 'help', 'reproduce'], { encoding: 'utf8' }).stdout).toBe(help.stdout);
    const list = cli(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/fig1 +Fig\. 1[\s\S]*zeta +quick 0:3:61, paper 0:3:100/);
    const json = JSON.parse(cli(['list', '--json']).stdout) as { name: string; settings: Record<string, unknown> }[];
    expect(json.map((r) => r.name)).toEqual(['fig1', 'fig2', 'fig3', 'fig4', 'fig5', 'fig6', 'toy']);
  });

  it.each([
    [['fig9'], /unknown reproduction 'fig9'; the reproductions are fig1, fig2, fig3, fig4, fig5, fig6, toy/],
    [['fig3', '--set', 'data=imagenet'], /one of mnist, cifar10, cifar100/],
    [['fig3', '--data-dir', '/nonexistent/cifar'], /--data-dir \/nonexistent\/cifar does not exist/],
    [['fig1', '--scale', 'huge'], /--scale must be quick or paper; got 'huge'/],
    [['fig1', '--set', 'pathz=3'], /fig1 has no setting 'pathz'; its settings are mu, zeta, paths/],
    [['fig1', '--set', 'paths=many'], /--set paths must be a number; got 'many'/],
    [['fig1', '--set', 'paths=2.5'], /paths.*an integer/],
    [['fig1', '--set', 'paths=3'], /≥ 10/],
    [['fig1', '--set', 'zeta=1:2'], /not a linspace/],
    [['all', '--set', 'paths=300'], /with 'all', name the reproduction: --set fig1.paths=300/],
    [['fig1', '--set', 'fig2.paths=300'], /'fig2' is not the reproduction being run/],
    [['fig1', '--resume', '--force'], /contradict/],
    [['fig1', '--backend', 'gpu'], /--backend must be one of auto, webgpu, native, js/],
    [['fig1', '--seed', '-1'], /--seed/],
    [['--out', 'x'], /needs what to reproduce first/],
    [['fig1', '--frobnicate'], /unknown option '--frobnicate'/],
  ])('%j exits 2 with a message and writes nothing', (args, message) => {
    const out = dir(`bad-${(args as string[]).join('_').replace(/[^\w]/g, '')}`);
    const r = cli([...(args as string[]), '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).toMatch(/^collapse: error: /);
    expect(existsSync(out)).toBe(false);
  });
});

describe('collapse reproduce: a run', () => {
  it('writes the report, result.json, run.json, the figures and the data; a second run needs --force', () => {
    const out = dir('toy');
    const r = cli(['toy', ...sets('toy'), '--backend', 'native', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Appendix toy \(toy\): \d+ of \d+ claims reproduced/);
    expect(readdirSync(out).sort()).toEqual(['report.md', 'result.json', 'run.json', 'toy-distance.png', 'toy-distance.svg', 'toy-distances.csv']);
    const report = read(join(out, 'report.md'));
    expect(report).toContain(`| Command | \`collapse reproduce toy --set steps=500 --set seeds=2 --set lrs=0.1,0.5 --set sigmas=0,0.1 --backend native --out ${out}\` |`);
    expect(report).toMatch(/\| Backend \| native — /);
    expect(report).toMatch(/\| Wall time \| [\d.]+ s/);
    expect(report).toContain('| Scale | quick, with steps=500, seeds=2, lrs=0.1,0.5, sigmas=0,0.1 |');
    expect(report).toContain('![‖w₁ − w₂‖² over SGD steps](toy-distance.png)');
    const result = JSON.parse(read(join(out, 'result.json')));
    expect(result).toMatchObject({ kind: 'collapse-reproduction', name: 'toy', scale: 'quick', seed: 1, backend: 'native' });
    expect(result.claims.length).toBeGreaterThan(3);
    for (const c of result.claims) expect(['reproduced', 'partly reproduced', 'not reproduced', 'inconclusive']).toContain(c.verdict);
    expect(JSON.parse(read(join(out, 'run.json'))).wallSeconds).toBeGreaterThan(0);
    expect(read(join(out, 'toy-distances.csv')).split('\n')[0]).toBe('sweep,value,seed,step,distance2');

    const again = cli(['toy', ...sets('toy'), '--backend', 'native', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a finished reproduction \(result\.json\): add --force/);
    expect(cli(['toy', ...sets('toy'), '--backend', 'native', '--out', out, '--force', '--quiet']).code).toBe(0);
    expect(JSON.parse(read(join(out, 'result.json')))).toEqual(result);
  });

  it('stops after a stage with exit 130, refuses to start over it, and --resume gives the uninterrupted result', () => {
    const out = dir('fig1-stopped'), fresh = dir('fig1-fresh');
    const args = ['fig1', ...sets('fig1'), '--backend', 'native'];
    const stopped = cli([...args, '--out', out], { COLLAPSE_STOP_AFTER_STAGES: '1' });
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/interrupted: the finished stages are kept in .*checkpoint\.json; continue with the same command plus --resume/);
    expect(readdirSync(out)).toEqual(['checkpoint.json']);
    expect(cli([...args, '--out', out]).stderr).toMatch(/holds an unfinished reproduction \(checkpoint\.json\): add --resume/);
    const changed = cli(['fig1', ...sets('fig1').map((s) => s.replace('paths=50', 'paths=60')), '--backend', 'native', '--out', out, '--resume']);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/differs from the checkpoint's \(settings: paths was 50, now 60\)/);
    const resumed = cli([...args, '--out', out, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(existsSync(join(out, 'checkpoint.json'))).toBe(false);
    expect(read(join(out, 'report.md'))).toMatch(/resumed: 1 stage came from the checkpoint/);
    expect(cli([...args, '--out', fresh, '--quiet']).code).toBe(0);
    expect(read(join(out, 'result.json'))).toBe(read(join(fresh, 'result.json')));
    expect(read(join(out, 'fig1-collapse.csv'))).toBe(read(join(fresh, 'fig1-collapse.csv')));
    expect(cli([...args, '--out', fresh, '--resume']).stderr).toMatch(/no checkpoint in .*already finished/);
  });

  it('Ctrl-C (SIGINT) during the Fig. 5 training keeps its state; --resume continues it to the uninterrupted numbers', async () => {
    const out = dir('fig5-sigint'), fresh = dir('fig5-fresh');
    const args = ['fig5', '--set', 'seeds=32', '--set', 'steps=30000', '--set', 'dropStep=25000', '--backend', 'native'];
    const child = spawn(process.execPath, [MAIN, 'reproduce', ...args, '--out', out], { cwd: TMP });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(join(out, 'checkpoint.json'))) { clearInterval(poll); child.kill('SIGINT'); }
      }, 20);
      child.on('exit', (c) => { clearInterval(poll); resolve(c); });
    });
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/Ctrl-C: stopping; finished stages are kept/);
    const saved = JSON.parse(read(join(out, 'checkpoint.json')));
    expect(saved.state.train.step).toBeGreaterThan(0);
    expect(existsSync(join(out, 'report.md'))).toBe(false);
    expect(cli([...args, '--out', out, '--resume', '--quiet']).code).toBe(0);
    expect(cli([...args, '--out', fresh, '--quiet']).code).toBe(0);
    expect(read(join(out, 'result.json'))).toBe(read(join(fresh, 'result.json')));
    expect(read(join(out, 'fig5-losses.csv'))).toBe(read(join(fresh, 'fig5-losses.csv')));
  });

  it('all: every reproduction in its folder, then index.md and a self-contained index.html; --resume keeps what is done', () => {
    const out = dir('all');
    const args = ['all', ...Object.keys(TINY).flatMap((n) => sets(n, true)), '--backend', 'native', '--out', out];
    const r = cli(args);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['fig1', 'fig2', 'fig3', 'fig4', 'fig5', 'fig6', 'index.html', 'index.md', 'toy']);
    for (const name of Object.keys(TINY)) expect(existsSync(join(out, name, 'report.md'))).toBe(true);
    const md = read(join(out, 'index.md'));
    for (const text of ['| Fig. 1 |', '| Fig. 2 |', '| Fig. 3 |', '| Fig. 4 |', '| Fig. 5 |', '| Fig. 6 |', '| Appendix toy |', '(fig1/report.md)', '![', 'fig5/fig5-loss.png']) expect(md).toContain(text);
    const html = read(join(out, 'index.html'));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect((html.match(/src="data:image\/png;base64,/g) ?? []).length).toBe(15);
    expect(html).toContain('href="fig2/report.md"');
    const report = read(join(out, 'fig1', 'report.md'));
    expect(report).toContain(`--out ${join(out, 'fig1')}`);

    const again = cli([...args, '--resume']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.match(/already finished in .*, kept/g)?.length).toBe(7);
    expect(cli(args).stderr).toMatch(/already holds a finished reproduction/);
  });
});

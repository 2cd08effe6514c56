/**
 * The paper's reproductions at a smaller scale, through the library on the native backend: each claim the
 * small run can decide agrees with the theory within the tolerances its report states (seeded: the same
 * numbers every run), a resumed run equals an uninterrupted one, and bad settings are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { CollapseError } from '../../src/errors.js';
import { matrix, multiply, orthonormalColumns, svd } from '../../src/repro/linalg.js';
import { REPRODUCTIONS } from '../../src/repro/registry.js';
import { renderReport, resultJson } from '../../src/repro/report.js';
import { reproduce, resolveSettings, type ReproCheckpoint, type ReproResult } from '../../src/repro/run.js';
import { logistic, teacherStudentData } from '../../src/repro/fig5.js';
import type { Claim } from '../../src/repro/types.js';

let engine: Engine;
beforeAll(async () => { engine = await createEngine({ backend: 'native' }); });
afterAll(() => engine?.close());

const verdicts = (r: ReproResult) => Object.fromEntries(r.claims.map((c) => [c.id, c.verdict]));
const byId = (r: ReproResult, id: string): Claim => r.claims.find((c) => c.id === id)!;
const runInfo = { command: 'test', version: '0', node: process.version, backend: 'native', device: 'cpu', reason: 'test', wallSeconds: 1, finished: 'now' };

/** A small Fig. 1: 9 values of ζ × 300 paths to t = 100 (1.1·10⁸ path-steps). */
const FIG1_SMALL = { zeta: [1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3], paths: 300, steps: 40_000, record: [10_000, 20_000, 40_000] };

describe('fig1 at a small scale', () => {
  let r: ReproResult;
  beforeAll(async () => { r = await reproduce(engine, 'fig1', { set: FIG1_SMALL }); });

  it('every claim is reproduced: the finite-time law, the threshold, far from it, the stationary law, the collapse', () => {
    expect(verdicts(r)).toEqual({
      'finite-time-law': 'reproduced', threshold: 'reproduced', 'far-from-threshold': 'reproduced',
      'stationary-density': 'reproduced', 'trajectories-collapse': 'reproduced',
    });
  });

  it('the P = ½ crossings lie above ζ_c = √3, move toward it, and match the finite-time theory within 0.13', () => {
    const crossings = r.measured.crossings as { monteCarlo: number; theory: number }[];
    expect(crossings).toHaveLength(3);
    crossings.forEach((c, i) => {
      expect(c.monteCarlo).toBeGreaterThan(Math.sqrt(3) - 0.05);
      expect(Math.abs(c.monteCarlo - c.theory)).toBeLessThan(0.13); // half the grid spacing (0.125) + the theory's own 0.005
      if (i > 0) expect(c.monteCarlo).toBeLessThan(crossings[i - 1].monteCarlo);
    });
  });

  it('E θ² of the trajectory panels below ζ_c is μ − ζ²/2 within 4 standard errors + 1 %', () => {
    for (const st of r.measured.stationary as { zeta: number; meanTheta2: number; se: number; theory: number }[]) {
      expect(Math.abs(st.meanTheta2 - st.theory)).toBeLessThanOrEqual(4 * st.se + 0.01 * st.theory);
    }
  });

  it('writes figures, data and a report naming the command, backend, claims and settings', () => {
    expect(r.figures.map((f) => f.name)).toEqual(['fig1-trajectories', 'fig1-collapse']);
    for (const f of r.figures) {
      expect(f.svg.startsWith('<svg')).toBe(true);
      expect(Buffer.from(f.png.subarray(1, 4)).toString()).toBe('PNG');
    }
    const md = renderReport(r, runInfo);
    for (const text of ['# Fig. 1', '| Command | `test` |', '## Claims', '## Settings', '## Where this differs', 'fig1-collapse.csv', '![']) expect(md).toContain(text);
    expect(r.files.find((f) => f.name === 'fig1-collapse.csv')?.content).toMatch(/^noise,step,time,paths,collapsed/);
  });

  it('is deterministic: the same seed and settings give the same result.json', async () => {
    const again = await reproduce(engine, 'fig1', { set: FIG1_SMALL });
    expect(JSON.stringify(resultJson(again))).toBe(JSON.stringify(resultJson(r)));
  });

  it('an interrupted run resumed from its checkpoint gives exactly the uninterrupted result', async () => {
    const controller = new AbortController();
    let checkpoint: ReproCheckpoint | undefined;
    let saves = 0;
    await expect(reproduce(engine, 'fig1', {
      set: FIG1_SMALL, signal: controller.signal,
      onCheckpoint: (c) => { checkpoint = JSON.parse(JSON.stringify(c)) as ReproCheckpoint; if (++saves === 1) controller.abort(); },
    })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(Object.keys(checkpoint!.stages)).toEqual(['trajectories']);
    const stages: string[] = [];
    const resumed = await reproduce(engine, 'fig1', { set: FIG1_SMALL, resume: checkpoint, onProgress: (p) => stages.push(p.stage) });
    expect(resumed.resumedStages).toBe(1);
    expect(stages.some((s) => s.startsWith('trajectory'))).toBe(false);
    expect(JSON.stringify(resultJson(resumed))).toBe(JSON.stringify(resultJson(r)));
  });
});

describe('fig2 at a small scale', () => {
  let r: ReproResult;
  beforeAll(async () => {
    r = await reproduce(engine, 'fig2', { set: {
      alpha: [0.3, 0.6, 0.8, 0.9, 1, 1.1, 1.3, 1.6, 2], paths: 120, record: [3030, 7071, 15152, 31313],
      landscapeSteps: 30_000, landscapePaths: 8, lyapunovPaths: 400,
    } });
  }, 300_000);

  it('the crossing at the last record lies within ±0.1 of r = Σxy/Σx², and the transition narrows', () => {
    expect(byId(r, 'threshold').verdict).toBe('reproduced');
    const c = (r.measured.crossings as { alpha: number }[]).at(-1)!.alpha;
    expect(Math.abs(c - (r.measured.r as number))).toBeLessThanOrEqual(0.1);
  });

  it('above threshold ln‖w‖ decays at the scheme\'s Lyapunov exponent along w₁ + w₂ (within 4 SE + 5 %)', () => {
    expect(byId(r, 'lyapunov').verdict).toBe('reproduced');
    for (const l of r.measured.lyapunov as { measured: number; theory: number }[]) expect(Math.abs(l.measured / l.theory - 1)).toBeLessThan(0.15);
  });

  it('small noise leaves the weights on the low-loss branches, large noise at the origin', () => {
    expect(byId(r, 'final-weights').verdict).toBe('reproduced');
  });
});

describe('fig5 at a smaller scale (64 seeds, drop at step 25 000)', () => {
  let r: ReproResult;
  beforeAll(async () => { r = await reproduce(engine, 'fig5', { set: { seeds: 64, steps: 30_000, dropStep: 25_000 } }); }, 300_000);

  it('survivors sit at ŝ* − ησ²/2, collapsed modes fall at the Lyapunov rate, survivors regrow after the drop', () => {
    expect(byId(r, 'soft-threshold').verdict).toBe('reproduced');
    expect(byId(r, 'collapse').verdict).toBe('reproduced');
    expect(byId(r, 'regrowth').verdict).toBe('reproduced');
  });

  it('the training loss rises with σ; the σ = 20 test loss is below the σ = 0 one (the pruned noise modes)', () => {
    const train = (r.measured.trainLoss as { value: number }[]).map((x) => x.value);
    const test = (r.measured.testLoss as { value: number }[]).map((x) => x.value);
    for (let i = 1; i < train.length; i++) expect(train[i]).toBeGreaterThan(train[i - 1]);
    expect(test[4]).toBeLessThan(0.8 * test[0]);
    // the paper's normalised values (0.46 … 0.496) come from the same distributions: within 3 %
    expect(train[0]).toBeGreaterThan(0.46 * 0.97);
    expect(train[4]).toBeLessThan(0.496 * 1.03);
  });
});

describe('toy (the paper\'s scale: 10 runs × 8 seeds × 10 000 steps)', () => {
  let r: ReproResult;
  beforeAll(async () => { r = await reproduce(engine, 'toy'); }, 300_000);

  it('no merge without noise; with noise the neurons merge, faster for larger lr and σ, at the paper\'s point; lr 0.5 is unstable', () => {
    const v = verdicts(r);
    for (const id of ['no-noise', 'collapse', 'faster', 'merge-point', 'unstable', 'invariant-set']) expect(v[id], id).toBe('reproduced');
  });
});

describe('the teacher–student data and the host linear algebra', () => {
  it('orthonormal inputs, the SVD reconstructs, ŝ* descending; the skeleton solves its ODE', () => {
    const d = teacherStudentData(3, 256, 16, 16, [0.5, 0.75, 1], 0.5);
    expect(d.orthogonality).toBeLessThan(1e-12);
    expect([...d.sStar]).toEqual([...d.sStar].sort((a, b) => b - a));
    const a = orthonormalColumns(matrix(5, 5, Array.from({ length: 25 }, (_, i) => Math.sin(i * 1.7) + (i % 6 === 0 ? 2 : 0))));
    const { u, s, v } = svd(a);
    expect([...s].every((x) => Math.abs(x - 1) < 1e-12)).toBe(true); // an orthogonal matrix has unit singular values
    const us = multiply(u, matrix(5, 5, Array.from({ length: 25 }, (_, i) => (i % 6 === 0 ? s[i / 6] : 0))));
    const back = multiply(us, v, false, true);
    back.data.forEach((x, i) => expect(x).toBeCloseTo(a.data[i], 12));
    // ds/dt = −2s(s − s̃): check by a central difference
    const f = (t: number) => logistic(0.8, 3 / 1024, 10, 1, t);
    const st = 0.8 - (3 / 1024) * 50, t = 7, h = 1e-5;
    expect((f(t + h) - f(t - h)) / (2 * h)).toBeCloseTo(-2 * f(t) * (f(t) - st), 8);
  });
});

describe('settings', () => {
  it('the quick and paper scales are complete and valid for every reproduction', () => {
    for (const repro of Object.values(REPRODUCTIONS)) {
      for (const scale of ['quick', 'paper'] as const) {
        const s = resolveSettings(repro, scale);
        expect(Object.keys(s).sort()).toEqual(Object.keys(repro.settings).sort());
        expect(repro.plan(s).length).toBeGreaterThan(0);
      }
    }
  });

  it('refuses an unknown reproduction, an unknown setting, a value of the wrong kind, a bad scale or seed', async () => {
    const refused = async (p: Promise<unknown>, pattern: RegExp) => {
      const error = await p.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(CollapseError);
      expect((error as CollapseError).code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toMatch(pattern);
    };
    await refused(reproduce(engine, 'fig9'), /reproduction must be one of fig1, fig2, fig3, fig4, fig5, fig6, toy/);
    await refused(reproduce(engine, 'fig1', { set: { pathz: 3 } }), /one of mu, zeta, paths/);
    await refused(reproduce(engine, 'fig1', { set: { paths: 2.5 } }), /paths.*an integer/);
    await refused(reproduce(engine, 'fig1', { set: { paths: 1 } }), /≥ 10/);
    await refused(reproduce(engine, 'fig1', { set: { zeta: [] } }), /non-empty list/);
    await refused(reproduce(engine, 'toy', { set: { data: 'mine' } }), /one of paper, seed/);
    await refused(reproduce(engine, 'fig1', { scale: 'huge' as never }), /'quick' or 'paper'/);
    await refused(reproduce(engine, 'fig1', { seed: -1 }), /seed/);
  });
});

/**
 * Fig. 1: the quartic SDE dθ = (μθ − θ³)dt + ζθ dB (PAPER.md §2.2, §3 Fig. 1). Left: sampled trajectories at
 * three noise levels with the stationary densities. Right: the collapse probability P(θ_t² < ε) against ζ at
 * four times, with ζ_c = √(2μ) and the finite-time theory (the Fokker–Planck law of ln|θ| for the scheme run).
 */
import { quarticSidePanel } from '../cli/trajectories.js';
import { collapseFigure } from '../plot/collapse.js';
import { fmt } from '../plot/render.js';
import { trajectoriesFigure } from '../plot/trajectories.js';
import type { CollapseResult } from '../sde/types.js';
import { resultCsv } from '../cli/sweep.js';
import { collapseStage, stagedSweep, sweepPlan } from './staged.js';
import { binomialSe, claim, crossing, csv, linspace, mean, num, nums, sem, table, verdictOf } from './stats.js';
import type { Claim, Reproduction, Settings } from './types.js';

/** The paper's reading of its own figure: where P = ½ at steps 10k, 20k, 40k, 80k (PAPER.md §3, [nb-out]). */
const PAPER_CROSSINGS: Record<number, number> = { 10_000: 2.4, 20_000: 2.1, 40_000: 1.9, 80_000: 1.8 };
/** Grid points per checkpointed stage of the sweep. */
const PER_STAGE = 8;
/** Collapse threshold of the trajectory panels: |θ| < 10⁻², i.e. at 0 on the figure's scale. */
const VISUAL_EPSILON = 1e-4;

const n = (s: Settings, k: string) => s[k] as number;
const list = (s: Settings, k: string) => s[k] as number[];

export const fig1: Reproduction = {
  name: 'fig1',
  figure: 'Fig. 1',
  title: 'Quartic SDE: collapse onto θ = 0 when ζ > √(2μ)',
  summary: 'dθ = (μθ − θ³)dt + ζθ dB: trajectories with stationary densities, and P(θ² < ε) against ζ at four times',
  settings: {
    mu: { description: 'μ (minus the curvature at the origin)', kind: 'number', quick: 1.5, paper: 1.5, min: 0.01 },
    zeta: { description: 'ζ grid of the collapse-probability panel', kind: 'list', quick: linspace(0, 3, 61), paper: linspace(0, 3, 100), min: 0 },
    paths: { description: 'paths per ζ of the collapse-probability panel', kind: 'integer', quick: 1000, paper: 1000, min: 10 },
    steps: { description: 'Euler–Maruyama steps of the collapse-probability panel', kind: 'integer', quick: 80_000, paper: 80_000, min: 1 },
    record: { description: 'steps at which P(θ² < ε) is counted', kind: 'integers', quick: [10_000, 20_000, 40_000, 80_000], paper: [10_000, 20_000, 40_000, 80_000], min: 1 },
    dt: { description: 'step h (the paper: T/steps = 25/10 000)', kind: 'number', quick: 0.0025, paper: 0.0025, min: 1e-6 },
    epsilon: { description: 'collapse threshold on θ²', kind: 'number', quick: 1e-30, paper: 1e-30, min: 1e-37 },
    trajectoryZeta: { description: 'ζ of the trajectory panels', kind: 'list', quick: [0.1, 1, 2.5], paper: [0.1, 1, 2.5], min: 0 },
    trajectoryPaths: { description: 'paths per trajectory panel', kind: 'integer', quick: 50, paper: 50, min: 2, max: 1000 },
    trajectorySteps: { description: 'steps of the trajectory panels', kind: 'integer', quick: 10_000, paper: 10_000, min: 10 },
  },
  plan(s) {
    return [
      { key: 'trajectories', work: list(s, 'trajectoryZeta').length * n(s, 'trajectoryPaths') * n(s, 'trajectorySteps') * 3, label: 'trajectory panels' },
      ...sweepPlan('sweep', 'collapse probability against ζ', list(s, 'zeta').length, PER_STAGE, n(s, 'paths') * n(s, 'steps')),
    ];
  },
  async run(ctx) {
    const s = ctx.settings;
    const mu = n(s, 'mu'), dt = n(s, 'dt');
    const steps = n(s, 'steps');
    const record = [...new Set(list(s, 'record').filter((r) => r <= steps))].sort((a, b) => a - b);
    const trajSteps = n(s, 'trajectorySteps');
    const every = Math.max(1, Math.round(trajSteps / 1000));
    const traj: CollapseResult = await collapseStage(ctx, 'trajectories', {
      model: 'quartic', params: { mu }, noise: list(s, 'trajectoryZeta'), paths: n(s, 'trajectoryPaths'), steps: trajSteps, dt,
      record: [trajSteps], epsilon: VISUAL_EPSILON, seed: ctx.seed, trace: { paths: n(s, 'trajectoryPaths'), every },
    });
    const sweep = await stagedSweep(ctx, 'sweep', {
      model: 'quartic', params: { mu }, noise: list(s, 'zeta'), paths: n(s, 'paths'), steps, dt, record: record.length > 0 ? record : [steps],
      epsilon: n(s, 'epsilon'), seed: ctx.seed,
    }, PER_STAGE);

    const zc = Math.sqrt(2 * mu);
    const zcEM = sweep.theory.facts?.thresholdEM;
    const claims: Claim[] = [];

    // --- the right panel: every point against the finite-time theory
    let points = 0, within = 0, worstZ = 0;
    sweep.noise.forEach((_, k) => sweep.record.forEach((_, r) => {
      const p = sweep.theory.points[k]?.probability?.[r];
      if (typeof p !== 'number') return;
      points++;
      const z = Math.abs(sweep.probability[k][r] - p) / binomialSe(p, sweep.paths);
      // 4.5 standard errors (a false alarm below 1 in 10⁵ per point) plus the theory's own 0.005 (its grid)
      if (Math.abs(sweep.probability[k][r] - p) <= 4.5 * binomialSe(p, sweep.paths) + 0.005) within++;
      worstZ = Math.max(worstZ, z);
    }));
    claims.push(claim({
      id: 'finite-time-law',
      statement: 'P(θ_t² < ε) at every ζ and recorded time follows the finite-time theory of the scheme (ln|θ| as a diffusion; both sides of ζ_c)',
      measured: `${within} of ${points} points within tolerance; largest deviation ${worstZ.toFixed(2)} binomial SE`,
      theory: 'Fokker–Planck law of ln|θ| with the Euler–Maruyama exponent (src/sde/theory.ts)',
      paper: 'curves move left with time toward √(2μ) (no finite-time theory drawn)',
      verdict: verdictOf(within, points, 0.95),
      test: '|P̂ − P| ≤ 4.5·√(P(1−P)/paths) + 0.005 at each point (P floored at 1/paths)',
    }));

    // --- the threshold: the P = ½ crossings move left toward √(2μ)
    const measuredX = sweep.record.map((_, r) => crossing(sweep.noise, sweep.probability.map((row) => row[r])));
    const theoryX = sweep.record.map((_, r) => crossing(sweep.noise, sweep.theory.points.map((pt) => pt.probability?.[r] ?? NaN)));
    const spacing = sweep.noise.length > 1 ? Math.abs(sweep.noise[1] - sweep.noise[0]) : 0.05;
    const tolX = Math.max(0.03, spacing / 2);
    const ordered = measuredX.every((x, i) => x !== undefined && (i === 0 || x < (measuredX[i - 1] as number)));
    const aboveZc = measuredX.every((x) => x !== undefined && x > zc - tolX);
    const agree = measuredX.filter((x, i) => x !== undefined && theoryX[i] !== undefined && Math.abs(x - (theoryX[i] as number)) <= tolX).length;
    const checks = [ordered, aboveZc, ...measuredX.map((x, i) => x !== undefined && theoryX[i] !== undefined && Math.abs(x - (theoryX[i] as number)) <= tolX)];
    claims.push(claim({
      id: 'threshold',
      statement: `The collapse threshold is ζ_c = √(2μ) = ${fmt(zc)}: the P = ½ crossing moves left toward it as t grows`,
      measured: `P = ½ at ζ ≈ ${nums(measuredX, 4)} (t = ${sweep.recordTimes.map((t) => fmt(t)).join(', ')})`,
      theory: `ζ_c = ${fmt(zc)} (scheme at this dt: ${num(zcEM)}); finite-time crossings ${nums(theoryX, 4)}`,
      paper: `≈ ${sweep.record.map((r) => PAPER_CROSSINGS[r] === undefined ? '—' : String(PAPER_CROSSINGS[r])).join(', ')} (read off the figure)`,
      verdict: verdictOf(checks.filter(Boolean).length, checks.length),
      test: `crossings decrease with t, stay above ζ_c − ${fmt(tolX)}, and each is within ${fmt(tolX)} of the theory's (${agree}/${measuredX.length} are)`,
    }));

    // --- far from the threshold (PAPER.md §2.6): ≈ 0 below, ≈ 1 well above, by t = 100
    const r100 = sweep.recordTimes.findIndex((t) => t >= 100 * (1 - 1e-9));
    const zLow = 1.5 * Math.sqrt(mu / 1.5), zHigh = 2.2 * Math.sqrt(mu / 1.5);
    const at = (keep: (z: number) => boolean) => (r100 < 0 ? [] : sweep.noise.map((z, k) => [z, sweep.probability[k][r100]] as const).filter(([z]) => keep(z)));
    const below = at((z) => z <= zLow), above = at((z) => z >= zHigh);
    const maxBelow = below.length > 0 ? Math.max(...below.map(([, p]) => p)) : undefined;
    const minAbove = above.length > 0 ? Math.min(...above.map(([, p]) => p)) : undefined;
    claims.push(claim({
      id: 'far-from-threshold',
      statement: 'Well below ζ_c no path collapses; well above, all do (by t = 100)',
      measured: r100 < 0 ? 'no recorded time t ≥ 100 at these settings'
        : `at t = ${fmt(sweep.recordTimes[r100])}: max P = ${num(maxBelow)} for ζ ≤ ${fmt(zLow)}, min P = ${num(minAbove)} for ζ ≥ ${fmt(zHigh)}`,
      theory: 'stationary P(ν, ε/ζ²) ≈ 10⁻⁵ at ζ = 1.5; P → 1 above ζ_c',
      paper: 'P ≈ 0 for ζ ≲ 1.5, P ≈ 1 for ζ ≳ 2.2 (PAPER.md §2.6)',
      verdict: maxBelow === undefined || minAbove === undefined ? 'inconclusive' : verdictOf(Number(maxBelow < 0.01) + Number(minAbove >= 0.99), 2, 0.5),
      test: 'at the first recorded t ≥ 100: max P below ≤ 0.01 and min P above ≥ 0.99 (bounds 1.5 and 2.2 for μ = 1.5, scaled by √(μ/1.5))',
    }));

    // --- left panels: stationary moments below ζ_c, collapse at ζ = 2.5
    const trace = traj.trace!;
    const half = trace.steps.findIndex((st) => st >= trajSteps / 2);
    const stationaryRows: (string | number)[][] = [];
    let stationaryPass = 0, stationaryChecks = 0;
    traj.noise.forEach((z, k) => {
      const pathsData = trace.values[k];
      if (z > 0 && z * z <= mu) {
        // E θ² = μ − ζ²/2 (PAPER.md §2.2); per-path time averages over the second half, then across paths
        const perPath = pathsData.map((path) => mean(path.slice(half).map((x) => x[0] * x[0])));
        const m = mean(perPath), se = sem(perPath), theory = mu - (z * z) / 2;
        const ok = Math.abs(m - theory) <= 4 * se + 0.01 * theory;
        stationaryChecks++;
        if (ok) stationaryPass++;
        stationaryRows.push([fmt(z), num(m), num(se, 2), num(theory), ok ? 'yes' : 'no']);
      }
    });
    claims.push(claim({
      id: 'stationary-density',
      statement: 'Below threshold the paths settle into the stationary law p(θ) ∝ |θ|^(2μ/ζ²−2) e^(−θ²/ζ²) on their side of 0',
      measured: stationaryRows.map((r) => `ζ = ${r[0]}: E θ² = ${r[1]} ± ${r[2]}`).join('; ') || 'no trajectory panel below ζ_c',
      theory: stationaryRows.map((r) => `μ − ζ²/2 = ${r[3]}`).join('; ') || '—',
      paper: 'paths concentrate around ±√μ at ζ = 0.1 and 1',
      verdict: verdictOf(stationaryPass, stationaryChecks),
      test: 'time average of θ² over the second half, per path, then across paths: |mean − (μ − ζ²/2)| ≤ 4 SE + 1 %',
    }));
    const collapsing = traj.noise.map((z, k) => ({ z, k })).filter(({ z }) => z > zc);
    if (collapsing.length > 0) {
      const rows = collapsing.map(({ z, k }) => {
        const got = traj.collapsed[k][0], p = traj.theory.points[k]?.probability?.[0] ?? NaN;
        const ok = Math.abs(got / traj.paths - p) <= 4.5 * binomialSe(p, traj.paths) + 0.005;
        return { z, got, p, ok };
      });
      claims.push(claim({
        id: 'trajectories-collapse',
        statement: `Above threshold (ζ = ${rows.map((r) => fmt(r.z)).join(', ')}) the paths collapse onto 0 well before t = ${fmt(trajSteps * dt)}`,
        measured: rows.map((r) => `${r.got}/${traj.paths} paths at |θ| < 10⁻² at t = ${fmt(trajSteps * dt)}`).join('; '),
        theory: rows.map((r) => `P = ${num(r.p)}`).join('; '),
        paper: 'all paths at 0 well before step 10 000 (visually)',
        verdict: verdictOf(rows.filter((r) => r.ok).length, rows.length),
        test: 'count within 4.5 binomial SE (+0.005) of the finite-time theory at ε = 10⁻⁴ on θ²',
      }));
    }

    // --- figures
    const sides = traj.noise.map((z) => quarticSidePanel(mu, z));
    const yTicks = Math.sqrt(mu) < 2 ? [{ value: -Math.sqrt(mu), label: '−√μ' }, { value: 0, label: '0' }, { value: Math.sqrt(mu), label: '√μ' }] : undefined;
    const trajFigure = await trajectoriesFigure(traj, sides, yTicks ? { yTicks } : {});
    const sweepFigure = await collapseFigure(sweep, {
      title: `Fig. 1 (right): P(θ_t² < ε) against ζ, μ = ${fmt(mu)}`,
      markers: traj.noise.map((z) => ({ x: z, label: `ζ = ${fmt(z)}` })),
    });

    const crossingTable = table(['step', 't', 'Monte Carlo ζ(P = ½)', 'theory ζ(P = ½)', 'paper (read off)'],
      sweep.record.map((step, r) => [step, fmt(sweep.recordTimes[r]), num(measuredX[r]), num(theoryX[r]), PAPER_CROSSINGS[step] === undefined ? '—' : String(PAPER_CROSSINGS[step])]));
    const nearRows = sweep.noise.map((z, k) => [z, k] as const).filter(([z]) => Math.abs(z - zc) < 0.55)
      .map(([z, k]) => [fmt(z, 4), ...sweep.record.map((_, r) => `${num(sweep.probability[k][r], 3)} / ${num(sweep.theory.points[k]?.probability?.[r], 3)}`)]);
    return {
      claims,
      figures: [
        { name: 'fig1-trajectories', title: 'Trajectories and stationary densities', caption: `${traj.paths} paths per ζ from θ₀ ~ N(0, 2²), h = ${fmt(dt)}, against time t = step·h; right of each panel the stationary density p(θ) where one exists.`, svg: trajFigure.svg, png: trajFigure.png },
        { name: 'fig1-collapse', title: 'Collapse probability against ζ', caption: `${sweep.paths} paths per ζ, ${sweep.noise.length} values of ζ; solid: Monte Carlo with 95 % Wilson bands; dashed: the finite-time theory; black: ζ_c = √(2μ); dotted: the trajectory panels' ζ.`, svg: sweepFigure.svg, png: sweepFigure.png },
      ],
      files: [
        { name: 'fig1-collapse.csv', content: resultCsv(sweep), description: 'one row per (ζ, recorded step): counts, probability, Wilson interval, mean distances, theory probability' },
        { name: 'fig1-collapse.json', content: JSON.stringify(stripTimings(sweep)) + '\n', description: 'the merged sweep result (counts, theory per point) as engine.collapse returns it' },
        { name: 'fig1-trajectories.csv', content: trajectoriesCsv(traj), description: 'the sampled trajectories: ζ, path, step, t, θ' },
      ],
      sections: [
        { title: 'P = ½ crossings', body: crossingTable },
        { title: 'Near the threshold: Monte Carlo / theory', body: table(['ζ', ...sweep.record.map((st) => `step ${st}`)], nearRows) },
        { title: 'Stationary moments of the trajectory panels', body: table(['ζ', 'E θ² (time average)', 'SE', 'μ − ζ²/2', 'within 4 SE + 1 %'], stationaryRows) },
      ],
      differences: [
        'Time axes are in time units t = step·h; the notebook labels its trajectory x-axis "time" but plots the step index (PAPER.md §6.7).',
        'The dashed curves are this engine\'s finite-time theory (the law of ln|θ| for the Euler–Maruyama scheme at this h); the paper draws only the line √(2μ).',
        `The initial θ₀ ~ N(0, 2²) is one draw per path shared by every ζ in both panels (the notebook shares it in the right panel only). Random numbers are Philox, not NumPy's: individual paths differ from the paper's, the statistics are compared.`,
        ...(sweep.noise.length !== 100 ? [`${sweep.noise.length} values of ζ instead of the paper's 100 (set zeta=0:3:100 or --scale paper).`] : []),
      ],
      measured: {
        crossings: sweep.record.map((step, r) => ({ step, t: sweep.recordTimes[r], monteCarlo: measuredX[r] ?? null, theory: theoryX[r] ?? null, paper: PAPER_CROSSINGS[step] ?? null })),
        zetaC: zc, zetaCScheme: zcEM ?? null, pointsWithinTolerance: within, points, largestDeviationSE: worstZ,
        maxBelow: maxBelow ?? null, minAbove: minAbove ?? null, stationary: stationaryRows.map((r) => ({ zeta: Number(r[0]), meanTheta2: Number(r[1]), se: Number(r[2]), theory: Number(r[3]) })),
      },
    };
  },
};

/** The result without its clock-dependent fields, so that two runs write the same bytes. */
export function stripTimings(r: CollapseResult): Omit<CollapseResult, 'elapsedSeconds' | 'pathStepsPerSecond'> {
  const { elapsedSeconds: _e, pathStepsPerSecond: _p, ...rest } = r;
  return rest;
}

function trajectoriesCsv(r: CollapseResult): string {
  const rows: (number | string)[][] = [];
  const trace = r.trace!;
  r.noise.forEach((z, k) => trace.values[k].forEach((path, p) => path.forEach((x, i) => rows.push([z, p, trace.steps[i], Number((trace.steps[i] * r.dt).toPrecision(10)), Number(x[0].toPrecision(8))]))));
  return csv(['zeta', 'path', 'step', 't', 'theta'], rows);
}

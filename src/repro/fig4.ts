/**
 * Fig. 4: the fraction of independent neurons per layer of VGG-16 against the learning rate and against label
 * noise, over replicates (PAPER.md §3 Fig. 4, §4). Larger learning rates and more label noise (more gradient
 * noise) leave fewer independent neurons, in the deeper layers first.
 */
import { fractionFigure } from '../plot/fractions.js';
import { fmt } from '../plot/render.js';
import { analysisStage, deepDifferences, DEEP_LAYERS, EARLY_LAYERS, initialStage, layerMean, loadData, NET_SETTINGS, netText, replicateSeed, trainStage, type LayerSummary, type TrainedRun } from './deep.js';
import { claim, csv, num, table } from './stats.js';
import type { Claim, Reproduction, Settings } from './types.js';

const n = (s: Settings, k: string) => s[k] as number;
const list = (s: Settings, k: string) => s[k] as number[];
/** Per VGG step on the quick network, the cost in the planner's units (≈ quartic path-steps). */
const STEP_COST = 3e6;

interface Run { value: number; replicate: number; run: TrainedRun; layers: LayerSummary[] }

/** A change counts as a direction when it exceeds this (fractions) or 0.02 (distances). */
const FRACTION_STEP = 0.01;

/** The noise sweep's p = 0 run is the lr sweep's run at noiseLr when the steps agree: trained once, used in both. */
const sharedRun = (s: Settings, p: number) => p === 0 && n(s, 'noiseSteps') === n(s, 'lrSteps') && list(s, 'lrs').includes(n(s, 'noiseLr'));

export const fig4: Reproduction = {
  name: 'fig4',
  figure: 'Fig. 4',
  title: 'Fewer independent neurons with larger learning rates and more label noise',
  summary: 'VGG-16: the fraction of independent neurons per layer against the learning rate and the label noise, over replicates',
  settings: {
    ...NET_SETTINGS,
    lrs: { description: 'learning rates of the lr sweep (no label noise)', kind: 'list', quick: [0.005, 0.01, 0.02], paper: [0.01, 0.02, 0.05, 0.1], min: 0 },
    lrSteps: { description: 'SGD steps of the lr sweep (the paper analyses step 10⁵)', kind: 'integer', quick: 10_000, paper: 100_000, min: 1 },
    noises: { description: 'label-noise probabilities of the noise sweep', kind: 'list', quick: [0, 0.2, 0.4], paper: [0, 0.2, 0.4, 0.6, 0.8], min: 0, max: 0.99 },
    noiseLr: { description: 'learning rate of the noise sweep (quick: the lr sweep\'s largest, whose run is its p = 0)', kind: 'number', quick: 0.02, paper: 0.01, min: 0 },
    noiseSteps: { description: 'SGD steps of the noise sweep (the paper analyses step 10⁶)', kind: 'integer', quick: 10_000, paper: 1_000_000, min: 1 },
  },
  plan(s) {
    const r = n(s, 'replicates');
    const scale = (n(s, 'width') / 0.0625) ** 2 * (n(s, 'batch') / 16) * STEP_COST;
    return [
      ...list(s, 'lrs').flatMap((lr) => Array.from({ length: r }, (_, i) => [
        { key: `lr=${lr}/r${i}`, work: n(s, 'lrSteps') * scale, label: `lr sweep: lr = ${fmt(lr)}, replicate ${i + 1}` },
        { key: `lr=${lr}/r${i}/analysis`, work: scale * 50, label: `analysis lr = ${fmt(lr)}, replicate ${i + 1}` },
      ]).flat()),
      ...Array.from({ length: r }, (_, i) => ({ key: `initial/r${i}`, work: scale * 50, label: `the initial weights, replicate ${i + 1}` })),
      ...list(s, 'noises').filter((p) => !sharedRun(s, p)).flatMap((p) => Array.from({ length: r }, (_, i) => [
        { key: `noise=${p}/r${i}`, work: n(s, 'noiseSteps') * scale, label: `noise sweep: p = ${fmt(p)}, replicate ${i + 1}` },
        { key: `noise=${p}/r${i}/analysis`, work: scale * 50, label: `analysis p = ${fmt(p)}, replicate ${i + 1}` },
      ]).flat()),
    ];
  },
  async run(ctx) {
    const s = ctx.settings;
    const R = n(s, 'replicates');
    const sweep = async (name: 'lr' | 'noise', values: number[]) => {
      const out: Run[] = [];
      for (const value of values) {
        for (let r = 0; r < R; r++) {
          const key = name === 'noise' && sharedRun(s, value) ? `lr=${n(s, 'noiseLr')}/r${r}` : `${name}=${value}/r${r}`;
          const run = await trainStage(ctx, key, name === 'lr'
            ? { lr: value, labelNoise: 0, steps: n(s, 'lrSteps'), seed: replicateSeed(ctx.seed, r) }
            : { lr: n(s, 'noiseLr'), labelNoise: value, steps: n(s, 'noiseSteps'), seed: replicateSeed(ctx.seed, r) });
          out.push({ value, replicate: r, run, layers: await analysisStage(ctx, `${key}/analysis`, run.weights) });
        }
      }
      return out;
    };
    const classes = (await loadData(ctx)).classes;
    const lrRuns = await sweep('lr', list(s, 'lrs'));
    const noiseRuns = await sweep('noise', list(s, 'noises'));
    const initial: LayerSummary[][] = [];
    for (let r = 0; r < R; r++) initial.push(await initialStage(ctx, `initial/r${r}`, replicateSeed(ctx.seed, r)));
    const initialDeep = initial.reduce((a, l) => a + layerMean(l, DEEP_LAYERS, (x) => x.nearest), 0) / R;
    const initialEarly = initial.reduce((a, l) => a + layerMean(l, EARLY_LAYERS, (x) => x.nearest), 0) / R;
    const layerNames = lrRuns[0]?.layers.map((l) => l.name) ?? [];
    const claims: Claim[] = [];

    // Per setting: the mean over replicates of the deep layers' fraction and nearest-neighbour distance.
    const summarise = (runs: Run[]) => [...new Set(runs.map((x) => x.value))].sort((a, b) => a - b).map((value) => {
      const of = runs.filter((x) => x.value === value);
      const avg = (f: (l: LayerSummary) => number, names: string[]) => of.reduce((a, x) => a + layerMean(x.layers, names, f), 0) / of.length;
      return {
        value, deepFraction: avg((l) => l.fraction, DEEP_LAYERS), earlyFraction: avg((l) => l.fraction, EARLY_LAYERS),
        deepNearest: avg((l) => l.nearest, DEEP_LAYERS), earlyNearest: avg((l) => l.nearest, EARLY_LAYERS),
        // what the missing independent neurons became: vanished (norm < 0.1 of the layer's largest) or merged
        deepVanishing: avg((l) => l.vanishing / l.neurons, DEEP_LAYERS),
        accuracy: of.reduce((a, x) => a + x.run.testAccuracy, 0) / of.length,
      };
    });
    const lrSum = summarise(lrRuns), noiseSum = summarise(noiseRuns);
    const direction = (rows: ReturnType<typeof summarise>, what: string, paper: string) => {
      const f = rows.map((x) => x.deepFraction), d = rows.map((x) => x.deepNearest);
      const fractionDown = f.length > 1 && f[f.length - 1] < f[0] - FRACTION_STEP && f.every((v, i) => i === 0 || v <= f[i - 1] + FRACTION_STEP);
      const distanceDown = d.length > 1 && d[d.length - 1] < d[0] - 0.02 && d.every((v, i) => i === 0 || v <= d[i - 1] + 0.02);
      const flat = f.every((v) => v > 1 - FRACTION_STEP);
      // a network that never left the initial plateau collapses trivially (all neurons alike): not the paper's effect
      const stuck = rows.filter((x) => x.accuracy < 2 / classes);
      const down = fractionDown ? (distanceDown ? 'reproduced' : 'partly reproduced') : distanceDown ? 'partly reproduced' : 'not reproduced';
      return claim({
        id: `${what}-direction`,
        statement: `More ${what === 'lr' ? 'learning rate' : 'label noise'} leaves fewer independent neurons (conv8–fc15)`,
        measured: `fraction ${rows.map((x) => `${fmt(x.value)} → ${num(x.deepFraction, 3)}`).join(', ')} (of the neurons, vanished ${rows.map((x) => num(x.deepVanishing, 3)).join(', ')}, merged ${rows.map((x) => num(1 - x.deepFraction - x.deepVanishing, 3)).join(', ')}); nearest-neighbour distance ${rows.map((x) => num(x.deepNearest, 3)).join(', ')} (${num(initialDeep, 3)} at initialisation)`,
        theory: 'more gradient noise (larger η, noisier labels) makes the invariant sets more attractive (Theorems 4.1, 4.2)',
        paper,
        verdict: stuck.length > 0 && down === 'reproduced' ? 'partly reproduced' : down,
        test: `reproduced: the mean fraction over conv8–fc15 falls from the smallest to the largest ${what === 'lr' ? 'lr' : 'noise'} by > ${FRACTION_STEP} (never rising by more), and so does the mean nearest-neighbour distance (by > 0.02), every run having learned (test accuracy ≥ twice chance); partly: only one of them, or a run stuck at chance${flat ? ' (here every fraction stays at 1: no pair of neurons reached τ = 0.1 at this scale, only the distances move)' : ''}${stuck.length ? ` (here ${stuck.map((x) => fmt(x.value)).join(', ')} stayed at chance: test accuracy ${stuck.map((x) => `${(100 * x.accuracy).toFixed(1)} %`).join(', ')})` : ''}`,
      });
    };
    claims.push(direction(lrSum, 'lr', 'conv8+: lr 0.01 → 0.55–0.9, 0.02 → 0.15–0.5, 0.05 and 0.1 → 0.02–0.4 (step 10⁵)'));
    claims.push(direction(noiseSum, 'noise', 'lr 0.01 at 10⁶ steps: conv8–fc15 at 0.03–0.15 for every noise level; more noise also collapses early layers'));
    const top = lrSum[lrSum.length - 1];
    if (top) {
      // layers of different widths differ at initialisation (more neurons, nearer neighbours): compare the change
      const deepShrink = initialDeep - top.deepNearest, earlyShrink = initialEarly - top.earlyNearest;
      claims.push(claim({
        id: 'deeper-collapse',
        statement: 'Deeper layers collapse more: at the largest learning rate conv8–fc15 keep fewer independent neurons than conv1–conv7',
        measured: `lr ${fmt(top.value)}: fraction ${num(top.deepFraction, 3)} (conv8–fc15) vs ${num(top.earlyFraction, 3)} (conv1–7); nearest-neighbour distance fell by ${num(deepShrink, 3)} vs ${num(earlyShrink, 3)} since initialisation`,
        theory: '—',
        paper: 'conv1–conv7 stay near 1.0 at every lr; the drop starts at conv8',
        verdict: top.deepFraction < top.earlyFraction - FRACTION_STEP ? 'reproduced' : deepShrink > earlyShrink + 0.02 ? 'partly reproduced' : 'not reproduced',
        test: `reproduced: the deep layers' mean fraction below the early layers' by > ${FRACTION_STEP}; partly: only their nearest-neighbour distance fell more since initialisation (by > 0.02)`,
      }));
      const early = lrSum.every((x) => x.earlyFraction >= 0.9);
      claims.push(claim({
        id: 'early-layers',
        statement: 'The early layers (conv1–conv7) stay near 1 at every learning rate',
        measured: lrSum.map((x) => `lr ${fmt(x.value)}: ${num(x.earlyFraction, 3)}`).join(', '),
        paper: 'near 1.0 for every lr',
        verdict: early ? 'reproduced' : 'not reproduced',
        test: 'mean fraction of conv1–conv7 ≥ 0.9 at every learning rate',
      }));
    }

    const series = (runs: Run[], label: (v: number) => string, pick: (l: LayerSummary) => number) => [...new Set(runs.map((x) => x.value))].sort((a, b) => a - b).map((value) => ({
      label: label(value),
      replicates: runs.filter((x) => x.value === value).map((x) => layerNames.map((name) => { const l = x.layers.find((y) => y.name === name); return l ? pick(l) : null; })),
    }));
    const sub = (steps: number) => `${netText(s)}, ${steps} steps, ${R} replicate${R === 1 ? '' : 's'}`;
    const lrFigure = await fractionFigure({ layers: layerNames, series: series(lrRuns, (v) => `lr ${fmt(v)}`, (l) => l.fraction), legendTitle: 'learning rate', title: 'Fig. 4: fraction of independent neurons, learning-rate sweep', subtitle: sub(n(s, 'lrSteps')) });
    const noiseFigure = await fractionFigure({ layers: layerNames, series: series(noiseRuns, (v) => `p = ${fmt(v)}`, (l) => l.fraction), legendTitle: 'label noise', title: `Fig. 4: fraction of independent neurons, label-noise sweep (lr ${fmt(n(s, 'noiseLr'))})`, subtitle: sub(n(s, 'noiseSteps')) });
    const nnFigure = await fractionFigure({
      layers: layerNames, yDomain: [0, 2], yTitle: 'mean distance to the nearest neuron',
      series: [
        { label: 'initialisation', replicates: initial.map((layers) => layerNames.map((name) => layers.find((l) => l.name === name)?.nearest ?? null)) },
        ...series(lrRuns, (v) => `lr ${fmt(v)}`, (l) => l.nearest), ...series(noiseRuns, (v) => `p = ${fmt(v)} (lr ${fmt(n(s, 'noiseLr'))})`, (l) => l.nearest)],
      legendTitle: 'setting', title: 'Distance of each neuron to its nearest neighbour (collapse: → 0)', subtitle: `${netText(s)}; normalised distance of concatenated vectors, 2 for orthogonal neurons`,
    });
    const rows = (runs: Run[], what: string) => runs.flatMap((x) => x.layers.map((l) => [what, x.value, x.replicate, l.name, l.neurons, l.independent, l.fraction, l.vanishing, l.largestGroup, l.nearest, x.run.testAccuracy]));
    const tableOf = (rowsIn: ReturnType<typeof summarise>, name: string) => table([name, 'fraction conv8–fc15', 'vanished conv8–fc15', 'merged conv8–fc15', 'fraction conv1–7', 'nearest conv8–fc15', 'nearest conv1–7', 'test accuracy'],
      rowsIn.map((x) => [fmt(x.value), num(x.deepFraction, 3), num(x.deepVanishing, 3), num(1 - x.deepFraction - x.deepVanishing, 3), num(x.earlyFraction, 3), num(x.deepNearest, 3), num(x.earlyNearest, 3), `${(100 * x.accuracy).toFixed(1)} %`]));
    return {
      claims,
      figures: [
        { name: 'fig4-lr', title: 'Fraction of independent neurons against the learning rate', caption: `Per layer, mean ± std (ddof = 0) over replicates; ${sub(n(s, 'lrSteps'))}.`, svg: lrFigure.svg, png: lrFigure.png },
        { name: 'fig4-noise', title: 'Fraction of independent neurons against label noise', caption: `Per layer, mean ± std over replicates; lr ${fmt(n(s, 'noiseLr'))}, ${sub(n(s, 'noiseSteps'))}.`, svg: noiseFigure.svg, png: noiseFigure.png },
        { name: 'fig4-nearest', title: 'Nearest-neighbour distance per layer', caption: 'Mean over the neurons of a layer of the normalised distance to the closest other neuron (concatenated vectors): the precursor of the fraction, which counts pairs below 0.1.', svg: nnFigure.svg, png: nnFigure.png },
      ],
      files: [{ name: 'fig4-layers.csv', content: csv(['sweep', 'value', 'replicate', 'layer', 'neurons', 'independent', 'fraction', 'vanishing', 'largestGroup', 'nearestDistance', 'testAccuracy'], [...rows(lrRuns, 'lr'), ...rows(noiseRuns, 'noise')]), description: 'every run\'s per-layer measures' }],
      sections: [
        { title: 'Learning-rate sweep (means over replicates)', body: tableOf(lrSum, 'lr') },
        { title: 'Label-noise sweep (means over replicates)', body: tableOf(noiseSum, 'label noise') + `\n\nAt initialisation the nearest-neighbour distance is ${num(initialDeep, 3)} (conv8–fc15) and ${num(initialEarly, 3)} (conv1–7).` },
      ],
      differences: deepDifferences(s),
      measured: { lr: lrSum, noise: noiseSum, initialDeepNearest: initialDeep, initialEarlyNearest: initialEarly },
    };
  },
};

/**
 * Fig. 6: prolonged training at a large learning rate helps through stochastic collapse (PAPER.md §3 Fig. 6).
 * Phase 1 trains at a large rate; from checkpoints at several steps, phase 2 fine-tunes at a small rate with a
 * fresh optimizer. Although the phase-1 loss and accuracy plateau, a later drop ends at a higher test accuracy,
 * while the fraction of independent neurons at the drop keeps falling.
 */
import type { TopLevelSpec } from 'vega-lite';
import { SERIES_COLORS } from '../plot/collapse.js';
import { fractionFigure } from '../plot/fractions.js';
import { fmt, renderFigure } from '../plot/render.js';
import type { MetricsRow } from '../train/train.js';
import { analysisStage, deepDifferences, DEEP_LAYERS, layerMean, loadData, NET_SETTINGS, netText, replicateSeed, trainStage, type LayerSummary, type TrainedRun } from './deep.js';
import { claim, csv, mean, num, sem, table } from './stats.js';
import type { Claim, Reproduction, Settings } from './types.js';

const n = (s: Settings, k: string) => s[k] as number;
const list = (s: Settings, k: string) => s[k] as number[];

export const fig6: Reproduction = {
  name: 'fig6',
  figure: 'Fig. 6',
  title: 'A later learning-rate drop generalises better: prolonged large-lr training collapses neurons',
  summary: 'VGG-16: phase 1 at a large lr, phase 2 fine-tuned at a small lr from several drop steps; test accuracy and independent neurons',
  settings: {
    ...NET_SETTINGS,
    // quick: 2, since one run's final test accuracy (±0.2 % on MNIST's 10 000) hides the drops' differences
    replicates: { ...NET_SETTINGS.replicates, quick: 2, paper: 8 },
    lr: { description: 'phase-1 learning rate (the paper: 0.1)', kind: 'number', quick: 0.02, paper: 0.1, min: 0 },
    drops: { description: 'phase-1 steps at which phase 2 starts (the paper: 10k, 20k, 40k)', kind: 'integers', quick: [2500, 5000, 10_000], paper: [10_000, 20_000, 40_000], min: 1 },
    lrDrop: { description: 'phase-2 learning rate (the paper: 0.01)', kind: 'number', quick: 0.002, paper: 0.01, min: 0 },
    phase2Steps: { description: 'phase-2 steps (the paper: 10 000)', kind: 'integer', quick: 2000, paper: 10_000, min: 1 },
    phase2Decay: { description: 'phase-2 step after which its rate is multiplied by 0.1 (VGG: 6000; 0: never)', kind: 'integer', quick: 1200, paper: 6000, min: 0 },
  },
  plan(s) {
    const scale = (n(s, 'width') / 0.0625) ** 2 * (n(s, 'batch') / 16) * 3e6;
    const drops = list(s, 'drops');
    return Array.from({ length: n(s, 'replicates') }, (_, r) => [
      { key: `r${r}/phase1`, work: Math.max(...drops) * scale, label: `phase 1, replicate ${r + 1}` },
      ...drops.flatMap((d) => [
        { key: `r${r}/drop${d}/analysis`, work: 50 * scale, label: `analysis at step ${d}, replicate ${r + 1}` },
        { key: `r${r}/drop${d}/phase2`, work: n(s, 'phase2Steps') * scale, label: `phase 2 from step ${d}, replicate ${r + 1}` },
      ]),
    ]).flat();
  },
  async run(ctx) {
    const s = ctx.settings;
    const drops = [...new Set(list(s, 'drops'))].sort((a, b) => a - b);
    const R = n(s, 'replicates');
    const decay = n(s, 'phase2Decay');
    const runs: { phase1: TrainedRun; at: { drop: number; layers: LayerSummary[]; phase2: TrainedRun }[] }[] = [];
    for (let r = 0; r < R; r++) {
      const phase1 = await trainStage(ctx, `r${r}/phase1`, { lr: n(s, 'lr'), labelNoise: 0, steps: drops[drops.length - 1], seed: replicateSeed(ctx.seed, r), keep: drops });
      const at = [];
      for (const drop of drops) {
        const weights = phase1.kept[drop];
        if (!weights) throw new Error(`fig6: phase 1 of replicate ${r + 1} kept no weights at step ${drop}`);
        const layers = await analysisStage(ctx, `r${r}/drop${drop}/analysis`, weights);
        const phase2 = await trainStage(ctx, `r${r}/drop${drop}/phase2`, {
          lr: n(s, 'lrDrop'), labelNoise: 0, steps: n(s, 'phase2Steps'), seed: replicateSeed(ctx.seed, r) + drop, from: weights, warmup: 0,
          drops: decay > 0 && decay < n(s, 'phase2Steps') ? [decay] : [],
        });
        at.push({ drop, layers, phase2 });
      }
      runs.push({ phase1, at });
    }
    const layerNames = runs[0].at[0].layers.map((l) => l.name);
    // per drop: over replicates, the phase-1 accuracy at the drop, the final accuracy, the deep layers' measures
    const phase1AccAt = (h: readonly MetricsRow[], step: number) => h.filter((m) => m.step <= step).at(-1)?.testAccuracy ?? NaN;
    const perDrop = drops.map((drop, i) => {
      const before = runs.map((x) => phase1AccAt(x.phase1.history, drop));
      const after = runs.map((x) => x.at[i].phase2.testAccuracy);
      const fraction = runs.map((x) => layerMean(x.at[i].layers, DEEP_LAYERS, (l) => l.fraction));
      const nearest = runs.map((x) => layerMean(x.at[i].layers, DEEP_LAYERS, (l) => l.nearest));
      const vanished = runs.map((x) => layerMean(x.at[i].layers, DEEP_LAYERS, (l) => l.vanishing / l.neurons));
      return { drop, before: mean(before), after: mean(after), afterSem: R > 1 ? sem(after) : NaN, fraction: mean(fraction), vanished: mean(vanished), nearest: mean(nearest) };
    });
    const claims: Claim[] = [];
    // a run that fell to chance (every neuron collapsed: the trivial invariant set) is named, not averaged away
    const classes = (await loadData(ctx)).classes;
    const atChance = runs.flatMap((x, r) => x.at.filter((a) => a.phase2.testAccuracy < 2 / classes).map((a) => `replicate ${r + 1} from step ${a.drop}`));
    const accUp = perDrop.every((x, i) => i === 0 || x.after > perDrop[i - 1].after);
    const gain = perDrop[perDrop.length - 1].after - perDrop[0].after;
    const plateau = perDrop[perDrop.length - 1].before - perDrop[0].before;
    claims.push(claim({
      id: 'later-drop',
      statement: 'A later learning-rate drop ends at a higher test accuracy, beyond what phase 1 itself gained meanwhile',
      measured: `after phase 2: ${perDrop.map((x) => `drop at ${x.drop} → ${(100 * x.after).toFixed(2)} %`).join(', ')}; phase 1 at the drops: ${perDrop.map((x) => `${(100 * x.before).toFixed(2)} %`).join(', ')}${atChance.length ? `; at chance after phase 2: ${atChance.join(', ')}` : ''}`,
      theory: 'prolonged large-lr training drives more neurons onto invariant sets (implicit regularisation), which the small-lr phase keeps',
      paper: 'VGG/CIFAR-10: 92.4 %, 92.7 %, 93.0 % after drops at 10k, 20k, 40k; 88–89 % before',
      verdict: accUp && gain > 0 ? (gain > plateau ? 'reproduced' : 'partly reproduced') : 'not reproduced',
      test: 'reproduced: the final accuracy rises with the drop step, and the gain from the first to the last drop exceeds phase 1\'s own gain over the same steps; partly: it rises, but no more than phase 1 did',
    }));
    const fracDown = perDrop.every((x, i) => i === 0 || x.fraction <= perDrop[i - 1].fraction + 0.01) && perDrop[perDrop.length - 1].fraction < perDrop[0].fraction - 0.01;
    const nearDown = perDrop.every((x, i) => i === 0 || x.nearest <= perDrop[i - 1].nearest + 0.02) && perDrop[perDrop.length - 1].nearest < perDrop[0].nearest - 0.02;
    claims.push(claim({
      id: 'collapse-grows',
      statement: 'The longer phase 1 runs, the fewer independent neurons the deep layers keep at the drop',
      measured: `conv8–fc15 fraction ${perDrop.map((x) => `${x.drop} → ${num(x.fraction, 3)}`).join(', ')} (vanished ${perDrop.map((x) => num(x.vanished, 3)).join(', ')}, merged ${perDrop.map((x) => num(1 - x.fraction - x.vanished, 3)).join(', ')}); nearest-neighbour distance ${perDrop.map((x) => num(x.nearest, 3)).join(', ')}`,
      theory: 'stochastic collapse continues while the learning rate is large',
      paper: 'conv8–fc15: ≈ 0.95 (10k), ≈ 0.55 (20k), 0.05–0.35 (40k)',
      verdict: fracDown ? (nearDown ? 'reproduced' : 'partly reproduced') : nearDown ? 'partly reproduced' : 'not reproduced',
      test: 'reproduced: the deep layers\' mean fraction falls from the first to the last drop by > 0.01 (never rising by more), and so does their nearest-neighbour distance (by > 0.02); partly: only one of them',
    }));

    const curves = await renderFigure(curveSpec(runs.map((x) => ({ phase1: x.phase1.history, after: x.at.map((a) => ({ drop: a.drop, history: a.phase2.history })) })), drops, s));
    const fractions = await fractionFigure({
      layers: layerNames, legendTitle: 'drop at step',
      series: drops.map((d, i) => ({ label: String(d), replicates: runs.map((x) => layerNames.map((name) => x.at[i].layers.find((l) => l.name === name)?.fraction ?? null)) })),
      title: 'Fig. 6 (right): fraction of independent neurons at the drop', subtitle: `${netText(s)}, phase-1 lr ${fmt(n(s, 'lr'))}`,
    });
    return {
      claims,
      figures: [
        { name: 'fig6-accuracy', title: 'Test accuracy in phase 1 and after each drop', caption: `Mean over ${R} replicate${R === 1 ? '' : 's'}: phase 1 at lr ${fmt(n(s, 'lr'))} (grey), then phase 2 at lr ${fmt(n(s, 'lrDrop'))} from each drop step, against the total step.`, svg: curves.svg, png: curves.png },
        { name: 'fig6-fraction', title: 'Fraction of independent neurons at each drop', caption: 'Per layer, mean ± std over replicates, of the phase-1 weights at the drop step.', svg: fractions.svg, png: fractions.png },
      ],
      files: [
        { name: 'fig6-metrics.csv', content: csv(['replicate', 'phase', 'drop', 'step', 'lr', 'trainLoss', 'testAccuracy'], runs.flatMap((x, r) => [
          ...x.phase1.history.map((m) => [r, 1, '', m.step, m.lr, m.trainLoss, m.testAccuracy]),
          ...x.at.flatMap((a) => a.phase2.history.map((m) => [r, 2, a.drop, a.drop + m.step, m.lr, m.trainLoss, m.testAccuracy])),
        ])), description: 'training loss and test accuracy of every evaluation, phase 1 and each phase 2' },
        { name: 'fig6-layers.csv', content: csv(['replicate', 'drop', 'layer', 'neurons', 'independent', 'fraction', 'vanishing', 'nearestDistance'], runs.flatMap((x, r) => x.at.flatMap((a) => a.layers.map((l) => [r, a.drop, l.name, l.neurons, l.independent, l.fraction, l.vanishing, l.nearest])))), description: 'per-layer measures of the phase-1 weights at each drop' },
      ],
      sections: [{ title: 'Per drop step (means over replicates)', body: table(['drop at', 'phase-1 test accuracy', 'after phase 2', 'SE', 'fraction conv8–fc15', 'vanished', 'merged', 'nearest conv8–fc15'],
        perDrop.map((x) => [x.drop, `${(100 * x.before).toFixed(2)} %`, `${(100 * x.after).toFixed(2)} %`, Number.isFinite(x.afterSem) ? `${(100 * x.afterSem).toFixed(2)} %` : '—', num(x.fraction, 3), num(x.vanished, 3), num(1 - x.fraction - x.vanished, 3), num(x.nearest, 3)])) }],
      differences: [
        'Phase 2 starts from the phase-1 weights with a fresh optimizer (momenta zero), as the paper\'s fine-tuning configs; its data order is seeded anew.',
        ...deepDifferences(s),
        'Only the VGG-16 panel row: the ResNet-18 / CIFAR-100 row needs the resnet18 preset on CIFAR-100.',
      ],
      measured: { perDrop },
    };
  },
};

function curveSpec(runs: { phase1: readonly MetricsRow[]; after: { drop: number; history: readonly MetricsRow[] }[] }[], drops: number[], s: Settings): TopLevelSpec {
  const avg = (rows: (readonly MetricsRow[])[], offset: number, series: string) => rows[0].map((m, i) => ({ step: offset + m.step, acc: 100 * mean(rows.map((h) => h[i]?.testAccuracy ?? NaN)), series }));
  const labels = ['phase 1', ...drops.map((d) => `drop at ${d}`)];
  const values = [
    ...avg(runs.map((x) => x.phase1), 0, 'phase 1'),
    ...drops.flatMap((d, i) => avg(runs.map((x) => x.after[i].history), d, `drop at ${d}`)),
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Fig. 6: test accuracy, phase 1 and after each learning-rate drop', subtitle: `${netText(s)}; phase-1 lr ${fmt(s.lr as number)}, phase-2 lr ${fmt(s.lrDrop as number)}` },
    width: 560, height: 320,
    data: { values },
    mark: { type: 'line', point: { size: 25 }, strokeWidth: 2 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'SGD step (phase 1 + phase 2)' },
      y: { field: 'acc', type: 'quantitative', title: 'test accuracy (%)', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: labels, range: ['#888', ...SERIES_COLORS] } },
    },
  } as TopLevelSpec;
}

/**
 * Fig. 3: normalised distance matrices of trained VGG-16 layers (PAPER.md §3 Fig. 3, §4.6): incoming and
 * outgoing weights side by side in one neuron order (average-linkage clusters of the concatenated distances).
 * A collapsed layer shows blocks of mutually identical neurons in both matrices; a non-collapsed one a uniform
 * distance near 2 (near-orthogonal neurons) with a zero diagonal.
 */
import { distanceFigure } from '../plot/distances.js';
import { fmt } from '../plot/render.js';
import { analysisStage, deepDifferences, fromB64, initialStage, NET_SETTINGS, netText, replicateSeed, trainStage, type LayerSummary } from './deep.js';
import { claim, csv, num, table, verdictOf } from './stats.js';
import type { Claim, Reproduction, Settings } from './types.js';

const n = (s: Settings, k: string) => s[k] as number;
const round4 = (v: number) => Math.round(v * 1e4) / 1e4;
const list = (s: Settings, k: string) => s[k] as number[];

/** Mean over ordered pairs i ≠ j (optionally only pairs within one cluster) of a K × K matrix. */
function pairMean(d: Float32Array, k: number, same?: Int32Array): number {
  let sum = 0, count = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      if (i === j || (same && (same[i] < 0 || same[i] !== same[j]))) continue;
      sum += d[i * k + j];
      count++;
    }
  }
  return count ? sum / count : NaN;
}

export const fig3: Reproduction = {
  name: 'fig3',
  figure: 'Fig. 3',
  title: 'Distance matrices: collapsed layers show blocks of identical neurons',
  summary: 'VGG-16 trained with a large learning rate: incoming and outgoing distance matrices of a shallow and two deep layers',
  settings: {
    ...NET_SETTINGS,
    lr: { description: 'learning rate (the paper: 0.1, the largest of Fig. 4; quick: 0.02, the largest of quick Fig. 4)', kind: 'number', quick: 0.02, paper: 0.1, min: 0 },
    labelNoise: { description: 'label-noise probability', kind: 'number', quick: 0, paper: 0, min: 0, max: 0.99 },
    steps: { description: 'SGD steps before the analysis (the paper: 10⁵)', kind: 'integer', quick: 30_000, paper: 100_000, min: 1 },
    layers: { description: 'the layers drawn, by number in conv1 … conv13, fc14, fc15 (the paper: conv5, conv11, fc14)', kind: 'integers', quick: [5, 11, 14], paper: [5, 11, 14], min: 1, max: 15 },
  },
  plan(s) {
    const scale = (n(s, 'width') / 0.0625) ** 2 * (n(s, 'batch') / 16) * 3e6;
    return [{ key: 'train', work: n(s, 'steps') * scale, label: `training (lr ${fmt(n(s, 'lr'))})` }, { key: 'analysis', work: 100 * scale, label: 'distance matrices' }, { key: 'initial', work: 50 * scale, label: 'the initial weights' }];
  },
  async run(ctx) {
    const s = ctx.settings;
    const names = list(s, 'layers').map((i) => (i <= 13 ? `conv${i}` : `fc${i}`));
    const run = await trainStage(ctx, 'train', { lr: n(s, 'lr'), labelNoise: n(s, 'labelNoise'), steps: n(s, 'steps'), seed: replicateSeed(ctx.seed, 0) });
    const layers = await analysisStage(ctx, 'analysis', run.weights, names);
    const initial = await initialStage(ctx, 'initial', replicateSeed(ctx.seed, 0));
    const shrink = (l: LayerSummary) => (initial.find((x) => x.name === l.name)?.nearest ?? NaN) - l.nearest;
    const shown = names.map((name) => layers.find((l) => l.name === name)).filter((l): l is LayerSummary => l !== undefined && l.incoming !== undefined);
    const stats = shown.map((l) => {
      const k = l.neurons;
      const din = fromB64(l.incoming!), dout = fromB64(l.outgoing!);
      // cluster label of each neuron (clusters of ≥ 2 only; −1 otherwise)
      const same = new Int32Array(k).fill(-1);
      let at = 0;
      (l.clusterSizes ?? []).forEach((size, c) => { for (let p = 0; p < size; p++) if (size > 1) same[l.order![at + p]] = c; at += size; });
      return { l, din, dout, offIn: pairMean(din, k), offOut: pairMean(dout, k), inIn: pairMean(din, k, same), inOut: pairMean(dout, k, same), clustered: [...same].filter((c) => c >= 0).length };
    });
    const claims: Claim[] = [];
    const shallow = stats[0], deep = stats.slice(1);
    if (shallow && deep.length > 0) {
      const deeper = deep.filter((x) => x.l.fraction < shallow.l.fraction - 0.01 || shrink(x.l) > shrink(shallow.l) + 0.02);
      // a block is a group of ≥ 2 identical neurons: a fraction lowered only by vanishing neurons shows none
      const byFraction = deep.filter((x) => x.l.fraction < shallow.l.fraction - 0.01 && x.l.largestGroup > 1);
      claims.push(claim({
        id: 'deep-blocks',
        statement: `The deep layers (${deep.map((x) => x.l.name).join(', ')}) collapse into blocks; ${shallow.l.name} shows little collapse`,
        measured: stats.map((x) => `${x.l.name}: fraction ${num(x.l.fraction, 3)} (${x.l.vanishing} of ${x.l.neurons} vanished), largest group ${x.l.largestGroup}, nearest-neighbour distance ${num(x.l.nearest, 3)} (${num(-shrink(x.l), 2)} since initialisation)`).join('; '),
        theory: 'collapse onto permutation invariant sets (Proposition 3.2) makes groups of neurons identical',
        paper: 'conv5 uniform near 2; conv11 and fc14 in blocks (fc14: two blocks of ~150 and ~100 of 512)',
        verdict: byFraction.length === deep.length ? 'reproduced' : deeper.length === deep.length ? 'partly reproduced' : 'not reproduced',
        test: `reproduced: each deep layer's fraction of independent neurons below ${shallow.l.name}'s (by > 0.01) and a group of ≥ 2 identical neurons in it; partly: each deep layer's fraction lower (without blocks in every one) or its nearest-neighbour distance fallen more since initialisation than ${shallow.l.name}'s (by > 0.02)`,
      }));
      claims.push(claim({
        id: 'shallow-uniform',
        statement: `${shallow.l.name} looks uniform near distance 2 (near-orthogonal neurons), with a zero diagonal`,
        measured: `mean off-diagonal distance ${num(shallow.offIn, 3)} (incoming), ${num(shallow.offOut, 3)} (outgoing)`,
        theory: 'independent random directions are at distance 2 (equal norms, orthogonal)',
        paper: 'uniform at about 2',
        verdict: verdictOf(Number(Math.abs(shallow.offIn - 2) < 0.5) + Number(Math.abs(shallow.offOut - 2) < 0.5), 2),
        test: 'both mean off-diagonal distances within 2 ± 0.5',
      }));
    }
    const withBlocks = stats.filter((x) => x.clustered > 0);
    claims.push(claim({
      id: 'in-out-agree',
      statement: 'The incoming and the outgoing matrices show the same blocks (collapse onto permutation sets, not mere input similarity)',
      measured: withBlocks.length === 0 ? 'no layer has a group of identical neurons (τ = 0.1) at these settings'
        : withBlocks.map((x) => `${x.l.name}: within blocks ${num(x.inIn, 3)} / ${num(x.inOut, 3)} against ${num(x.offIn, 3)} / ${num(x.offOut, 3)} overall (incoming / outgoing)`).join('; '),
      theory: 'an invariant set A_pq requires equal incoming and equal outgoing weights',
      paper: 'the same blocks in both matrices',
      verdict: withBlocks.length === 0 ? 'inconclusive' : verdictOf(withBlocks.filter((x) => x.inIn < 0.25 * x.offIn && x.inOut < 0.25 * x.offOut).length, withBlocks.length),
      test: 'in each layer with blocks, the mean distance within blocks below a quarter of the overall mean, in both matrices',
    }));

    const figures = [];
    for (const x of stats) {
      const f = await distanceFigure({
        layer: x.l.name, neurons: x.l.neurons, incoming: x.din, outgoing: x.dout, order: x.l.order!, clusterSizes: x.l.clusterSizes!,
        subtitle: [`${netText(s)}, lr ${fmt(n(s, 'lr'))}, ${n(s, 'steps')} steps`, `${x.l.independent} of ${x.l.neurons} neurons independent (τ = 0.1), largest group ${x.l.largestGroup}; colour scale [0, 2.5]`],
      });
      figures.push({ name: `fig3-${x.l.name}`, title: `Distance matrices of ${x.l.name}`, caption: `Incoming (left) and outgoing (right) normalised distances of ${x.l.name}'s ${x.l.neurons} neurons, in the order of the average-linkage clusters of the concatenated distances (largest first); boxes: clusters of two or more.`, svg: f.svg, png: f.png });
    }
    return {
      claims,
      figures,
      files: [
        { name: 'fig3-layers.csv', content: csv(['layer', 'neurons', 'independent', 'fraction', 'vanishing', 'largestGroup', 'nearestDistance'], layers.map((l) => [l.name, l.neurons, l.independent, l.fraction, l.vanishing, l.largestGroup, l.nearest])), description: 'every layer\'s measures' },
        { name: 'fig3-matrices.json', content: JSON.stringify(stats.map((x) => ({ layer: x.l.name, neurons: x.l.neurons, order: x.l.order, clusterSizes: x.l.clusterSizes, incoming: Array.from(x.din, round4), outgoing: Array.from(x.dout, round4) }))) + '\n', description: 'the drawn layers\' distance matrices (row-major, original neuron order, 4 decimals) and the figure\'s order' },
      ],
      sections: [
        { title: 'Every layer', body: table(['layer', 'neurons', 'independent', 'fraction', 'vanishing', 'largest group', 'nearest-neighbour distance', 'at initialisation'], layers.map((l) => [l.name, l.neurons, l.independent, num(l.fraction, 3), l.vanishing, l.largestGroup, num(l.nearest, 3), num(initial.find((x) => x.name === l.name)?.nearest, 3)])) + `\n\nTest accuracy ${(100 * run.testAccuracy).toFixed(1)} %, training loss ${num(run.trainLoss, 3)}.` },
      ],
      differences: [
        'Neurons are ordered by clustering the concatenated distances, as the paper\'s code does; its caption says incoming distances only (PAPER.md §6.9). Ties in the cluster order go to the smallest neuron index (the code\'s argsort was unstable).',
        ...deepDifferences(s),
        'Only the VGG-16 row of the figure: the ResNet-18 / CIFAR-100 row needs `collapse train --model resnet18` and `collapse analyze` (the same analysis).',
      ],
      measured: { layers: layers.map(({ incoming: _i, outgoing: _o, concatenated: _c, ...l }) => l), testAccuracy: run.testAccuracy },
    };
  },
};

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distanceMatrix, openWeights } from '../../src/analysis/analyze.js';
import { lcgArray } from '../../src/bench/problems.js';
import { createEngine, type Engine } from '../../src/index.js';
import { encodeModel } from '../../src/train/checkpoint.js';
import { initialParameters } from '../../src/train/init.js';
import { buildModel } from '../../src/train/presets.js';
import { backendsUnderTest } from '../helpers/backends.js';

for (const backend of await backendsUnderTest()) {
  describe(`the analysis on ${backend}`, () => {
    let engine: Engine;
    beforeAll(async () => { engine = await createEngine({ backend }); });
    afterAll(() => engine.close());

    it('row blocks of the cross form (for layers past one storage binding) give the symmetric call\'s bits', async () => {
      const count = 37, dim = 70, x = lcgArray(count * dim, 3);
      const whole = await distanceMatrix(engine, x, count, dim, 1e-8);
      const blocks = await distanceMatrix(engine, x, count, dim, 1e-8, 5 * count); // 5 rows a call, a short last block
      expect(Buffer.from(blocks.buffer).equals(Buffer.from(whole.buffer))).toBe(true);
      expect(engine.memory().tensors).toBe(0);
    });

    it('engine.analyze on an mnist-cnn checkpoint: both layers, the figure\'s order a permutation, matrices kept when asked', async () => {
      const model = buildModel('mnist-cnn', { inputShape: [1, 28, 28], classes: 10 });
      const bytes = encodeModel(model, { params: initialParameters(model, 5), buffers: new Map(), batchesTracked: 0 }, 0);
      const layers = await engine.analyze(openWeights(bytes, 'init.safetensors'), { layers: ['conv2'], keepMatrices: true });
      expect(layers.map((l) => [l.name, l.neurons, l.inDim, l.outDim])).toEqual([['conv2', 64, 289, 490]]);
      const [l] = layers;
      expect([...(l.order ?? [])].sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, i) => i));
      expect(l.matrices?.concatenated.length).toBe(64 * 64);
      expect(l.fraction).toBe(1); // freshly initialised: nothing collapsed
      expect(engine.memory().tensors).toBe(0);
    });

    it('a layer of one neuron: one independent neuron, one cluster, a 1 × 1 matrix', async () => {
      const model = buildModel('mlp', { inputShape: [1, 2, 2], classes: 3, widths: [1] });
      const bytes = encodeModel(model, { params: initialParameters(model, 2), buffers: new Map(), batchesTracked: 0 }, 0);
      const [l] = await engine.analyze(openWeights(bytes, 'one.safetensors'), { keepMatrices: true });
      expect([l.neurons, l.independent, l.fraction, l.components, l.clusters, l.order, l.clusterSizes]).toEqual([1, 1, 1, 1, 1, [0], [1]]);
      expect(Array.from(l.matrices?.incoming ?? [])).toEqual([0]);
      expect(l.effectiveRank).toBeCloseTo(0, 6);
    });
  });
}

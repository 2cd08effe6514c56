/**
 * The deep-network reproductions (Fig. 3, 4, 6) at a tiny scale on the native backend: they train, analyse and
 * draw; their numbers are the analysis' (recomputed here from the matrices they keep); a training stage stopped in
 * the middle resumes from its blobs to exactly the uninterrupted result; CIFAR without --data-dir is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, createEngine, decodeWeights, syntheticDataset, type Engine } from '../../src/index.js';
import { resultJson } from '../../src/repro/report.js';
import { memoryBlobs, reproduce, type ReproCheckpoint, type ReproResult } from '../../src/repro/run.js';

let engine: Engine;
beforeAll(async () => { engine = await createEngine({ backend: 'native' }); });
afterAll(() => engine?.close());

const VERDICTS = ['reproduced', 'partly reproduced', 'not reproduced', 'inconclusive'];
const TINY_NET = { width: 0.0625, batch: 8, warmup: 20, replicates: 1 };

describe('fig3 (tiny)', () => {
  let r: ReproResult;
  const set = { ...TINY_NET, steps: 200 };
  beforeAll(async () => { r = await reproduce(engine, 'fig3', { set }); }, 300_000);

  it('draws the three layers and measures every layer', () => {
    expect(r.figures.map((f) => f.name)).toEqual(['fig3-conv5', 'fig3-conv11', 'fig3-fc14']);
    const layers = r.measured.layers as { name: string; fraction: number; nearest: number; neurons: number; independent: number }[];
    expect(layers.map((l) => l.name)).toEqual(['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'conv6', 'conv7', 'conv8', 'conv9', 'conv10', 'conv11', 'conv12', 'conv13', 'fc14', 'fc15']);
    for (const l of layers) {
      expect(l.fraction).toBe(l.independent / l.neurons);
      expect(l.nearest).toBeGreaterThan(0);
      expect(l.nearest).toBeLessThan(4);
    }
    for (const c of r.claims) expect(VERDICTS).toContain(c.verdict);
  });

  it('after 200 steps conv5 is still near-orthogonal: off-diagonal distances near 2', () => {
    expect(r.claims.find((c) => c.id === 'shallow-uniform')?.verdict).toBe('reproduced');
    const m = JSON.parse(r.files.find((f) => f.name === 'fig3-matrices.json')!.content as string) as { layer: string; neurons: number; incoming: number[] }[];
    const conv5 = m[0];
    const k = conv5.neurons;
    let sum = 0;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) if (i !== j) sum += conv5.incoming[i * k + j];
    expect(sum / (k * (k - 1))).toBeGreaterThan(1.5);
    for (let i = 0; i < k; i++) expect(conv5.incoming[i * k + i]).toBe(0);
  });

  it('a training stage stopped midway resumes from its checkpoint blob to the uninterrupted result', async () => {
    const blobs = memoryBlobs();
    const controller = new AbortController();
    let checkpoint: ReproCheckpoint | undefined;
    await expect(reproduce(engine, 'fig3', {
      set, blobs, signal: controller.signal,
      onCheckpoint: (c) => {
        checkpoint = JSON.parse(JSON.stringify(c)) as ReproCheckpoint;
        if ((c.state.train as { step?: number } | undefined)?.step === 100) controller.abort();
      },
    })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(checkpoint!.stages).toEqual({});
    expect((checkpoint!.state.train as { step: number }).step).toBeGreaterThanOrEqual(100);
    expect(blobs.read('train.ckpt')).toBeInstanceOf(Uint8Array);
    const resumed = await reproduce(engine, 'fig3', { set, blobs, resume: checkpoint });
    expect(JSON.stringify(resultJson(resumed))).toBe(JSON.stringify(resultJson(r)));
  }, 300_000);
});

describe('fig4 and fig6 (tiny)', () => {
  it('fig4: one run per learning rate and label noise (p = 0 at an lr of the lr sweep is that run), per-layer fractions and distances, three figures', async () => {
    const stages: string[] = [];
    const r = await reproduce(engine, 'fig4', {
      set: { ...TINY_NET, lrs: [0.002, 0.01], noises: [0, 0.8], lrSteps: 150, noiseSteps: 150, noiseLr: 0.01 },
      onProgress: (p) => { if (!stages.includes(p.stage)) stages.push(p.stage); },
    });
    expect(stages.some((x) => x.startsWith('noise sweep: p = 0,'))).toBe(false);
    expect(r.figures.map((f) => f.name)).toEqual(['fig4-lr', 'fig4-noise', 'fig4-nearest']);
    expect((r.measured.lr as unknown[]).length).toBe(2);
    expect((r.measured.noise as unknown[]).length).toBe(2);
    expect(r.claims.map((c) => c.id)).toEqual(['lr-direction', 'noise-direction', 'deeper-collapse', 'early-layers']);
    const csv = (r.files[0].content as string).trim().split('\n');
    expect(csv).toHaveLength(1 + 4 * 15);
    // columns: sweep, value, replicate, layer, …: the p = 0 rows repeat the lr = 0.01 rows
    const rows = (sweep: string, value: string) => csv.map((l) => l.split(',')).filter((c) => c[0] === sweep && c[1] === value).map((c) => c.slice(2).join(','));
    expect(rows('noise', '0')).toEqual(rows('lr', '0.01'));
  }, 300_000);

  it('fig6: phase 1 keeps the weights at each drop, phase 2 fine-tunes from them', async () => {
    const r = await reproduce(engine, 'fig6', { set: { ...TINY_NET, drops: [100, 200], phase2Steps: 100, phase2Decay: 60 } });
    const perDrop = r.measured.perDrop as { drop: number; before: number; after: number; fraction: number }[];
    expect(perDrop.map((x) => x.drop)).toEqual([100, 200]);
    for (const x of perDrop) {
      expect(x.after).toBeGreaterThan(0.05);
      expect(x.fraction).toBeGreaterThan(0);
    }
    const metrics = (r.files[0].content as string).trim().split('\n').slice(1).map((l) => l.split(','));
    // phase 2 rows start at the drop: total step = drop + its own step
    expect(metrics.filter((m) => m[1] === '2' && m[2] === '200').map((m) => Number(m[3]))[0]).toBeGreaterThan(200);
    expect(r.figures.map((f) => f.name)).toEqual(['fig6-accuracy', 'fig6-fraction']);
  }, 300_000);

  it('refuses CIFAR without a data folder, naming the fix', async () => {
    await expect(reproduce(engine, 'fig3', { set: { data: 'cifar10', steps: 10 } })).rejects.toThrow(/--data-dir/);
  });
});

describe('engine.train initialWeights (the phase-2 start of Fig. 6)', () => {
  const data = syntheticDataset({ classes: 3, channels: 1, height: 4, width: 4, trainCount: 64, testCount: 16, seed: 2 });
  const model = () => buildModel('mlp', { inputShape: [1, 4, 4], classes: 3, widths: [8], activation: 'gelu' });

  it('starts from the given weights with a fresh optimizer: lr 0 keeps them exactly, and the run is not a resume', async () => {
    const first = await engine.train({ model: model(), data, lr: 0.1, momentum: 0.9, batchSize: 8, steps: 20, seed: 3 });
    const still = await engine.train({ model: model(), data, lr: 0, momentum: 0.9, batchSize: 8, steps: 5, seed: 4, initialWeights: first.model });
    const a = decodeWeights(first.model, 'first').weights.params, b = decodeWeights(still.model, 'still').weights.params;
    for (const [name, v] of a) expect(b.get(name), name).toEqual(v);
    expect(still.resumedFrom).toBe(0);
    const moved = await engine.train({ model: model(), data, lr: 0.1, batchSize: 8, steps: 5, seed: 4, initialWeights: first.model });
    expect(decodeWeights(moved.model, 'moved').weights.params.get('fc1.weight')).not.toEqual(a.get('fc1.weight'));
    await expect(engine.train({ model: model(), data, lr: 0.1, batchSize: 8, steps: 5, initialWeights: first.model, resume: first.model })).rejects.toThrow(/absent when resuming/);
  });
});

// End to end: SGD on the engine (native), then the collapse analysis of the trained weights. The paper's claim in
// miniature (PAPER.md §3, Fig. 4): more gradient noise, from label noise or a larger learning rate, leaves fewer
// independent neurons. A GELU MLP 16 → 32 → 4 on a seeded synthetic task, 30 000 steps of batch 8 (~4 s each).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, createEngine, openWeights, syntheticDataset, type Engine, type LayerAnalysis } from '../../src/index.js';
import { ensureBuilt, MAIN } from '../helpers/cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'collapse-e2e-'));
const data = syntheticDataset({ classes: 4, channels: 1, height: 4, width: 4, trainCount: 512, testCount: 128, seed: 1 });
let engine: Engine;
beforeAll(async () => { engine = await createEngine({ backend: 'native' }); ensureBuilt(); });
afterAll(() => { engine?.close(); rmSync(TMP, { recursive: true, force: true }); });

const runs = new Map<string, { layer: LayerAnalysis; accuracy: number }>();

async function trainAndAnalyse(name: string, lr: number, labelNoise: number): Promise<{ layer: LayerAnalysis; accuracy: number }> {
  const model = buildModel('mlp', { inputShape: [1, 4, 4], classes: 4, widths: [32], activation: 'gelu' });
  const r = await engine.train({ model, data, lr, batchSize: 8, steps: 30_000, labelNoise, seed: 1, evaluateEvery: 30_000 });
  const dir = join(TMP, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.safetensors'), r.model);
  writeFileSync(join(dir, 'summary.json'), JSON.stringify({ model: 'mlp', lr, labelNoise, seed: 1, testAccuracy: r.testAccuracy }));
  const [layer] = await engine.analyze(openWeights(r.model, `${name}/model.safetensors`), { figure: false });
  const result = { layer, accuracy: r.testAccuracy };
  runs.set(name, result);
  return result;
}

describe('trained on the engine, analysed on the engine', () => {
  it('label noise at a large learning rate collapses neurons; the clean run keeps them all', async () => {
    const clean = await trainAndAnalyse('clean', 0.5, 0);
    const noisy = await trainAndAnalyse('noisy', 0.5, 0.6);
    expect(clean.accuracy).toBeGreaterThan(0.9); // it learned
    expect(clean.layer.independent).toBe(32);
    expect(noisy.layer.independent).toBeLessThanOrEqual(clean.layer.independent - 4);
    expect(noisy.layer.groups.length).toBeGreaterThan(0); // identical neurons, not vanishing ones
    expect(noisy.layer.components).toBeLessThanOrEqual(noisy.layer.independent);
  });

  it('the same label noise at a small learning rate does not', async () => {
    const slow = await trainAndAnalyse('slow', 0.05, 0.6);
    expect(slow.layer.independent).toBeGreaterThan((runs.get('noisy') as { layer: LayerAnalysis }).layer.independent + 4);
  });

  it('collapse compare groups the runs by label noise and draws them', () => {
    const out = join(TMP, 'compare');
    const r = spawnSync(process.execPath, [MAIN, 'compare', join(TMP, 'clean'), join(TMP, 'noisy'), '--backend', 'native', '--quiet', '--out', out], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    expect(report.groupBy).toBe('label noise');
    expect(report.groups.map((g: { label: string; layers: { mean: number }[] }) => [g.label, g.layers[0].mean]))
      .toEqual([['0', runs.get('clean')?.layer.fraction], ['0.6', runs.get('noisy')?.layer.fraction]]);
  });
});

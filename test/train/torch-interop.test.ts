/**
 * Weights move between this engine and PyTorch without renaming or transposing: a model trained here loads
 * into the equivalent torch module (bench/peers/torch_nets.py, reading the safetensors bytes with NumPy) and
 * gives the same test accuracy, and weights trained by PyTorch give the same accuracy here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { loadMnist, type Dataset } from '../../src/train/data/datasets.js';
import { mnistDataDir } from '../../src/train/data/mnist.js';
import { buildModel } from '../../src/train/presets.js';
import { ROOT } from '../helpers/cli.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(ROOT, 'bench/peers/torch_nets.py');
const torchCheck = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
// CI installs python3-torch (.ci/install-system.sh); a machine without it cannot run the PyTorch side.
const hasTorch = torchCheck.status === 0;

function torch(args: string[]): { testAccuracy: number; testLoss: number } {
  const r = spawnSync(PYTHON, [SCRIPT, ...args, '--mnist', mnistDataDir(), '--threads', '1'], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
}

describe.skipIf(!hasTorch)(`PyTorch interop (${hasTorch ? 'torch found' : 'skipped: /usr/bin/python3 cannot import torch; apt install python3-torch'})`, () => {
  let engine: Engine;
  let mnist: Dataset;
  let dir: string;
  beforeAll(async () => {
    engine = await createEngine({ backend: 'native' });
    mnist = await loadMnist();
    dir = mkdtempSync(join(tmpdir(), 'sc-interop-'));
  });
  afterAll(() => { engine?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('a mnist-cnn trained here gives the same test accuracy in torch', async () => {
    const model = buildModel('mnist-cnn', { inputShape: [1, 28, 28], classes: 10 });
    const r = await engine.train({ model, data: mnist, lr: 0.05, momentum: 0.9, batchSize: 64, steps: 60, seed: 8, evaluateEvery: 60 });
    const file = join(dir, 'ours.safetensors');
    writeFileSync(file, r.model);
    const theirs = torch(['eval', '--model', 'mnist-cnn', '--weights', file]);
    // f32 sums in another order: an example whose top two logits nearly tie may flip.
    expect(Math.abs(theirs.testAccuracy - r.testAccuracy)).toBeLessThanOrEqual(2e-4);
    expect(Math.abs(theirs.testLoss - r.testLoss)).toBeLessThan(1e-4);
  }, 120_000);

  it('weights trained by torch give the same test accuracy here', async () => {
    const file = join(dir, 'theirs.safetensors');
    const theirs = torch(['train', '--model', 'mnist-cnn', '--steps', '40', '--batch', '64', '--lr', '0.05', '--out', file]);
    const model = buildModel('mnist-cnn', { inputShape: [1, 28, 28], classes: 10 });
    const ours = await engine.evaluate({ weights: new Uint8Array(readFileSync(file)), model, split: mnist.test });
    expect(theirs.testAccuracy).toBeGreaterThan(0.8);
    expect(Math.abs(ours.accuracy - theirs.testAccuracy)).toBeLessThanOrEqual(2e-4);
    expect(Math.abs(ours.loss - theirs.testLoss)).toBeLessThan(1e-4);
  }, 120_000);

  it('ResNet-18 (BatchNorm buffers, downsample names) loads into torch and evaluates alike', async () => {
    const model = buildModel('resnet18', { inputShape: [1, 32, 32], classes: 10, width: 1 / 16 });
    const padded = await loadMnist({ pad: 2 });
    const r = await engine.train({ model, data: padded, lr: 0.05, momentum: 0.9, batchSize: 32, steps: 20, seed: 2, evaluateEvery: 20 });
    const file = join(dir, 'resnet.safetensors');
    writeFileSync(file, r.model);
    const theirs = torch(['eval', '--model', 'resnet18', '--width', String(1 / 16), '--pad', '2', '--weights', file]);
    expect(Math.abs(theirs.testAccuracy - r.testAccuracy)).toBeLessThanOrEqual(3e-4);
  }, 180_000);
});

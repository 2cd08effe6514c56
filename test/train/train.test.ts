/**
 * The training path end to end: the executor's gradients against finite differences of the whole network,
 * backends against js, determinism, resume, divergence, and a real MNIST run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsBackend } from '../../src/backends/js.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { Executor, type ModelState } from '../../src/train/executor.js';
import { ModelBuilder, type Model } from '../../src/train/graph.js';
import { initialParameters } from '../../src/train/init.js';
import { buildModel } from '../../src/train/presets.js';
import { loadMnist, syntheticDataset } from '../../src/train/data/datasets.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { randomArray } from '../kernels/cases.js';

/** A small network with every layer kind: conv (with and without bias), BatchNorm, GELU, tanh, ReLU, max-pool, residual add, average pool, flatten, linear. */
function tinyNet(): Model {
  const b = new ModelBuilder({ name: 'tiny', inputShape: [2, 6, 6], classes: 3 });
  let x = b.gelu(b.batchnorm2d(b.conv2d(b.input, 'stem', { outChannels: 4, kernel: 3, padding: 1, bias: false }), 'bn'));
  const y = b.activation(b.conv2d(x, 'branch', { outChannels: 4, kernel: 3, padding: 1 }), 'tanh');
  x = b.relu(b.add(y, x));
  const pooled = b.maxpool2d(x, 2);
  const side = b.flatten(b.avgpool(pooled));
  return b.build(b.linear(b.relu(b.linear(side, 'fc1', 5)), 'fc2', 3));
}

async function upload(backend: JsBackend, model: Model, seed: number): Promise<ModelState> {
  const init = initialParameters(model, seed);
  const make = (shape: readonly number[], values?: Float32Array) => {
    const t = backend.alloc('f32', [...shape]);
    backend.write(t, values ?? new Float32Array(shape.reduce((a, c) => a * c, 1)));
    return t;
  };
  return {
    params: new Map(model.params.map((p) => [p.name, make(p.shape, init.get(p.name))])),
    grads: new Map(model.params.map((p) => [p.name, make(p.shape)])),
    momenta: new Map(model.params.map((p) => [p.name, make(p.shape)])),
    buffers: new Map(model.buffers.map((b) => [b.name, make(b.shape, new Float32Array(b.shape[0]).fill(b.value))])),
  };
}

describe('the executor', () => {
  it('computes the gradient of the mean loss of a network with every layer kind (finite differences on js)', async () => {
    const backend = new JsBackend();
    const model = tinyNet();
    const batch = 5;
    const state = await upload(backend, model, 11);
    const ex = new Executor(backend, model, state, batch, true);
    const images = randomArray(batch * 72, 5);
    const labels = Uint32Array.from({ length: batch }, (_, i) => i % 3);
    backend.write(ex.input, images);
    backend.write(ex.labels, labels);
    const loss = async () => { ex.run(); return (await backend.read(ex.stats))[0]; };
    await loss();
    // BatchNorm in training mode updates its running statistics at every forward pass; they do not enter the loss.
    // Per parameter tensor, the derivative along its own gradient direction v = g/|g| must be |g|. One
    // directional difference averages the f32 rounding of many entries, so it is a sharp test of the wiring
    // (residual sums, BatchNorm, pooling) rather than of the kernels, which test/kernels checks entry by entry.
    for (const p of model.params) {
      const grad = (await backend.read(state.grads.get(p.name)!)) as Float32Array;
      const t = state.params.get(p.name)!;
      const values = (await backend.read(t)) as Float32Array;
      const norm = Math.sqrt(grad.reduce((s2, v) => s2 + v * v, 0));
      const h = 1e-3;
      const at = (sign: number) => { backend.write(t, values.map((v, i) => v + sign * h * grad[i] / norm)); return loss(); };
      const fd = ((await at(1)) - (await at(-1))) / (2 * h);
      backend.write(t, values);
      // f32 losses (≈ 1) carry ~1e-6 of rounding, i.e. ~1e-3 in the quotient; curvature and kinks add O(h).
      expect(Math.abs(fd - norm), `${p.name}: finite difference ${fd}, |gradient| ${norm}`).toBeLessThan(0.02 * norm + 3e-3);
    }
    ex.release();
  });
});

const data = syntheticDataset({ classes: 4, channels: 1, height: 8, width: 8, trainCount: 256, testCount: 64, seed: 2 });
const small = () => buildModel('mlp', { inputShape: [1, 8, 8], classes: 4, widths: [16] });

for (const name of await backendsUnderTest()) {
  describe(`training on ${name}`, () => {
    let engine: Engine;
    let js: Engine;
    beforeAll(async () => { engine = await createEngine({ backend: name }); js = await createEngine({ backend: 'js' }); });
    afterAll(() => { engine?.close(); js?.close(); });

    it('gives the weights of the js reference after a few steps (momentum, weight decay, label noise)', async () => {
      const options = { model: small(), data, lr: 0.1, momentum: 0.9, weightDecay: 5e-4, labelNoise: 0.2, batchSize: 32, steps: 5, seed: 4, evaluateEvery: 5 };
      const got = await engine.train(options);
      const want = await js.train(options);
      for (const [key, w] of want.weights.params) {
        const g = got.weights.params.get(key)!;
        const worst = w.reduce((m, v, i) => Math.max(m, Math.abs(v - g[i])), 0);
        expect(worst, key).toBeLessThan(1e-4);
      }
      expect(Math.abs(got.testLoss - want.testLoss)).toBeLessThan(1e-4);
    });
  });
}

describe('training runs (native)', () => {
  let engine: Engine;
  beforeAll(async () => { engine = await createEngine({ backend: 'native' }); });
  afterAll(() => engine?.close());

  it('the same seed gives byte-identical model.safetensors; another seed does not', async () => {
    const options = { model: small(), data, lr: 0.05, momentum: 0.9, batchSize: 16, steps: 40, seed: 9, evaluateEvery: 20 };
    const a = await engine.train(options);
    const b = await engine.train(options);
    expect(Buffer.from(a.model).equals(Buffer.from(b.model))).toBe(true);
    const c = await engine.train({ ...options, seed: 10 });
    expect(Buffer.from(a.model).equals(Buffer.from(c.model))).toBe(false);
    expect(decodeSafetensors(a.model).tensors['fc1.weight'].shape).toEqual([16, 64]);
  });

  it('stopped and resumed from its checkpoint, a run ends with the same weights and metrics as an uninterrupted one', async () => {
    const model = buildModel('resnet18', { inputShape: [1, 8, 8], classes: 4, width: 1 / 16 });
    const options = { model, data, lr: 0.05, momentum: 0.9, weightDecay: 5e-4, labelNoise: 0.3, batchSize: 16, steps: 24, seed: 5, evaluateEvery: 8 };
    const whole = await engine.train(options);
    const controller = new AbortController();
    let saved: Uint8Array | undefined;
    await expect(engine.train({
      ...options, signal: controller.signal,
      onStep: (p) => { if (p.step === 13) controller.abort(); },
      onCheckpoint: ({ bytes }) => { saved = bytes; },
    })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(saved).toBeDefined();
    const resumed = await engine.train({ ...options, resume: saved });
    expect(resumed.resumedFrom).toBe(13);
    expect(Buffer.from(resumed.model).equals(Buffer.from(whole.model))).toBe(true);
    // the row at step 16 averages steps 9–16 across the stop at 13 (the checkpoint carries the sums since step 8)
    expect(resumed.history).toEqual(whole.history);
    await expect(engine.train({ ...options, lr: 0.1, resume: saved })).rejects.toThrow(/trained with lr = 0.05, not 0.1/);
  });

  it('stops with DIVERGED when the loss becomes NaN, naming the steps', async () => {
    await expect(engine.train({ model: small(), data, lr: 1e8, batchSize: 16, steps: 20, seed: 1, evaluateEvery: 5 }))
      .rejects.toMatchObject({ code: 'DIVERGED', message: expect.stringMatching(/between steps \d+ and \d+/) });
  });

  it('refuses data that does not fit the model, naming the dimension', async () => {
    const model = buildModel('mnist-cnn', { inputShape: [1, 28, 28], classes: 10 });
    await expect(engine.train({ model, data, lr: 0.1, steps: 1 })).rejects.toThrow(/data height must be 28/);
  });

  it('mnist-cnn reaches ≥ 97 % test accuracy on MNIST in 600 steps (batch 128, lr 0.05, momentum 0.9)', async () => {
    const mnist = await loadMnist();
    const model = buildModel('mnist-cnn', { inputShape: [1, 28, 28], classes: 10 });
    const r = await engine.train({ model, data: mnist, lr: 0.05, momentum: 0.9, batchSize: 128, steps: 600, seed: 3, evaluateEvery: 600 });
    expect(r.testAccuracy).toBeGreaterThanOrEqual(0.97);
    const again = await engine.evaluate({ weights: r.model, split: mnist.test });
    expect(again.accuracy).toBe(r.testAccuracy);
  }, 300_000);
});

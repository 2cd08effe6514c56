import { describe, expect, it } from 'vitest';
import { ModelBuilder, parameterCount } from '../../src/train/graph.js';
import { buildModel } from '../../src/train/presets.js';
import { initialParameters } from '../../src/train/init.js';
import { checkSchedule, learningRate } from '../../src/train/schedule.js';

describe('preset networks', () => {
  it('VGG-16 and ResNet-18 have the parameter counts of PAPER.md §5 (15 245 130 and 11 220 132)', () => {
    expect(parameterCount(buildModel('vgg16', { inputShape: [3, 32, 32], classes: 10 }))).toBe(15_245_130);
    expect(parameterCount(buildModel('resnet18', { inputShape: [3, 32, 32], classes: 100 }))).toBe(11_220_132);
  });

  it('mnist-cnn is conv 1→32, conv 32→64, linear 3136→10, with PyTorch names and layouts', () => {
    const m = buildModel('mnist-cnn', { inputShape: [1, 28, 28], classes: 10 });
    expect(m.params.map((p) => `${p.name}:${p.shape.join('x')}`)).toEqual([
      'conv1.weight:32x1x3x3', 'conv1.bias:32', 'conv2.weight:64x32x3x3', 'conv2.bias:64', 'fc.weight:10x3136', 'fc.bias:10',
    ]);
  });

  it('ResNet-18 uses torchvision names (downsample, bn running statistics) and its shortcut only where shapes change', () => {
    const m = buildModel('resnet18', { inputShape: [3, 32, 32], classes: 100, width: 0.25 });
    const names = m.params.map((p) => p.name);
    expect(names).toContain('layer2.0.downsample.0.weight');
    expect(names).toContain('layer2.0.downsample.1.weight');
    expect(names).not.toContain('layer1.0.downsample.0.weight');
    expect(names).not.toContain('conv1.bias');
    expect(m.buffers.map((b) => b.name)).toContain('layer4.1.bn2.running_var');
    expect(m.shapes.at(-1)).toEqual([100, 1, 1]);
    expect(m.params.find((p) => p.name === 'layer4.1.conv2.weight')?.shape).toEqual([128, 128, 3, 3]);
  });

  it('width scales every layer; VGG-16 on 28×28 is refused with the layer that does not fit', () => {
    expect(parameterCount(buildModel('vgg16', { inputShape: [1, 32, 32], classes: 10, width: 0.25 }))).toBeLessThan(1_000_000);
    expect(() => buildModel('vgg16', { inputShape: [1, 28, 28], classes: 10 })).toThrow(/maxpool2d .* input must be height and width of at least 2/);
    expect(() => buildModel('resnet', { inputShape: [1, 28, 28], classes: 10 })).toThrow(/model must be one of mnist-cnn, mlp, vgg16, resnet18/);
  });

  it('the builder names the layer and the dimension that do not fit', () => {
    const b = new ModelBuilder({ name: 'bad', inputShape: [1, 4, 4], classes: 10 });
    expect(() => b.conv2d(b.input, 'conv1', { outChannels: 2, kernel: 7 })).toThrow(/layer 'conv1' input must be height and width of at least 7/);
    expect(() => b.linear(b.input, 'fc', 10)).toThrow(/layer 'fc' input .*flatten/);
    const x = b.conv2d(b.input, 'c', { outChannels: 2, kernel: 3, padding: 1 });
    expect(() => b.add(x, b.input)).toThrow(/two values of the same shape/);
  });
});

describe('initial weights', () => {
  it('follow the initialisers: Kaiming-normal std √(2/fan_in) for VGG, zero biases, PyTorch uniform bounds', () => {
    const vgg = buildModel('vgg16', { inputShape: [3, 32, 32], classes: 10, width: 0.5 });
    const init = initialParameters(vgg, 7);
    const w = init.get('conv2.weight') as Float32Array; // 32 × 32 × 3 × 3
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    const want = Math.sqrt(2 / (32 * 9));
    // The sample std of n normals has relative SE 1/√(2n).
    expect(Math.abs(std / want - 1)).toBeLessThan(4 / Math.sqrt(2 * w.length));
    expect((init.get('conv2.bias') as Float32Array).every((v) => v === 0)).toBe(true);
    const cnn = initialParameters(buildModel('mnist-cnn', { inputShape: [1, 28, 28], classes: 10 }), 7);
    const fc = cnn.get('fc.weight') as Float32Array;
    const bound = 1 / Math.sqrt(3136);
    expect(Math.max(...fc.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...fc.map(Math.abs))).toBeGreaterThan(0.99 * bound);
  });

  it('depend only on the seed and the parameter, not on the other layers', () => {
    const a = initialParameters(buildModel('mlp', { inputShape: [1, 8, 8], classes: 10, widths: [32] }), 3);
    const b = initialParameters(buildModel('mlp', { inputShape: [1, 8, 8], classes: 10, widths: [32] }), 3);
    const c = initialParameters(buildModel('mlp', { inputShape: [1, 8, 8], classes: 10, widths: [32] }), 4);
    expect(a.get('fc1.weight')).toEqual(b.get('fc1.weight'));
    expect(a.get('fc1.weight')).not.toEqual(c.get('fc1.weight'));
  });
});

describe('learning-rate schedules', () => {
  it('warm up linearly from 0 and drop by gamma at each milestone', () => {
    const s = checkSchedule({ warmupSteps: 10, drops: [20, 30], gamma: 0.5 });
    expect([0, 5, 10, 19, 20, 29, 30, 100].map((t) => learningRate(0.1, s, t))).toEqual([0, 0.05, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025]);
    expect(learningRate(0.1, checkSchedule(undefined), 123)).toBe(0.1);
    expect(() => checkSchedule({ drops: [5, 3] })).toThrow(/increasing/);
  });
});

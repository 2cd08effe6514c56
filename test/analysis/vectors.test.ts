import { describe, expect, it } from 'vitest';
import { parseLayerMap } from '../../src/analysis/layer-map.js';
import { concatenated, modelChain, neuronVectors, safetensorsSource, type TensorSource } from '../../src/analysis/vectors.js';
import { lcgArray } from '../../src/bench/problems.js';
import type { NamedTensor } from '../../src/io/safetensors.js';
import { ModelBuilder } from '../../src/train/graph.js';
import { buildModel } from '../../src/train/presets.js';

/** A tensor source over named arrays holding 0, 1, 2, ... (so every extracted entry names its origin). */
function iota(shapes: Record<string, number[]>): TensorSource {
  const data = new Map(Object.entries(shapes).map(([n, s]) => [n, Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, (_, i) => i)]));
  return (name) => (data.has(name) ? { shape: shapes[name], data: data.get(name) as Float32Array } : undefined);
}

describe('chains of the engine presets (PAPER.md §4.1)', () => {
  it('mnist-cnn: conv1, conv2, fc; mlp: fc1..fc3', () => {
    expect(modelChain(buildModel('mnist-cnn', { inputShape: [1, 28, 28], classes: 10 })).map((l) => l.name)).toEqual(['conv1', 'conv2', 'fc']);
    expect(modelChain(buildModel('mlp', { inputShape: [1, 28, 28], classes: 10, widths: [32, 16] })).map((l) => [l.name, l.bias])).toEqual([['fc1', 'fc1.bias'], ['fc2', 'fc2.bias'], ['fc3', 'fc3.bias']]);
  });

  it('vgg16: conv1..conv13, fc14..fc16, with biases', () => {
    const chain = modelChain(buildModel('vgg16', { inputShape: [3, 32, 32], classes: 10, width: 0.125 }));
    expect(chain.map((l) => l.name)).toEqual([...Array.from({ length: 13 }, (_, i) => `conv${i + 1}`), 'fc14', 'fc15', 'fc16']);
    expect(chain.every((l) => l.bias === `${l.name}.bias`)).toBe(true);
  });

  it('resnet18: the paper\'s 18 weights (stem, block convs, fc), shortcuts and BatchNorm left out, no conv biases', () => {
    const chain = modelChain(buildModel('resnet18', { inputShape: [3, 32, 32], classes: 100, width: 0.125 }));
    const blocks = [1, 2, 3, 4].flatMap((s) => [0, 1].flatMap((b) => [`layer${s}.${b}.conv1`, `layer${s}.${b}.conv2`]));
    expect(chain.map((l) => l.name)).toEqual(['conv1', ...blocks, 'fc']);
    expect(chain.slice(0, -1).every((l) => l.bias === undefined)).toBe(true);
  });
});

describe('incoming and outgoing vectors', () => {
  it('conv → conv: the filter plus bias in, W_next[:, c, :, :] out', () => {
    const src = iota({ 'a.weight': [2, 3, 1, 2], 'a.bias': [2], 'b.weight': [4, 2, 1, 1] });
    const [v] = neuronVectors(src, [{ name: 'a', weight: 'a.weight', bias: 'a.bias' }, { name: 'b', weight: 'b.weight' }]);
    expect([v.neurons, v.inDim, v.outDim, v.kind]).toEqual([2, 7, 4, 'conv2d']);
    expect(Array.from(v.incoming)).toEqual([0, 1, 2, 3, 4, 5, /* bias */ 0, 6, 7, 8, 9, 10, 11, /* bias */ 1]);
    // b.weight [4, 2]: channel 0 is read by entries 0, 2, 4, 6; channel 1 by 1, 3, 5, 7
    expect(Array.from(v.outgoing)).toEqual([0, 2, 4, 6, 1, 3, 5, 7]);
    expect(Array.from(concatenated(v))).toEqual([0, 1, 2, 3, 4, 5, 0, 0, 2, 4, 6, 6, 7, 8, 9, 10, 11, 1, 1, 3, 5, 7]);
  });

  it('conv → flatten → linear: the S = H·W columns of each channel (torch.flatten order)', () => {
    // 2 channels at 2×2 positions → linear [3, 8]: channel c reads columns 4c .. 4c + 3 of every row
    const src = iota({ 'a.weight': [2, 1, 1, 1], 'fc.weight': [3, 8] });
    const [v] = neuronVectors(src, [{ name: 'a', weight: 'a.weight' }, { name: 'fc', weight: 'fc.weight' }]);
    expect(v.outDim).toBe(12);
    expect(Array.from(v.outgoing.subarray(0, 12))).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19]);
    expect(Array.from(v.outgoing.subarray(12))).toEqual([4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23]);
  });

  it('a real mnist-cnn: conv2 (64 channels at 7×7) is read by 49 columns of fc per channel', () => {
    const model = buildModel('mnist-cnn', { inputShape: [1, 28, 28], classes: 10 });
    const shapes = Object.fromEntries(model.params.map((p) => [p.name, [...p.shape]]));
    const layers = neuronVectors(iota(shapes), modelChain(model));
    expect(layers.map((l) => [l.name, l.neurons, l.inDim, l.outDim, l.next])).toEqual([['conv1', 32, 10, 64 * 9, 'conv2'], ['conv2', 64, 32 * 9 + 1, 10 * 49, 'fc']]);
    expect(layers[1].outgoing[1]).toBe(1); // fc.weight[0][1]: channel 0, position 1
    expect(layers[1].outgoing[490]).toBe(49); // channel 1 starts at column 49
  });

  it('refuses mismatched chains, naming the tensors and shapes', () => {
    const src = iota({ 'a.weight': [4, 3], 'a.bias': [3], 'b.weight': [2, 5], 'c.weight': [2, 3, 3, 3], 'v.weight': [4] });
    const chain = (...n: string[]) => n.map((x) => ({ name: x, weight: `${x}.weight` }));
    expect(() => neuronVectors(src, chain('a', 'b'))).toThrow(/layer 'a' \(a.weight, 4×3\) has 4 outputs but the next layer 'b' \(b.weight, 2×5\) reads 5 inputs, not a multiple of 4/);
    expect(() => neuronVectors(src, chain('a', 'c'))).toThrow(/next layer 'c' \(c.weight, 2×3×3×3\) reads 3 channels/);
    expect(() => neuronVectors(src, [{ name: 'a', weight: 'a.weight', bias: 'a.bias' }, ...chain('b')])).toThrow(/bias 'a.bias' is 3, expected \[4\]/);
    expect(() => neuronVectors(src, chain('a', 'x'))).toThrow(/layer 'x': no tensor 'x.weight' in the weights/);
    expect(() => neuronVectors(src, chain('v', 'a'))).toThrow(/tensor 'v.weight' is 4; a weight must be \[out, in\]/);
    expect(() => neuronVectors(src, chain('a'))).toThrow(/at least two are needed/);
    expect(() => neuronVectors(src, chain('a', 'a'))).toThrow(/names 'a' twice/);
    expect(() => neuronVectors(src, chain('a', 'b'), ['b'])).toThrow(/layer 'b' is the last of the chain/);
    expect(() => neuronVectors(src, chain('a', 'b'), ['q'])).toThrow(/no layer 'q'; the layers are a/);
  });

  it('converts F64, F16 and BF16 tensors to f32 and refuses integer ones', () => {
    const t: Record<string, NamedTensor> = {
      a: { dtype: 'F64', shape: [2], data: Float64Array.of(0.5, -2) },
      h: { dtype: 'F16', shape: [3], data: Uint16Array.of(0x3c00, 0xc000, 0x3555) },
      b: { dtype: 'BF16', shape: [1], data: Uint16Array.of(0x3fc0) },
      i: { dtype: 'I32', shape: [1], data: Int32Array.of(1) },
    };
    const src = safetensorsSource(t, 'w.safetensors');
    expect(Array.from(src('a')?.data ?? [])).toEqual([0.5, -2]);
    expect(Array.from(src('h')?.data ?? [])).toEqual([1, -2, expect.closeTo(1 / 3, 3) as unknown as number]);
    expect(Array.from(src('b')?.data ?? [])).toEqual([1.5]);
    expect(() => src('i')).toThrow(/w.safetensors: tensor 'i' is I32; weights must be F32, F64, F16 or BF16/);
    expect(src('missing')).toBeUndefined();
  });
});

describe('layer maps', () => {
  /** torchvision VGG-16 names and shapes, channels divided by `div` (the documented worked example). */
  function torchvisionVgg16(div: number): Record<string, number[]> {
    const convs = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512].map((c) => c / div);
    const index = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
    const shapes: Record<string, number[]> = {};
    let inC = 3;
    convs.forEach((c, i) => { shapes[`features.${index[i]}.weight`] = [c, inC, 3, 3]; shapes[`features.${index[i]}.bias`] = [c]; inC = c; });
    const fc = 4096 / div;
    shapes['classifier.0.weight'] = [fc, inC * 49]; shapes['classifier.0.bias'] = [fc];
    shapes['classifier.3.weight'] = [fc, fc]; shapes['classifier.3.bias'] = [fc];
    shapes['classifier.6.weight'] = [1000, fc]; shapes['classifier.6.bias'] = [1000];
    return shapes;
  }

  it('the README / layer-map.ts worked example: torchvision VGG-16 by module prefixes', () => {
    const map = { layers: ['features.0', 'features.2', 'features.5', 'features.7', 'features.10', 'features.12', 'features.14', 'features.17', 'features.19', 'features.21', 'features.24', 'features.26', 'features.28', 'classifier.0', 'classifier.3', 'classifier.6'] };
    const shapes = torchvisionVgg16(16);
    const chain = parseLayerMap(map, 'vgg16.json', (n) => n in shapes);
    expect(chain[0]).toEqual({ name: 'features.0', weight: 'features.0.weight', bias: 'features.0.bias' });
    const layers = neuronVectors(iota(shapes), chain);
    expect(layers.length).toBe(15);
    const conv13 = layers[12];
    expect([conv13.name, conv13.neurons, conv13.inDim, conv13.outDim, conv13.next]).toEqual(['features.28', 32, 32 * 9 + 1, 256 * 49, 'classifier.0']);
    expect([layers[14].name, layers[14].outDim]).toEqual(['classifier.3', 1000]);
  });

  it('objects with names, biases absent or null; a prefix without a bias tensor has none', () => {
    const chain = parseLayerMap({ layers: [{ name: 'stem', weight: 'conv1.weight' }, { weight: 'layer1.0.conv1.weight', bias: null }, 'fc'] }, 'm', (n) => n === 'fc.bias');
    expect(chain).toEqual([{ name: 'stem', weight: 'conv1.weight' }, { name: 'layer1.0.conv1', weight: 'layer1.0.conv1.weight' }, { name: 'fc', weight: 'fc.weight', bias: 'fc.bias' }]);
  });

  it('refuses malformed maps with the entry and the expected form', () => {
    const has = () => false;
    expect(() => parseLayerMap([1, 2], 'm.json', has)).toThrow(/layer map m.json: expected a JSON object \{"layers": \[\.\.\.\]\}/);
    expect(() => parseLayerMap({ layers: ['a'] }, 'm.json', has)).toThrow(/has 1 entry; at least two/);
    expect(() => parseLayerMap({ layers: ['a', 3] }, 'm.json', has)).toThrow(/layers\[1\] is 3; each entry is a module prefix string or an object/);
    expect(() => parseLayerMap({ layers: ['a', { weight: 'b.weight', bais: 'x' }] }, 'm.json', has)).toThrow(/unknown key "bais"/);
    expect(() => parseLayerMap({ layers: ['a', { name: 'b' }] }, 'm.json', has)).toThrow(/layers\[1\] needs "weight"/);
    expect(() => parseLayerMap({ layers: ['', 'b'] }, 'm.json', has)).toThrow(/empty string/);
  });

  it('a model analysed twice through different maps gives the same vectors', () => {
    const src = iota({ 'x.weight': [3, 2], 'x.bias': [3], 'y.weight': [2, 3] });
    const a = neuronVectors(src, parseLayerMap({ layers: ['x', 'y'] }, 'm', (n) => n === 'x.bias'))[0];
    const b = neuronVectors(src, parseLayerMap({ layers: [{ weight: 'x.weight', bias: 'x.bias' }, { weight: 'y.weight' }] }, 'm', () => false))[0];
    expect(Array.from(a.incoming)).toEqual(Array.from(b.incoming));
    expect(a.name).toBe(b.name);
  });

  it('lcgArray-filled real shapes survive a round trip through concatenated()', () => {
    const src: TensorSource = (n) => (n === 'p.weight' ? { shape: [5, 4], data: lcgArray(20, 1) } : n === 'q.weight' ? { shape: [3, 5], data: lcgArray(15, 2) } : undefined);
    const [v] = neuronVectors(src, [{ name: 'p', weight: 'p.weight' }, { name: 'q', weight: 'q.weight' }]);
    const cat = concatenated(v);
    expect(cat.length).toBe(5 * (4 + 3));
    for (let c = 0; c < 5; c++) expect(cat[c * 7 + 4]).toBe(lcgArray(15, 2)[c]);
  });
});

describe('ModelBuilder chains with shortcuts', () => {
  it('a weight layer reading a value another already reads is a shortcut', () => {
    const b = new ModelBuilder({ name: 'res', inputShape: [2, 4, 4], classes: 3 });
    const x = b.conv2d(b.input, 'stem', { outChannels: 4, kernel: 3, padding: 1 });
    const y = b.conv2d(x, 'main', { outChannels: 4, kernel: 3, padding: 1 });
    const s = b.conv2d(x, 'short', { outChannels: 4, kernel: 1 });
    const model = b.build(b.linear(b.flatten(b.avgpool(b.add(y, s))), 'fc', 3));
    expect(modelChain(model).map((l) => l.name)).toEqual(['stem', 'main', 'fc']);
  });
});

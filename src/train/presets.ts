/**
 * The networks of the paper (PAPER.md §5) and of the peer benchmarks, by name, with PyTorch's parameter names
 * so that weights move to and from PyTorch without renaming or transposing.
 */
import { invalidArgument } from '../errors.js';
import { kaimingNormal, ModelBuilder, torchDefault, type ActivationKind, type Model, type ModelSpec, type Shape, type Value } from './graph.js';

export const PRESETS = ['mnist-cnn', 'mlp', 'vgg16', 'resnet18'] as const;
export type PresetName = (typeof PRESETS)[number];

export interface PresetOptions {
  readonly inputShape: Shape;
  readonly classes: number;
  /** Channel multiplier for vgg16 / resnet18 (1 = the paper's widths); each layer keeps at least 1 channel. */
  readonly width?: number;
  /** Hidden widths of `mlp` (default [256, 256]). */
  readonly widths?: readonly number[];
  /** Activation of `mlp` (default relu). */
  readonly activation?: ActivationKind;
}

/** One line per preset, for `--help` and errors. */
export const PRESET_SUMMARIES: Readonly<Record<PresetName, string>> = {
  'mnist-cnn': 'conv 32 3×3, ReLU, maxpool 2, conv 64 3×3, ReLU, maxpool 2, linear → classes (the peer benchmarks\' CNN)',
  mlp: 'flatten, linear layers of --widths with ReLU (or --activation), linear → classes',
  vgg16: 'VGG-16 with GELU, no BatchNorm, Kaiming-normal fan_in (PAPER.md §5.1); --width scales the channels',
  resnet18: 'CIFAR ResNet-18 with GELU and BatchNorm, torchvision init (PAPER.md §5.2); --width scales the channels',
};

/**
 * Builds a preset network for inputs of `inputShape` and `classes` outputs.
 * @example
 * const model = buildModel('mnist-cnn', { inputShape: [1, 28, 28], classes: 10 });
 */
export function buildModel(name: string, options: PresetOptions): Model {
  if (!(PRESETS as readonly string[]).includes(name)) throw invalidArgument('model', name, `one of ${PRESETS.join(', ')}`);
  const width = options.width ?? 1;
  if (!(Number.isFinite(width) && width > 0 && width <= 16)) throw invalidArgument('width', options.width, 'a number in (0, 16]');
  const spec: ModelSpec = {
    name, inputShape: options.inputShape, classes: options.classes,
    ...(name === 'vgg16' || name === 'resnet18' ? { width } : {}),
    ...(name === 'mlp' ? { widths: [...(options.widths ?? [256, 256])], activation: options.activation ?? 'relu' } : {}),
  };
  if (!Number.isInteger(spec.classes) || spec.classes < 2) throw invalidArgument('classes', spec.classes, 'an integer ≥ 2');
  const b = new ModelBuilder(spec);
  const scale = (c: number) => Math.max(1, Math.round(c * width));
  switch (name as PresetName) {
    case 'mnist-cnn': {
      let x = b.maxpool2d(b.relu(b.conv2d(b.input, 'conv1', { outChannels: 32, kernel: 3, padding: 1 })), 2);
      x = b.maxpool2d(b.relu(b.conv2d(x, 'conv2', { outChannels: 64, kernel: 3, padding: 1 })), 2);
      return b.build(b.linear(b.flatten(x), 'fc', spec.classes));
    }
    case 'mlp': {
      const widths = spec.widths as readonly number[];
      widths.forEach((w, i) => { if (!Number.isInteger(w) || w < 1) throw invalidArgument(`widths[${i}]`, w, 'a positive integer'); });
      let x = b.flatten(b.input);
      widths.forEach((w, i) => { x = b.activation(b.linear(x, `fc${i + 1}`, w), spec.activation as ActivationKind); });
      return b.build(b.linear(x, `fc${widths.length + 1}`, spec.classes));
    }
    case 'vgg16':
      return vgg16(b, scale, spec.classes);
    case 'resnet18':
      return resnet18(b, scale, spec.classes);
  }
}

/** PAPER.md §5.1: 13 convs 3×3 pad 1 with bias and GELU, max-pool after conv 2, 4, 7, 10, 13; fc14, fc15 (GELU), fc16. */
function vgg16(b: ModelBuilder, scale: (c: number) => number, classes: number): Model {
  const stages = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];
  let x: Value = b.input;
  let layer = 0;
  for (const stage of stages) {
    for (const channels of stage) {
      layer++;
      const fanIn = x.shape[0] * 9;
      x = b.gelu(b.conv2d(x, `conv${layer}`, { outChannels: scale(channels), kernel: 3, padding: 1, init: kaimingNormal(fanIn), biasInit: ZERO }));
    }
    x = b.maxpool2d(x, 2);
  }
  x = b.flatten(x);
  for (const name of ['fc14', 'fc15']) x = b.gelu(b.linear(x, name, scale(512), { init: kaimingNormal(x.shape[0]), biasInit: ZERO }));
  return b.build(b.linear(x, 'fc16', classes, { init: kaimingNormal(x.shape[0]), biasInit: ZERO }));
}

const ZERO = { kind: 'constant', value: 0 } as const;

/**
 * PAPER.md §5.2: torchvision resnet18 with a 3×3 stride-1 stem without max-pool and GELU everywhere; convs
 * Kaiming-normal fan_out, except the replaced stem (PyTorch's default conv init, built after torchvision's loop).
 */
function resnet18(b: ModelBuilder, scale: (c: number) => number, classes: number): Model {
  const conv = (x: Value, name: string, out: number, kernel: number, stride: number) =>
    b.conv2d(x, name, { outChannels: out, kernel, stride, padding: kernel === 3 ? 1 : 0, bias: false, init: kaimingNormal(out * kernel * kernel) });
  let x = b.conv2d(b.input, 'conv1', { outChannels: scale(64), kernel: 3, padding: 1, bias: false, init: torchDefault(b.input.shape[0] * 9) });
  x = b.gelu(b.batchnorm2d(x, 'bn1'));
  [64, 128, 256, 512].forEach((channels, stage) => {
    for (let block = 0; block < 2; block++) {
      const name = `layer${stage + 1}.${block}`;
      const stride = stage > 0 && block === 0 ? 2 : 1;
      const out = scale(channels);
      let y = b.gelu(b.batchnorm2d(conv(x, `${name}.conv1`, out, 3, stride), `${name}.bn1`));
      y = b.batchnorm2d(conv(y, `${name}.conv2`, out, 3, 1), `${name}.bn2`);
      const shortcut = stride !== 1 || x.shape[0] !== out ? b.batchnorm2d(conv(x, `${name}.downsample.0`, out, 1, stride), `${name}.downsample.1`) : x;
      x = b.gelu(b.add(y, shortcut));
    }
  });
  return b.build(b.linear(b.flatten(b.avgpool(x)), 'fc', classes));
}

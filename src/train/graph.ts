/**
 * Networks as small graphs of layers: a builder that infers every shape when a layer is added (so a bad
 * architecture fails with the layer and the dimension that do not fit), names parameters with PyTorch's
 * `state_dict` keys, and records how each parameter is initialised. Nothing here touches a backend: the
 * executor (src/train/executor.ts) runs the graph with the engine's kernels.
 */
import { invalidArgument } from '../errors.js';

/** Per-example shape: channels, height, width (a flat vector of F features is [F, 1, 1]). */
export type Shape = readonly [number, number, number];

export type ActivationKind = 'relu' | 'gelu' | 'tanh';

/** How a parameter's initial values are drawn (PyTorch's initialisers). */
export type Init =
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'uniform'; readonly bound: number }
  | { readonly kind: 'constant'; readonly value: number };

export interface ParamSpec {
  /** PyTorch `state_dict` key, e.g. `layer1.0.conv1.weight`. */
  readonly name: string;
  /** PyTorch layout: conv [out, in, kh, kw], linear [out, in], vectors [n]. */
  readonly shape: readonly number[];
  readonly init: Init;
}

/** Non-trained state (BatchNorm running statistics), saved in checkpoints like PyTorch buffers. */
export interface BufferSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: number;
}

export type Node =
  | { readonly op: 'input' }
  | { readonly op: 'conv2d'; readonly input: number; readonly name: string; readonly outChannels: number; readonly kernel: number; readonly stride: number; readonly padding: number; readonly bias: boolean }
  | { readonly op: 'linear'; readonly input: number; readonly name: string; readonly outFeatures: number }
  | { readonly op: 'activation'; readonly input: number; readonly kind: ActivationKind }
  | { readonly op: 'maxpool2d'; readonly input: number; readonly kernel: number; readonly stride: number; readonly padding: number }
  | { readonly op: 'avgpool'; readonly input: number }
  | { readonly op: 'batchnorm2d'; readonly input: number; readonly name: string; readonly eps: number; readonly momentum: number }
  | { readonly op: 'add'; readonly inputs: readonly [number, number] }
  | { readonly op: 'flatten'; readonly input: number };

/** A built network: nodes in execution order (node 0 is the input), the logits node last. */
export interface Model {
  /** Preset name and options, enough to build it again (saved in checkpoints). */
  readonly spec: ModelSpec;
  readonly inputShape: Shape;
  readonly classes: number;
  readonly nodes: readonly Node[];
  /** Output shape of each node. */
  readonly shapes: readonly Shape[];
  readonly params: readonly ParamSpec[];
  readonly buffers: readonly BufferSpec[];
}

/** What identifies a network: a preset and its options (see src/train/presets.ts). */
export interface ModelSpec {
  readonly name: string;
  readonly inputShape: Shape;
  readonly classes: number;
  readonly width?: number;
  readonly widths?: readonly number[];
  readonly activation?: ActivationKind;
}

/** A handle on a node while building. */
export interface Value { readonly id: number; readonly shape: Shape }

const outSize = (size: number, kernel: number, stride: number, padding: number) => Math.floor((size + 2 * padding - kernel) / stride) + 1;
const count = (s: Shape) => s[0] * s[1] * s[2];

/**
 * Builds a model layer by layer, checking shapes as it goes.
 * @example
 * const b = new ModelBuilder({ name: 'tiny', inputShape: [1, 28, 28], classes: 10 });
 * const x = b.relu(b.conv2d(b.input, 'conv1', { outChannels: 8, kernel: 3, padding: 1 }));
 * const model = b.build(b.linear(b.flatten(x), 'fc', 10));
 */
export class ModelBuilder {
  readonly #spec: ModelSpec;
  readonly #nodes: Node[] = [{ op: 'input' }];
  readonly #shapes: Shape[];
  readonly #params: ParamSpec[] = [];
  readonly #buffers: BufferSpec[] = [];
  readonly input: Value;

  constructor(spec: ModelSpec) {
    this.#spec = spec;
    const [c, h, w] = spec.inputShape;
    for (const [i, d] of [c, h, w].entries()) {
      if (!Number.isInteger(d) || d < 1) throw invalidArgument(`input shape[${i}]`, d, 'a positive integer (shape is channels, height, width)');
    }
    this.#shapes = [spec.inputShape];
    this.input = { id: 0, shape: spec.inputShape };
  }

  #add(node: Node, shape: Shape): Value {
    this.#nodes.push(node);
    this.#shapes.push(shape);
    return { id: this.#nodes.length - 1, shape };
  }

  #param(name: string, shape: readonly number[], init: Init): void {
    if (this.#params.some((p) => p.name === name)) throw invalidArgument('parameter name', name, 'a name not used by another layer');
    this.#params.push({ name, shape, init });
  }

  /**
   * A convolution (PyTorch `nn.Conv2d`). `init` gives the weight's initialiser; the bias (when present) is
   * drawn from `biasInit`, PyTorch's default uniform(±1/√fan_in) unless given.
   */
  conv2d(x: Value, name: string, o: { outChannels: number; kernel: number; stride?: number; padding?: number; bias?: boolean; init?: Init; biasInit?: Init }): Value {
    const [c, h, w] = x.shape;
    const stride = o.stride ?? 1, padding = o.padding ?? 0, bias = o.bias ?? true;
    const where = `layer '${name}'`;
    if (!Number.isInteger(o.outChannels) || o.outChannels < 1) throw invalidArgument(`${where} outChannels`, o.outChannels, 'a positive integer');
    if (!Number.isInteger(o.kernel) || o.kernel < 1) throw invalidArgument(`${where} kernel`, o.kernel, 'a positive integer');
    if (!Number.isInteger(stride) || stride < 1) throw invalidArgument(`${where} stride`, stride, 'a positive integer');
    if (!Number.isInteger(padding) || padding < 0) throw invalidArgument(`${where} padding`, padding, 'a non-negative integer');
    if (h + 2 * padding < o.kernel || w + 2 * padding < o.kernel) {
      throw invalidArgument(`${where} input`, `${c}×${h}×${w}`, `height and width of at least ${o.kernel} (the kernel) with padding ${padding}`);
    }
    const fanIn = c * o.kernel * o.kernel;
    this.#param(`${name}.weight`, [o.outChannels, c, o.kernel, o.kernel], o.init ?? torchDefault(fanIn));
    if (bias) this.#param(`${name}.bias`, [o.outChannels], o.biasInit ?? torchDefault(fanIn));
    return this.#add({ op: 'conv2d', input: x.id, name, outChannels: o.outChannels, kernel: o.kernel, stride, padding, bias },
      [o.outChannels, outSize(h, o.kernel, stride, padding), outSize(w, o.kernel, stride, padding)]);
  }

  /** A fully connected layer (PyTorch `nn.Linear`, weight [out, in]) on a flat input. */
  linear(x: Value, name: string, outFeatures: number, o: { init?: Init; biasInit?: Init } = {}): Value {
    const [f, h, w] = x.shape;
    if (h !== 1 || w !== 1) throw invalidArgument(`layer '${name}' input`, `${f}×${h}×${w}`, 'a flat vector (add flatten() before a linear layer)');
    if (!Number.isInteger(outFeatures) || outFeatures < 1) throw invalidArgument(`layer '${name}' outFeatures`, outFeatures, 'a positive integer');
    this.#param(`${name}.weight`, [outFeatures, f], o.init ?? torchDefault(f));
    this.#param(`${name}.bias`, [outFeatures], o.biasInit ?? torchDefault(f));
    return this.#add({ op: 'linear', input: x.id, name, outFeatures }, [outFeatures, 1, 1]);
  }

  activation(x: Value, kind: ActivationKind): Value {
    return this.#add({ op: 'activation', input: x.id, kind }, x.shape);
  }

  relu(x: Value): Value { return this.activation(x, 'relu'); }
  gelu(x: Value): Value { return this.activation(x, 'gelu'); }

  /** Max pooling (PyTorch `nn.MaxPool2d`, stride defaulting to the kernel). */
  maxpool2d(x: Value, kernel: number, stride = kernel, padding = 0): Value {
    const [c, h, w] = x.shape;
    if (h + 2 * padding < kernel || w + 2 * padding < kernel) {
      throw invalidArgument(`maxpool2d (node ${this.#nodes.length}) input`, `${c}×${h}×${w}`, `height and width of at least ${kernel} (the pool size); the network is too deep for this input size`);
    }
    return this.#add({ op: 'maxpool2d', input: x.id, kernel, stride, padding }, [c, outSize(h, kernel, stride, padding), outSize(w, kernel, stride, padding)]);
  }

  /** Global average pooling to [C, 1, 1] (PyTorch `AdaptiveAvgPool2d(1)`). */
  avgpool(x: Value): Value {
    return this.#add({ op: 'avgpool', input: x.id }, [x.shape[0], 1, 1]);
  }

  /** Batch normalisation over (N, H, W) per channel, PyTorch defaults (γ = 1, β = 0, momentum 0.1, eps 1e-5). */
  batchnorm2d(x: Value, name: string, o: { eps?: number; momentum?: number } = {}): Value {
    const c = x.shape[0];
    this.#param(`${name}.weight`, [c], { kind: 'constant', value: 1 });
    this.#param(`${name}.bias`, [c], { kind: 'constant', value: 0 });
    this.#buffers.push({ name: `${name}.running_mean`, shape: [c], value: 0 }, { name: `${name}.running_var`, shape: [c], value: 1 });
    return this.#add({ op: 'batchnorm2d', input: x.id, name, eps: o.eps ?? 1e-5, momentum: o.momentum ?? 0.1 }, x.shape);
  }

  /** Elementwise sum (a residual connection); the shapes must match. */
  add(a: Value, b: Value): Value {
    if (a.shape.some((d, i) => d !== b.shape[i])) {
      throw invalidArgument(`add (node ${this.#nodes.length}) operands`, `${a.shape.join('×')} and ${b.shape.join('×')}`, 'two values of the same shape');
    }
    return this.#add({ op: 'add', inputs: [a.id, b.id] }, a.shape);
  }

  /** [C, H, W] → [C·H·W, 1, 1] in C·H·W order, as `torch.flatten(x, 1)`: free (no data moves). */
  flatten(x: Value): Value {
    return this.#add({ op: 'flatten', input: x.id }, [count(x.shape), 1, 1]);
  }

  build(logits: Value): Model {
    if (logits.id !== this.#nodes.length - 1) throw invalidArgument('model output', `node ${logits.id}`, 'the last node added');
    const [classes, h, w] = logits.shape;
    if (h !== 1 || w !== 1 || classes !== this.#spec.classes) {
      throw invalidArgument('model output', logits.shape.join('×'), `${this.#spec.classes} logits (the number of classes)`);
    }
    return { spec: this.#spec, inputShape: this.#spec.inputShape, classes, nodes: [...this.#nodes], shapes: [...this.#shapes], params: [...this.#params], buffers: [...this.#buffers] };
  }
}

/** PyTorch's default for Conv2d/Linear weights and biases: uniform(±1/√fan_in). */
export function torchDefault(fanIn: number): Init {
  return { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) };
}

/** Kaiming-normal with gain √2: std = √(2 / fan). */
export function kaimingNormal(fan: number): Init {
  return { kind: 'normal', std: Math.sqrt(2 / fan) };
}

/** Number of trained parameters. */
export function parameterCount(model: Model): number {
  return model.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}

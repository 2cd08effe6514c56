/**
 * Runs a model graph on a backend with the engine's kernels: forward, the loss, backward, and the SGD update,
 * all on device-resident tensors. A plan is built once per (batch size, mode): every kernel call is
 * validated and its outputs allocated then, so a training step only enqueues prepared calls and nothing is
 * read back except the loss statistics, when the trainer asks.
 */
import type { Backend } from '../backends/types.js';
import { tensorKernels, type TensorKernelName } from '../kernels/registry.js';
import { checkCall } from '../kernels/run.js';
import type { KernelSpec, Tensor } from '../kernels/types.js';
import type { Model, Node } from './graph.js';

/** The scalar parameters of a registered tensor kernel (src/kernels/registry.ts), so tsc checks every prepared call. */
type ParamsOf<K extends TensorKernelName> = (typeof tensorKernels)[K] extends KernelSpec<infer P> ? P : never;

/** Parameters, their gradients and momenta, and the buffers (BatchNorm running statistics), by name. */
export interface ModelState {
  readonly params: Map<string, Tensor>;
  readonly grads: Map<string, Tensor>;
  readonly momenta: Map<string, Tensor>;
  readonly buffers: Map<string, Tensor>;
}

type Call = () => void;

/** One prepared call: validated once (every check of a real run), re-enqueued as often as needed. */
function prepare<K extends TensorKernelName>(backend: Backend, name: K, params: ParamsOf<K>, inputs: Tensor[], outputs?: Tensor[]): { call: Call; outputs: Tensor[] } {
  const spec = tensorKernels[name] as KernelSpec<ParamsOf<K>>;
  const expected = checkCall(backend, spec, params, inputs, outputs);
  const outs = outputs ?? expected.map((e) => backend.alloc(e.dtype, e.shape));
  return { call: () => backend.run(spec, params, inputs, outs), outputs: outs };
}

const convParams = (batch: number, c: number, h: number, w: number, out: number, k: number, stride: number, padding: number) => ({
  shape: { batch, inChannels: c, height: h, width: w, outChannels: out, kernelHeight: k, kernelWidth: k }, stride, padding,
});

/**
 * The forward (and, in training, backward) pass of one model at one batch size. `input` and `labels` are
 * written by the caller before each `run`; `stats` holds [mean loss, correct count] of the last run.
 */
export class Executor {
  readonly batch: number;
  readonly training: boolean;
  readonly input: Tensor;
  readonly labels: Tensor;
  readonly stats: Tensor;
  readonly #backend: Backend;
  readonly #calls: Call[] = [];
  /** Tensors this plan allocated (activations, gradients, scratch), released by `release`. */
  readonly #owned: Tensor[] = [];

  constructor(backend: Backend, model: Model, state: ModelState, batch: number, training: boolean) {
    this.#backend = backend;
    this.batch = batch;
    this.training = training;
    const [c0, h0, w0] = model.inputShape;
    this.input = this.#alloc('f32', [batch, c0, h0, w0]);
    this.labels = this.#alloc('u32', [batch]);
    const out: Tensor[] = [this.input];
    const saved = new Map<number, Tensor[]>(); // per node: what its backward needs besides its input
    const param = (name: string) => state.params.get(name) as Tensor;
    const zeroBias = (n: number) => { const t = this.#alloc('f32', [n]); backend.write(t, new Float32Array(n)); return t; };

    model.nodes.forEach((node, i) => {
      if (i === 0) return;
      const [c, h, w] = model.shapes[inputOf(node)];
      const x = out[inputOf(node)];
      switch (node.op) {
        case 'conv2d':
        case 'linear': {
          const p = node.op === 'conv2d' ? convParams(batch, c, h, w, node.outChannels, node.kernel, node.stride, node.padding) : convParams(batch, c * h * w, 1, 1, node.outFeatures, 1, 1, 0);
          const bias = node.op === 'linear' || node.bias ? param(`${node.name}.bias`) : zeroBias(p.shape.outChannels);
          out[i] = this.#run('conv2d_forward', p, [x, param(`${node.name}.weight`), bias]);
          break;
        }
        case 'activation':
          out[i] = this.#run('activation_forward', { kind: node.kind }, [x]);
          break;
        case 'maxpool2d': {
          const { outputs } = this.#prepare('maxpool2d_forward', { batch, channels: c, height: h, width: w, kernel: node.kernel, stride: node.stride, padding: node.padding }, [x]);
          out[i] = outputs[0];
          saved.set(i, [outputs[1]]);
          break;
        }
        case 'avgpool':
          out[i] = this.#run('global_avgpool_forward', { batch, channels: c, height: h, width: w }, [x]);
          break;
        case 'batchnorm2d': {
          const p = { batch, channels: c, height: h, width: w, training, momentum: node.momentum, eps: node.eps };
          const y = this.#alloc('f32', [batch, c, h, w]), mean = this.#alloc('f32', [c]), invStd = this.#alloc('f32', [c]);
          const running = [state.buffers.get(`${node.name}.running_mean`) as Tensor, state.buffers.get(`${node.name}.running_var`) as Tensor];
          this.#prepare('batchnorm2d_forward', p, [x, param(`${node.name}.weight`), param(`${node.name}.bias`)], [y, mean, invStd, ...running]);
          out[i] = y;
          saved.set(i, [mean, invStd]);
          break;
        }
        case 'add':
          out[i] = this.#run('add', {}, [out[node.inputs[0]], out[node.inputs[1]]]);
          break;
        case 'flatten':
          out[i] = x;
          break;
        default:
          throw new Error(`internal: unknown op ${(node as Node).op}`);
      }
    });

    const logits = out[out.length - 1];
    const loss = this.#prepare('softmax_cross_entropy', { batch, classes: model.classes, targets: 'labels' }, [logits, this.labels]);
    this.stats = loss.outputs[1];
    if (!training) return;

    // Backward: every node's gradient is the sum of its consumers' contributions (residual inputs have two).
    const contributions: Tensor[][] = model.nodes.map(() => []);
    contributions[model.nodes.length - 1].push(loss.outputs[0]);
    for (let i = model.nodes.length - 1; i >= 1; i--) {
      const node = model.nodes[i];
      const parts = contributions[i];
      let g = parts[0];
      for (let j = 1; j < parts.length; j++) g = this.#run('add', {}, [g, parts[j]]);
      const [c, h, w] = model.shapes[inputOf(node)];
      const from = inputOf(node);
      const x = out[from];
      const needInput = from !== 0;
      switch (node.op) {
        case 'conv2d':
        case 'linear': {
          const p = node.op === 'conv2d' ? convParams(batch, c, h, w, node.outChannels, node.kernel, node.stride, node.padding) : convParams(batch, c * h * w, 1, 1, node.outFeatures, 1, 1, 0);
          const hasBias = node.op === 'linear' || node.bias;
          const gradBias = hasBias ? state.grads.get(`${node.name}.bias`) as Tensor : this.#alloc('f32', [p.shape.outChannels]);
          this.#prepare('conv2d_backward_weight', p, [x, g], [state.grads.get(`${node.name}.weight`) as Tensor, gradBias]);
          if (needInput) contributions[from].push(this.#run('conv2d_backward_input', p, [g, param(`${node.name}.weight`)]));
          break;
        }
        case 'activation':
          if (needInput) contributions[from].push(this.#run('activation_backward', { kind: node.kind }, [x, g]));
          break;
        case 'maxpool2d':
          if (needInput) contributions[from].push(this.#run('maxpool2d_backward', { batch, channels: c, height: h, width: w, kernel: node.kernel, stride: node.stride, padding: node.padding }, [g, (saved.get(i) as Tensor[])[0]]));
          break;
        case 'avgpool':
          if (needInput) contributions[from].push(this.#run('global_avgpool_backward', { batch, channels: c, height: h, width: w }, [g]));
          break;
        case 'batchnorm2d': {
          const p = { batch, channels: c, height: h, width: w, training, momentum: node.momentum, eps: node.eps };
          const [mean, invStd] = saved.get(i) as Tensor[];
          const gx = this.#alloc('f32', [batch, c, h, w]);
          this.#prepare('batchnorm2d_backward', p, [g, x, param(`${node.name}.weight`), mean, invStd],
            [gx, state.grads.get(`${node.name}.weight`) as Tensor, state.grads.get(`${node.name}.bias`) as Tensor]);
          if (needInput) contributions[from].push(gx);
          break;
        }
        case 'add':
          for (const k of node.inputs) if (k !== 0) contributions[k].push(g);
          break;
        case 'flatten':
          if (needInput) contributions[from].push(g);
          break;
      }
    }
  }

  #alloc(dtype: 'f32' | 'u32', shape: number[]): Tensor {
    const t = this.#backend.alloc(dtype, shape);
    this.#owned.push(t);
    return t;
  }

  #prepare<K extends TensorKernelName>(name: K, params: ParamsOf<K>, inputs: Tensor[], outputs?: Tensor[]): { outputs: Tensor[] } {
    const made = prepare(this.#backend, name, params, inputs, outputs);
    if (!outputs) this.#owned.push(...made.outputs);
    this.#calls.push(made.call);
    return made;
  }

  #run<K extends TensorKernelName>(name: K, params: ParamsOf<K>, inputs: Tensor[]): Tensor {
    return this.#prepare(name, params, inputs).outputs[0];
  }

  /** Enqueues the forward pass and the loss (and the backward pass in training): gradients land in the state. */
  run(): void {
    for (const call of this.#calls) call();
  }

  release(): void {
    for (const t of this.#owned) this.#backend.release(t);
    this.#owned.length = 0;
  }
}

function inputOf(node: Node): number {
  return node.op === 'add' ? node.inputs[0] : node.op === 'input' ? 0 : node.input;
}

import { CollapseError, invalidArgument } from './errors.js';
import { integerIn, MAX_THREADS, MAX_U32, oneOf, plainObject } from './validate.js';
import { JsBackend } from './backends/js.js';
import type { Backend, BackendName } from './backends/types.js';
import { hostKernels, tensorKernels, type TensorKernelName } from './kernels/registry.js';
import { drawInto } from './kernels/philox_fill.js';
import { runKernel, type HostKernel } from './kernels/run.js';
import { checkShape, checkWrite, own } from './kernels/tensor.js';
import { DTYPES, type DType, type HostArray, type HostArrays, type KernelSpec, type MemoryInfo, type Tensor } from './kernels/types.js';
import type { Distribution } from './rng/philox.js';
import { planCollapse, runPlan } from './sde/collapse.js';
import type { CollapseOptions, CollapseResult } from './sde/types.js';
import { analyzeWeights, type AnalysisOptions, type LayerAnalysis, type WeightsSource } from './analysis/analyze.js';
import { evaluate, train, type EvaluateOptions, type TrainOptions, type TrainResult } from './train/train.js';

export type BackendChoice = BackendName | 'auto';

export interface EngineOptions {
  /** 'auto' (default) takes webgpu on a hardware adapter, else native, else js. */
  readonly backend?: BackendChoice;
  /** Threads of the native backend (default: all cores). */
  readonly threads?: number;
}

/** What an engine runs on, and why it was chosen. */
export interface EngineDescription {
  readonly backend: BackendName;
  readonly device: string;
  readonly reason: string;
  readonly threads?: number;
}

export interface RandomOptions {
  /** Philox key word 0, an integer in [0, 2^32). Default 0. */
  readonly seed?: number;
  /** Philox key word 1, an integer in [0, 2^32). Default 0. */
  readonly stream?: number;
  /** Index of the first draw (draws are addressed, so chunks can be generated anywhere). Default 0. */
  readonly offset?: number;
}

/** Options of a draw into a caller-owned array (reused buffers skip allocation and page faults). */
export interface RandomIntoOptions<T> extends RandomOptions {
  /** Array of exactly `count` elements to fill and return instead of a new one. */
  readonly out?: T;
}

/** Random draws computed on the engine's backend: bit-identical u32/uniform streams on every backend. */
export interface RandomApi {
  normal(count: number, options?: RandomIntoOptions<Float32Array>): Promise<Float32Array>;
  uniform(count: number, options?: RandomIntoOptions<Float32Array>): Promise<Float32Array>;
  uint32(count: number, options?: RandomIntoOptions<Uint32Array>): Promise<Uint32Array>;
}

/** `engine.kernels`: each kernel on host arrays, for embedding and benchmarking (one upload, run, readback). */
export type KernelsApi = {
  readonly [K in keyof typeof hostKernels]: (args: Parameters<(typeof hostKernels)[K]['call']>[1]) => ReturnType<(typeof hostKernels)[K]['call']>;
};

/** Parameters of each tensor kernel by name, for `engine.run`. */
export type KernelParams = { [K in TensorKernelName]: (typeof tensorKernels)[K] extends KernelSpec<infer P> ? P : never };

const BACKENDS = ['auto', 'webgpu', 'native', 'js'] as const;
const TENSOR_KERNELS = Object.keys(tensorKernels);

/** Largest count per call: one 32-bit length. */
export const MAX_COUNT = 2 ** 32 - 1;

/**
 * One engine: a backend (its device, pipelines, pools, threads) and the API on it. Several engines can live in
 * one process and in worker threads; `close()` releases everything so the process exits by itself.
 */
export class Engine {
  readonly random: RandomApi;
  /** Each kernel on host arrays: `await engine.kernels.matmul({ a, b, m, n, k })`. */
  readonly kernels: KernelsApi;
  #backend: Backend | undefined;
  readonly #description: EngineDescription;

  constructor(backend: Backend, reason: string) {
    this.#backend = backend;
    this.#description = { backend: backend.info.name, device: backend.info.device, reason, ...(backend.info.threads ? { threads: backend.info.threads } : {}) };
    const draw = <T extends Uint32Array | Float32Array>(kind: Distribution, type: { new (n: number): T; name: string }) =>
      async (count: number, options: RandomIntoOptions<T> = {}): Promise<T> => {
        const n = integerIn('count', count, 0, MAX_COUNT);
        plainObject('random options', options);
        const seed = integerIn('seed', options.seed ?? 0, 0, MAX_U32);
        const stream = integerIn('stream', options.stream ?? 0, 0, MAX_U32);
        const offset = integerIn('offset', options.offset ?? 0, 0, Number.MAX_SAFE_INTEGER - n);
        let out: T;
        if (options.out !== undefined) {
          if (!(options.out instanceof type) || options.out.length !== n) throw invalidArgument('out', options.out, `a ${type.name} of length ${n}`);
          out = options.out;
        } else {
          try {
            out = new type(n);
          } catch (cause) {
            throw new CollapseError('INVALID_ARGUMENT', `count ${n} is too large to allocate here; generate it in chunks with 'offset'`, { count: n }, { cause });
          }
        }
        if (n > 0) await drawInto(this.#live(), kind, out, seed, stream, offset);
        return out;
      };
    this.random = {
      normal: draw('normal', Float32Array),
      uniform: draw('uniform', Float32Array),
      uint32: draw('uint32', Uint32Array),
    };
    const kernels: Record<string, (args: never) => Promise<unknown>> = {};
    for (const [name, host] of Object.entries(hostKernels) as [string, HostKernel<never, unknown>][]) {
      kernels[name] = async (args: never) => host.call(this.#live(), args);
    }
    this.kernels = kernels as unknown as KernelsApi;
  }

  /**
   * A tensor on this engine's backend (GPU memory on webgpu, aligned memory the addon uses in place on native),
   * filled with `data` when given. Release it with `engine.release` when done: live bytes are in `memory()`.
   * @example
   * const a = engine.tensor('f32', [64, 32], new Float32Array(64 * 32).fill(1));
   */
  tensor<D extends DType>(dtype: D, shape: readonly number[], data?: HostArrays[D]): Tensor {
    const backend = this.#live();
    oneOf('dtype', dtype, DTYPES);
    const t = backend.alloc(dtype, checkShape(shape));
    if (data !== undefined) {
      try { backend.write(t, checkWrite(t, data)); } catch (error) { backend.release(t); throw error; }
    }
    return t;
  }

  /** Copies `data` into `t` (ordered after the runs enqueued before). */
  write(t: Tensor, data: HostArray): void {
    const backend = this.#live();
    backend.write(own(backend.info.name, t), checkWrite(t, data));
  }

  /** The tensor's contents: waits for the runs enqueued before; the only host synchronisation. */
  read<D extends DType>(t: Tensor & { dtype: D }): Promise<HostArrays[D]>;
  read(t: Tensor): Promise<HostArray>;
  async read(t: Tensor): Promise<HostArray> {
    const backend = this.#live();
    return backend.read(own(backend.info.name, t));
  }

  /** Frees tensors (GPU buffers go back to the engine's pool). */
  release(...tensors: Tensor[]): void {
    const backend = this.#live();
    for (const t of tensors) backend.release(own(backend.info.name, t));
  }

  /**
   * Enqueues one run of a registered kernel on tensors, without waiting: consecutive runs chain on the device
   * (one command encoder on webgpu) and nothing comes back until `read`. Outputs are allocated when not given.
   * @example
   * const [c] = engine.run('matmul', { m: 64, n: 16, k: 32 }, [a, b]);
   * const [d] = engine.run('matmul', { m: 64, n: 8, k: 16 }, [c, w]);   // no round trip in between
   * const result = await engine.read(d);
   */
  run<K extends TensorKernelName>(name: K, params: KernelParams[K], inputs: readonly Tensor[], outputs?: readonly Tensor[]): Tensor[] {
    const kernel = (tensorKernels as Record<string, KernelSpec<unknown>>)[oneOf('kernel', name, TENSOR_KERNELS)];
    return runKernel(this.#live(), kernel, params, inputs, outputs);
  }

  /** Waits until every enqueued run is done; rejects with the first error of one. */
  async flush(): Promise<void> {
    await this.#live().flush();
  }

  /** Live tensors and bytes of this engine (and the webgpu pool's spare bytes). */
  memory(): MemoryInfo {
    return this.#live().memory();
  }

  /** Which backend and device this engine uses, and why `auto` chose it. */
  describe(): EngineDescription {
    return this.#description;
  }

  /**
   * Monte Carlo collapse probabilities: `paths` Euler–Maruyama paths per noise level, all levels together,
   * counting at each recorded step the paths within `epsilon` of the model's invariant set.
   * @example
   * const engine = await createEngine();
   * const r = await engine.collapse({ model: 'quartic', params: { mu: 1.5 }, noise: [1, 2, 2.5],
   *   paths: 1000, steps: 40000, dt: 0.0025, record: [10000, 40000], epsilon: 1e-30, seed: 1 });
   * console.log(r.probability, r.theory.threshold);
   * engine.close();
   */
  async collapse(options: CollapseOptions): Promise<CollapseResult> {
    const backend = this.#live();
    const plan = planCollapse(options);
    return runPlan(plan, backend, options);
  }

  /**
   * Trains a network with SGD on this engine's backend (src/train/train.ts): weights, gradients and momenta stay
   * on the device; the loss is read back every `evaluateEvery` steps.
   * @example
   * const data = await loadMnist();
   * const model = buildModel('mnist-cnn', { inputShape: [1, 28, 28], classes: 10 });
   * const r = await engine.train({ model, data, lr: 0.05, momentum: 0.9, batchSize: 128, steps: 600, seed: 3 });
   * console.log(r.testAccuracy); // r.model holds model.safetensors
   */
  async train(options: TrainOptions): Promise<TrainResult> {
    return train(this.#live(), options);
  }

  /**
   * Test loss and accuracy of saved weights (model.safetensors, a checkpoint, or PyTorch weights in the same names).
   * @example
   * const { accuracy } = await engine.evaluate({ weights: readFileSync('out/mnist/model.safetensors'), split: data.test });
   */
  async evaluate(options: EvaluateOptions): Promise<{ loss: number; accuracy: number }> {
    return evaluate(this.#live(), options);
  }

  /**
   * Collapse analysis of trained weights (PAPER.md §4) with this engine's distance kernel: per layer the vanishing
   * neurons, the independent ones, their fraction, the effective rank and the clustering of the paper's Fig. 3.
   * @example
   * const layers = await engine.analyze(openWeights(readFileSync('out/mnist/model.safetensors'), 'model.safetensors'));
   * console.log(layers.map((l) => [l.name, l.fraction]));
   */
  async analyze(weights: WeightsSource, options: AnalysisOptions = {}): Promise<LayerAnalysis[]> {
    this.#live();
    return analyzeWeights(this, weights, options);
  }

  /** Releases the backend (GPU device, buffers); the engine cannot be used afterwards. Idempotent. */
  close(): void {
    this.#backend?.close();
    this.#backend = undefined;
  }

  #live(): Backend {
    if (!this.#backend) throw new CollapseError('ENGINE_CLOSED', 'this engine was closed; create a new one with createEngine()');
    return this.#backend;
  }
}

async function loadNative(threads?: number): Promise<Backend> {
  const { NativeBackend } = await import('./backends/native.js');
  return NativeBackend.load(threads === undefined ? {} : { threads });
}

async function loadWebgpu(allowSoftware: boolean): Promise<Backend & { isSoftware: boolean }> {
  const { WebgpuBackend } = await import('./backends/webgpu.js');
  return WebgpuBackend.create({ allowSoftware });
}

/**
 * Creates an engine on the chosen backend. `auto` takes `webgpu` only for a hardware adapter and otherwise the
 * native addon (falling back to `js` if the addon cannot load); `engine.describe().reason` says why.
 * @example
 * const engine = await createEngine({ backend: 'auto' });
 * console.log(engine.describe());
 * const z = await engine.random.normal(1_000_000, { seed: 42 });
 * engine.close();
 */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  plainObject('engine options', options);
  const choice = oneOf('backend', options.backend ?? 'auto', BACKENDS);
  const threads = options.threads === undefined ? undefined : integerIn('threads', options.threads, 1, MAX_THREADS);
  switch (choice) {
    case 'js':
      return new Engine(new JsBackend(), 'asked for js');
    case 'native':
      return new Engine(await loadNative(threads), 'asked for native');
    case 'webgpu':
      return new Engine(await loadWebgpu(true), 'asked for webgpu');
    case 'auto':
      return autoEngine(threads);
  }
}

async function autoEngine(threads?: number): Promise<Engine> {
  let why: string;
  try {
    const gpu = await loadWebgpu(true);
    if (!gpu.isSoftware) return new Engine(gpu, `hardware WebGPU adapter: ${gpu.info.device}`);
    why = `the WebGPU adapter is a software one (${gpu.info.device}): correct but slower than the native addon`;
    gpu.close();
  } catch (error) {
    why = `no usable WebGPU adapter (${error instanceof Error ? error.message : String(error)})`;
  }
  try {
    return new Engine(await loadNative(threads), `${why}; using the native addon`);
  } catch (error) {
    return new Engine(new JsBackend(), `${why}; the native addon did not load either (${error instanceof Error ? error.message : String(error)}); using plain js`);
  }
}

import { CollapseError, invalidArgument } from './errors.js';
import { integerIn, MAX_THREADS, MAX_U32, oneOf, plainObject } from './validate.js';
import { JsBackend } from './backends/js.js';
import type { Backend, BackendName } from './backends/types.js';
import type { Distribution } from './rng/philox.js';
import { planCollapse, runPlan } from './sde/collapse.js';
import type { CollapseOptions, CollapseResult } from './sde/types.js';

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

const BACKENDS = ['auto', 'webgpu', 'native', 'js'] as const;
/** Largest count per call: one 32-bit length. */
export const MAX_COUNT = 2 ** 32 - 1;

/**
 * One engine: a backend (its device, pipelines, pools, threads) and the API on it. Several engines can live in
 * one process and in worker threads; `close()` releases everything so the process exits by itself.
 */
export class Engine {
  readonly random: RandomApi;
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
        if (n > 0) await this.#live().random(kind, out, seed, stream, offset);
        return out;
      };
    this.random = {
      normal: draw('normal', Float32Array),
      uniform: draw('uniform', Float32Array),
      uint32: draw('uint32', Uint32Array),
    };
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

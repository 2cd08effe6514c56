/**
 * The webgpu backend: tensors are pooled GPU buffers and every kernel is launched by one generic path
 * (`run`): the kernel's shaders compiled once per override set, a bind group of its uniform `Params` (packed
 * from the kernel's declared fields) then its inputs and outputs, and one dispatch spread over (x, y) past
 * the per-dimension limit. Consecutive runs share one command encoder and compute pass; nothing is submitted
 * until a read, a write or a flush needs it, and nothing is read back until asked.
 */
import { CollapseError, invalidArgument } from '../errors.js';
import { BackendTensor, Ledger, own } from '../kernels/tensor.js';
import { ARRAY_OF, sizeOf, type DType, type HostArray, type KernelSpec, type MemoryInfo, type Tensor } from '../kernels/types.js';
import { shaderSource } from '../webgpu/shaders.js';
import { alignUp, GpuContext, SHADER_STAGE_COMPUTE, Usage, type AdapterInfo, type GpuContextOptions, type GpuLimits } from '../webgpu/gpu.js';
import type { Backend, BackendInfo } from './types.js';

export interface WebgpuBackendOptions extends GpuContextOptions {
  /** Workgroup size of the SDE kernel, a power of two (default 64). */
  readonly workgroupSize?: number;
  /** Fixed steps per SDE dispatch (default: adapted to the measured speed, about 25 ms per dispatch). */
  readonly stepsPerDispatch?: number;
  /** Most SDE dispatches per submit (default 128). */
  readonly dispatchesPerSubmit?: number;
  /** Test hook: plan with smaller device limits (tiling, 2-D dispatch). See GpuContext.overrideLimits. */
  readonly limits?: Partial<GpuLimits>;
}

const TENSOR_USAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;
const UNIFORM_BYTES = 256;

/** The WGSL of a kernel: its shader files concatenated (helpers first). */
export function kernelSource<P>(kernel: KernelSpec<P>): string {
  return kernel.webgpu.shaders.map(shaderSource).join('\n');
}

/** The uniform words of one run, in the order of the kernel's fields (4 bytes each, padded to 16 bytes). */
export function packFields<P>(kernel: KernelSpec<P>, params: P, inputs: readonly Tensor[]): ArrayBuffer {
  const words = new ArrayBuffer(alignUp(Math.max(kernel.fields.length * 4, 16), 16));
  const u = new Uint32Array(words), i = new Int32Array(words), f = new Float32Array(words);
  kernel.fields.forEach((field, at) => {
    const v = field.value(params, inputs);
    if (field.type === 'f32') f[at] = v;
    else if (field.type === 'i32') i[at] = v;
    else u[at] = v;
    if (field.type !== 'f32' && (field.type === 'u32' ? u[at] : i[at]) !== v) {
      throw invalidArgument(`${kernel.name} field '${field.name}'`, v, `a ${field.type} (it does not fit the shader's 32 bits)`);
    }
  });
  return words;
}

function layoutEntries(inputs: number, outputs: number): GPUBindGroupLayoutEntry[] {
  return [
    { binding: 0, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'uniform' } },
    ...Array.from({ length: inputs + outputs }, (_, k): GPUBindGroupLayoutEntry => ({
      binding: k + 1, visibility: SHADER_STAGE_COMPUTE, buffer: { type: k < inputs ? 'read-only-storage' : 'storage' },
    })),
  ];
}

/**
 * The WebGPU backend.
 * @example
 * const gpu = await WebgpuBackend.create();
 * const t = gpu.alloc('f32', [1024]);
 * gpu.close();
 */
export class WebgpuBackend implements Backend {
  readonly info: BackendInfo;
  readonly context: GpuContext;
  readonly workgroupSize: number;
  readonly options: WebgpuBackendOptions;
  readonly #ledger = new Ledger();
  #closed = false;
  /** Work is ordered through this chain: pipelines compile asynchronously, encoding follows call order. */
  #tail: Promise<void> = Promise.resolve();
  #failure: unknown;
  #encoder: GPUCommandEncoder | undefined;
  #pass: GPUComputePassEncoder | undefined;
  /** Uniform buffers of the runs in the open encoder: back to the pool once it is submitted. */
  #uniforms: GPUBuffer[] = [];
  readonly #pipelines = new Map<string, ReturnType<GpuContext['pipeline']>>();

  private constructor(context: GpuContext, options: WebgpuBackendOptions) {
    this.context = context;
    this.options = options;
    const wg = options.workgroupSize ?? 64;
    if (!Number.isInteger(wg) || wg < 1 || (wg & (wg - 1)) !== 0 || wg > context.limits.maxComputeInvocationsPerWorkgroup) {
      context.destroy();
      throw invalidArgument('workgroupSize', wg, `a power of two <= ${context.limits.maxComputeInvocationsPerWorkgroup}`);
    }
    this.workgroupSize = wg;
    const a = context.adapterInfo;
    this.info = { name: 'webgpu', device: `${a.vendor} ${a.description || a.device} (${a.architecture})`.trim() };
  }

  /**
   * Opens a device. Throws CollapseError('BACKEND_UNAVAILABLE') when there is no usable adapter.
   * @example
   * const gpu = await WebgpuBackend.create({ allowSoftware: false }); // hardware GPUs only
   */
  static async create(options: WebgpuBackendOptions = {}): Promise<WebgpuBackend> {
    const context = await GpuContext.create(options);
    if (options.limits) context.overrideLimits(options.limits);
    return new WebgpuBackend(context, options);
  }

  get isSoftware(): boolean {
    return this.context.isSoftware;
  }

  get adapterInfo(): AdapterInfo {
    return this.context.adapterInfo;
  }

  get maxTensorBytes(): number {
    return Math.min(this.context.limits.maxStorageBufferBindingSize, this.context.limits.maxBufferSize);
  }

  get maxWorkgroups(): number {
    return this.context.limits.maxComputeWorkgroupsPerDimension ** 2;
  }

  /** States one SDE job may hold: the planner splits above it; inside, the job is tiled over state buffers. */
  get maxStatesPerJob(): number {
    return Math.min(2 ** 28, Math.floor(this.context.limits.maxStorageBufferBindingSize / 4) * 4);
  }

  alloc(dtype: DType, shape: readonly number[]): Tensor {
    this.#alive();
    const size = sizeOf(shape);
    if (size * 4 > this.maxTensorBytes) {
      throw invalidArgument('tensor size', `${size * 4} bytes`, `at most ${this.maxTensorBytes} bytes on this device (its storage binding limit)`);
    }
    const t = new BackendTensor<GPUBuffer>('webgpu', dtype, shape, this.context.acquire(size * 4, TENSOR_USAGE, `tensor ${dtype}[${shape.join(',')}]`));
    this.#ledger.add(t.bytes);
    return t;
  }

  write(t: Tensor, data: HostArray): void {
    const buffer = own<GPUBuffer>('webgpu', t).handle;
    const copy = data.slice();
    this.#post(async () => {
      this.#submit();
      if (copy.byteLength > 0) this.context.writeBuffer(buffer, 0, copy);
    });
  }

  async read(t: Tensor): Promise<HostArray> {
    const tensor = own<GPUBuffer>('webgpu', t);
    const bytes = await this.#enqueue(async () => {
      this.#submit();
      return this.context.readback(tensor.handle, 0, tensor.bytes);
    });
    this.#rethrow();
    return new ARRAY_OF[tensor.dtype](bytes);
  }

  release(t: Tensor): void {
    const tensor = own<GPUBuffer>('webgpu', t);
    tensor.markReleased();
    this.#ledger.remove(tensor.bytes);
    // Back to the pool after the runs queued before this call are encoded: a later user's commands and
    // writes are then ordered after them on the device queue.
    this.#post(async () => { this.context.release(tensor.handle); });
  }

  run<P>(kernel: KernelSpec<P>, params: P, inputs: readonly Tensor[], outputs: readonly Tensor[]): void {
    this.#alive();
    const buffers = [...inputs, ...outputs].map((t) => own<GPUBuffer>('webgpu', t).handle);
    const words = packFields(kernel, params, inputs);
    const overrides = kernel.webgpu.overrides?.(params) ?? {};
    const groups = kernel.webgpu.workgroups(params, inputs);
    const [x, y] = this.context.dispatchShape(groups);
    const pipeline = this.#pipeline(kernel, overrides, inputs.length, outputs.length);
    this.#post(async () => {
      const { pipeline: compiled, layout } = await pipeline;
      if (groups === 0) return;
      const ctx = this.context;
      const uniform = ctx.acquire(UNIFORM_BYTES, Usage.UNIFORM | Usage.COPY_DST, `${kernel.name} params`);
      this.#uniforms.push(uniform);
      ctx.writeBuffer(uniform, 0, new Uint8Array(words));
      const pass = this.#openPass();
      pass.setPipeline(compiled);
      pass.setBindGroup(0, ctx.device.createBindGroup({
        layout,
        entries: [
          { binding: 0, resource: { buffer: uniform, size: words.byteLength } },
          ...buffers.map((buffer, k) => ({ binding: k + 1, resource: { buffer } })),
        ],
      }));
      pass.dispatchWorkgroups(x, y);
    });
  }

  async flush(): Promise<void> {
    await this.#enqueue(async () => {
      this.#submit();
      await this.context.idle();
    });
    this.#rethrow();
  }

  /**
   * Runs `work` in queue order with the device to itself (open runs submitted first): for kernels that plan
   * their own submits (em_collapse streams many dispatches with progress).
   */
  exclusive<T>(work: (ctx: GpuContext) => Promise<T>): Promise<T> {
    this.#alive();
    return this.#enqueue(async () => {
      this.#submit();
      return work(this.context);
    });
  }

  memory(): MemoryInfo {
    return this.#ledger.snapshot(this.context.bytes().pooled);
  }

  /** Destroys the device and its buffers; the process can exit afterwards. Idempotent. */
  close(): void {
    this.#closed = true;
    this.context.destroy();
  }

  /** Queues `work` after everything queued before; the caller awaits the result (and gets its error). */
  /** The kernel's pipeline, looked up by a short key first (the context's cache keys on the whole source). */
  #pipeline<P>(kernel: KernelSpec<P>, overrides: Record<string, number>, inputs: number, outputs: number) {
    const key = `${kernel.name}|${inputs}|${outputs}|${JSON.stringify(overrides)}`;
    let found = this.#pipelines.get(key);
    if (!found) {
      found = this.context.pipeline(kernel.name, kernelSource(kernel), overrides, layoutEntries(inputs, outputs));
      found.catch(() => this.#pipelines.delete(key));
      this.#pipelines.set(key, found);
    }
    return found;
  }

  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(() => {
      this.context.check();
      return work();
    });
    this.#tail = result.then(() => {}, () => {});
    return result;
  }

  /** Queues `work` nobody awaits: its error is kept for the next read or flush. */
  #post(work: () => Promise<void>): void {
    this.#enqueue(work).catch((error: unknown) => { this.#failure ??= error; });
  }

  #rethrow(): void {
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure !== undefined) throw failure;
    this.context.check();
  }

  #openPass(): GPUComputePassEncoder {
    if (!this.#pass) {
      this.#encoder = this.context.device.createCommandEncoder({ label: 'runs' });
      this.#pass = this.#encoder.beginComputePass();
    }
    return this.#pass;
  }

  #submit(): void {
    if (!this.#encoder || !this.#pass) return;
    this.#pass.end();
    this.context.device.queue.submit([this.#encoder.finish()]);
    this.#encoder = undefined;
    this.#pass = undefined;
    for (const u of this.#uniforms) this.context.release(u);
    this.#uniforms = [];
  }

  #alive(): void {
    if (this.#closed) throw new CollapseError('ENGINE_CLOSED', 'the webgpu backend was closed');
    this.context.check();
  }
}

/**
 * The webgpu layer's device context: one Dawn adapter + device with raised limits, a pipeline cache,
 * a buffer pool, upload/readback helpers and the 2-D dispatch split. Every webgpu kernel goes
 * through a `GpuContext`; nothing else touches Dawn.
 */
import { backendUnavailable, CollapseError } from '../errors.js';

/** The adapter as Dawn describes it. */
export interface AdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
}

/** The device limits the kernels plan with (the adapter's, raised at device creation). */
export interface GpuLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupStorageSize: number;
  maxUniformBufferBindingSize: number;
}

export interface GpuContextOptions {
  readonly powerPreference?: GPUPowerPreference;
  /** Accept a software adapter (lavapipe/llvmpipe, SwiftShader). Default true. */
  readonly allowSoftware?: boolean;
}

/** GPUBufferUsage / GPUMapMode / GPUShaderStage bits (spec values; Node has no such globals until `webgpu` installs them). */
export const Usage = {
  MAP_READ: 0x1, MAP_WRITE: 0x2, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80,
} as const;
const MAP_MODE_READ = 0x1;
export const SHADER_STAGE_COMPUTE = 0x4;

/** Byte alignment used for every buffer size and binding offset: a multiple of any adapter's alignment limits. */
export const BINDING_ALIGN = 256;

const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

const FIX =
  "Install a Vulkan driver (for the software lavapipe adapter on Debian bookworm: `apt-get install -t bookworm-backports mesa-vulkan-drivers`), or use backend 'native'";

type WebgpuModule = { create(options: string[]): GPU };

async function loadWebgpu(): Promise<WebgpuModule> {
  try {
    return (await import('webgpu')) as unknown as WebgpuModule;
  } catch (error) {
    throw backendUnavailable('webgpu', `the 'webgpu' package (Dawn's Node bindings) failed to load (${(error as Error).message})`, FIX, error);
  }
}

function describe(info: GPUAdapterInfo): AdapterInfo {
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
  };
}

function softwareAdapter(info: AdapterInfo): boolean {
  return info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.description} ${info.device}`);
}

/** Round up to a multiple of `align`. */
export function alignUp(n: number, align = BINDING_ALIGN): number {
  return Math.ceil(n / align) * align;
}

/**
 * Finds an adapter without creating a device, for the engine's `auto` choice. Returns null when the
 * `webgpu` package does not load or no adapter is found; leaves nothing alive.
 * @example
 * const probe = await probeAdapter();
 * const useGpu = probe !== null && !probe.isSoftware;
 */
export async function probeAdapter(): Promise<{ info: AdapterInfo; isSoftware: boolean } | null> {
  try {
    const { create } = await import('webgpu') as unknown as WebgpuModule;
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) return null;
    const info = describe(adapter.info);
    // Keep `gpu` reachable until we are done with the adapter (Dawn crashes otherwise).
    void gpu;
    return { info, isSoftware: softwareAdapter(info) };
  } catch {
    return null;
  }
}

interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

/**
 * One adapter + device. Create with `GpuContext.create()`, `destroy()` when done (the process does
 * not exit while a device is alive).
 * @example
 * const ctx = await GpuContext.create();
 * const buf = ctx.upload(new Float32Array([1, 2, 3]), Usage.STORAGE);
 * const back = new Float32Array(await ctx.readback(buf, 0, 12));
 * ctx.destroy();
 */
export class GpuContext {
  /** The object from `create([])`: must stay referenced while the adapter and device are used. */
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly adapterInfo: AdapterInfo;
  readonly isSoftware: boolean;
  private readonly effectiveLimits: GpuLimits;
  private readonly pipelines = new Map<string, Promise<CachedPipeline>>();
  private readonly pool = new Map<string, GPUBuffer[]>();
  private readonly owned = new Set<GPUBuffer>();
  private lostInfo: string | undefined;
  /** The first error Dawn reported outside an error scope (a validation error of some command). */
  private uncaptured: string | undefined;
  private ownedBytes = 0;
  private pooledBytes = 0;
  private destroyed = false;

  private constructor(gpu: GPU, adapter: GPUAdapter, device: GPUDevice, info: AdapterInfo) {
    this.gpu = gpu;
    this.adapter = adapter;
    this.device = device;
    this.adapterInfo = info;
    this.isSoftware = softwareAdapter(info);
    const l = device.limits;
    this.effectiveLimits = {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxUniformBufferBindingSize: l.maxUniformBufferBindingSize,
    };
    void device.lost.then((info) => {
      if (!this.destroyed) this.lostInfo = `${info.reason}: ${info.message}`;
    });
    // Without a handler Dawn prints these to stderr and the caller never learns of them: keep the first,
    // and fail the next check() with it.
    device.onuncapturederror = (event: GPUUncapturedErrorEvent) => {
      this.uncaptured ??= event.error.message;
    };
  }

  /**
   * Requests an adapter and a device with the adapter's storage, buffer and workgroup limits.
   * Throws CollapseError('BACKEND_UNAVAILABLE') when `webgpu` does not load or no (acceptable) adapter exists.
   * @example
   * const ctx = await GpuContext.create({ powerPreference: 'high-performance' });
   */
  static async create(options: GpuContextOptions = {}): Promise<GpuContext> {
    const { create } = await loadWebgpu();
    let gpu: GPU;
    try {
      gpu = create([]);
    } catch (error) {
      throw backendUnavailable('webgpu', `Dawn failed to start (${(error as Error).message})`, FIX, error);
    }
    const adapter = await gpu.requestAdapter(options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
    if (!adapter) throw backendUnavailable('webgpu', 'no WebGPU adapter was found (Dawn found no Vulkan, Metal or D3D12 device)', FIX);
    const info = describe(adapter.info);
    if (options.allowSoftware === false && softwareAdapter(info)) {
      throw backendUnavailable('webgpu', `only a software adapter was found (${info.description || info.device})`,
        "Use backend 'native' on machines without a GPU, or pass allowSoftware to accept the (slow) software adapter");
    }
    const requiredLimits: Record<string, number> = {};
    for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
    let device: GPUDevice;
    try {
      device = await adapter.requestDevice({ requiredLimits, label: 'stochastic-collapse' });
    } catch (error) {
      throw backendUnavailable('webgpu', `the adapter refused a device (${(error as Error).message})`, FIX, error);
    }
    return new GpuContext(gpu, adapter, device, info);
  }

  /** The limits kernels plan with. */
  get limits(): Readonly<GpuLimits> {
    return this.effectiveLimits;
  }

  /**
   * Test hook: plan as if the device had smaller limits (e.g. a tiny maxComputeWorkgroupsPerDimension
   * to exercise the 2-D dispatch split, or a tiny maxStorageBufferBindingSize to force tiling).
   * Values can only be lowered.
   */
  overrideLimits(limits: Partial<GpuLimits>): void {
    for (const [name, value] of Object.entries(limits) as [keyof GpuLimits, number][]) {
      if (value !== undefined) this.effectiveLimits[name] = Math.min(this.device.limits[name] as number, value);
    }
  }

  /** True once the device was lost (or destroyed). */
  get lost(): boolean {
    return this.lostInfo !== undefined || this.destroyed;
  }

  /** Throws CollapseError('DEVICE_LOST') when the device can no longer be used. */
  check(): void {
    if (this.destroyed) throw new CollapseError('DEVICE_LOST', 'the WebGPU device was destroyed (backend closed)');
    if (this.uncaptured !== undefined) {
      const message = this.uncaptured;
      this.uncaptured = undefined;
      throw new CollapseError('DEVICE_ERROR', `the WebGPU device reported an error: ${message.trim()}`, { message });
    }
    if (this.lostInfo !== undefined) {
      throw new CollapseError('DEVICE_LOST', `the WebGPU device was lost (${this.lostInfo}); create a new backend`, { reason: this.lostInfo });
    }
  }

  /**
   * A compute pipeline for `code` (entry point `main`) with the given override constants, created once
   * and cached by (kernel, code, constants, layout). Compile and validation errors become
   * CollapseError('SHADER_COMPILE', "<kernel>: line L:C: message").
   * `layoutEntries` gives an explicit bind group layout (needed for dynamic offsets); otherwise 'auto'.
   */
  pipeline(kernel: string, code: string, constants: Record<string, number> = {},
    layoutEntries?: GPUBindGroupLayoutEntry[]): Promise<CachedPipeline> {
    this.check();
    const key = JSON.stringify([kernel, constants, layoutEntries ?? null, code]);
    let cached = this.pipelines.get(key);
    if (!cached) {
      cached = this.createPipeline(kernel, code, constants, layoutEntries);
      this.pipelines.set(key, cached);
      cached.catch(() => this.pipelines.delete(key));
    }
    return cached;
  }

  private async createPipeline(kernel: string, code: string, constants: Record<string, number>,
    layoutEntries?: GPUBindGroupLayoutEntry[]): Promise<CachedPipeline> {
    const device = this.device;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: kernel, code });
    const info = await module.getCompilationInfo();
    const scoped = await device.popErrorScope();
    const firstError = info.messages.find((m) => m.type === 'error');
    if (firstError) throw compileError(kernel, code, firstError.lineNum, firstError.linePos, firstError.message);
    if (scoped) throw compileError(kernel, code, 0, 0, scoped.message);
    let layout: GPUPipelineLayout | 'auto' = 'auto';
    let bindGroupLayout: GPUBindGroupLayout | undefined;
    device.pushErrorScope('validation');
    if (layoutEntries) {
      bindGroupLayout = device.createBindGroupLayout({ label: kernel, entries: layoutEntries });
      layout = device.createPipelineLayout({ label: kernel, bindGroupLayouts: [bindGroupLayout] });
    }
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await device.createComputePipelineAsync({ label: kernel, layout, compute: { module, entryPoint: 'main', constants } });
    } catch (error) {
      await device.popErrorScope();
      throw compileError(kernel, code, 0, 0, (error as Error).message);
    }
    const error = await device.popErrorScope();
    if (error) throw compileError(kernel, code, 0, 0, error.message);
    return { pipeline, layout: bindGroupLayout ?? pipeline.getBindGroupLayout(0) };
  }

  /** A buffer of at least `size` bytes (rounded up to 256) from the pool. Contents are undefined. */
  acquire(size: number, usage: number, label?: string): GPUBuffer {
    this.check();
    const bytes = alignUp(Math.max(size, 4));
    const free = this.pool.get(`${bytes}:${usage}`);
    const reused = free?.pop();
    if (reused) {
      this.pooledBytes -= reused.size;
      return reused;
    }
    const buffer = this.device.createBuffer({ size: bytes, usage, label });
    this.owned.add(buffer);
    this.ownedBytes += bytes;
    return buffer;
  }

  /** Returns a buffer to the pool. Safe while queued GPU work still uses it: later uses are queue-ordered. */
  release(buffer: GPUBuffer): void {
    if (this.destroyed || !this.owned.has(buffer)) return;
    const key = `${buffer.size}:${buffer.usage}`;
    let free = this.pool.get(key);
    if (!free) this.pool.set(key, (free = []));
    free.push(buffer);
    this.pooledBytes += buffer.size;
  }

  /** Bytes of every buffer this context created, and of those waiting in the pool for reuse. */
  bytes(): { owned: number; pooled: number } {
    return { owned: this.ownedBytes, pooled: this.pooledBytes };
  }

  /** A pooled buffer holding `data` (usage gets COPY_DST added). */
  upload(data: ArrayBufferView, usage: number, label?: string): GPUBuffer {
    const buffer = this.acquire(data.byteLength, usage | Usage.COPY_DST, label);
    if (data.byteLength > 0) this.writeBuffer(buffer, 0, data);
    return buffer;
  }

  /** queue.writeBuffer of a view (padded to a multiple of 4 bytes). */
  writeBuffer(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4 === 0) {
      this.device.queue.writeBuffer(buffer, offset, bytes);
    } else {
      const padded = new Uint8Array(alignUp(bytes.byteLength, 4));
      padded.set(bytes);
      this.device.queue.writeBuffer(buffer, offset, padded);
    }
  }

  /** Copies `size` bytes of `source` (needs COPY_SRC) from `offset` to the host: one mapAsync. */
  async readback(source: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
    this.check();
    if (size === 0) return new ArrayBuffer(0);
    const staging = this.acquire(size, Usage.MAP_READ | Usage.COPY_DST, 'readback');
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(source, offset, staging, 0, alignUp(size, 4));
    this.device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(MAP_MODE_READ, 0, alignUp(size, 4));
    } catch (error) {
      this.check();
      throw error;
    }
    const copy = staging.getMappedRange(0, alignUp(size, 4)).slice(0, size);
    staging.unmap();
    this.release(staging);
    return copy;
  }

  /**
   * Splits a 1-D workgroup count over (x, y) when it exceeds maxComputeWorkgroupsPerDimension.
   * Kernels compute the linear id as wid.y * num_workgroups.x + wid.x and skip ids >= the count.
   */
  dispatchShape(groups: number): [number, number] {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= max) return [Math.max(groups, 1), 1];
    const y = Math.ceil(groups / max);
    if (y > max) throw new CollapseError('INVALID_ARGUMENT', `${groups} workgroups exceed the device's ${max}² dispatch limit`);
    return [Math.ceil(groups / y), y];
  }

  /** Waits for all submitted work. */
  async idle(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  /** Destroys the device and every pooled buffer; the context is unusable afterwards. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const buffer of this.owned) buffer.destroy();
    this.owned.clear();
    this.pool.clear();
    this.pipelines.clear();
    this.device.destroy();
  }
}

function compileError(kernel: string, code: string, line: number, column: number, message: string): CollapseError {
  const text = line > 0 ? code.split('\n')[line - 1] : undefined;
  const where = line > 0 ? `line ${line}:${column}: ` : '';
  return new CollapseError('SHADER_COMPILE', `${kernel}: ${where}${message.trim()}`, { kernel, line, column, source: text });
}

import { CollapseError, invalidArgument } from '../errors.js';
import { ARRAY_OF, sizeOf, type DType, type HostArray, type MemoryInfo, type Tensor } from './types.js';

/** Largest dimension and element count of one tensor (one 32-bit index per element on the device). */
export const MAX_ELEMENTS = 2 ** 32 - 1;

/** Checks a shape: a list of non-negative integers with at most MAX_ELEMENTS elements in all. */
export function checkShape(shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw invalidArgument('shape', shape, 'a list of at most 8 non-negative integers');
  }
  if (sizeOf(shape) > MAX_ELEMENTS) throw invalidArgument('shape', shape, `at most ${MAX_ELEMENTS} elements`);
  return [...shape];
}

/**
 * A tensor as every backend implements it: the public facts plus the backend's handle (a GPUBuffer, an
 * addon-allocated typed array, a plain typed array).
 */
export class BackendTensor<H> implements Tensor {
  readonly size: number;
  readonly bytes: number;
  #released = false;
  constructor(readonly backend: string, readonly dtype: DType, readonly shape: readonly number[], readonly handle: H) {
    this.size = sizeOf(shape);
    this.bytes = this.size * 4;
    Object.freeze(this.shape);
  }
  get released(): boolean {
    return this.#released;
  }
  markReleased(): void {
    this.#released = true;
  }
}

/** The tensor's handle if `t` is a live tensor of backend `name`; a clear error otherwise. */
export function own<H>(name: string, t: Tensor, role = 'tensor'): BackendTensor<H> {
  if (!(t instanceof BackendTensor)) throw invalidArgument(role, t, 'a tensor made by this engine (engine.tensor(...))');
  if (t.backend !== name) throw invalidArgument(role, `a ${t.backend} tensor`, `a tensor of this engine's backend (${name})`);
  if (t.released) throw new CollapseError('INVALID_ARGUMENT', `${role} was released; allocate a new one`, { argument: role });
  return t as BackendTensor<H>;
}

/** Live/peak byte accounting of one backend's tensors. */
export class Ledger {
  #tensors = 0;
  #bytes = 0;
  #peak = 0;
  add(bytes: number): void {
    this.#tensors++;
    this.#bytes += bytes;
    this.#peak = Math.max(this.#peak, this.#bytes);
  }
  remove(bytes: number): void {
    this.#tensors--;
    this.#bytes -= bytes;
  }
  snapshot(pooledBytes = 0): MemoryInfo {
    return { tensors: this.#tensors, bytes: this.#bytes, peakBytes: this.#peak, pooledBytes };
  }
}

/** Checks that `data` is a host array of `t`'s dtype and size. */
export function checkWrite(t: Tensor, data: unknown): HostArray {
  const type = ARRAY_OF[t.dtype];
  if (!(data instanceof type) || data.length !== t.size) {
    throw invalidArgument('data', data, `a ${type.name} of ${t.size} elements (the tensor's dtype ${t.dtype} and shape [${t.shape.join(', ')}])`);
  }
  return data;
}

/**
 * The tensors of a host-memory backend (js, native): typed arrays, either allocated (by `allocate`, e.g. the
 * addon's aligned memory) or adopted from a caller (no copy), with the byte accounting of `memory()`.
 */
export class HostTensors {
  readonly #ledger = new Ledger();
  constructor(private readonly backend: string, private readonly allocate: (dtype: DType, size: number) => HostArray) {}

  alloc(dtype: DType, shape: readonly number[]): Tensor {
    return this.#track(new BackendTensor<HostArray>(this.backend, dtype, shape, this.allocate(dtype, sizeOf(shape))));
  }

  /** A tensor over `array` itself: what a kernel writes, the caller sees. */
  adopt(array: HostArray, dtype: DType): Tensor {
    return this.#track(new BackendTensor<HostArray>(this.backend, dtype, [array.length], array));
  }

  /** The typed array of a live tensor of this backend. */
  array(t: Tensor, role?: string): HostArray {
    return own<HostArray>(this.backend, t, role).handle;
  }

  release(t: Tensor): void {
    const mine = own<HostArray>(this.backend, t);
    mine.markReleased(); // the memory goes with the last reference (a queued native call may still hold it)
    this.#ledger.remove(mine.bytes);
  }

  memory(): MemoryInfo {
    return this.#ledger.snapshot();
  }

  #track(t: BackendTensor<HostArray>): Tensor {
    this.#ledger.add(t.bytes);
    return t;
  }
}

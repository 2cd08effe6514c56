import { BackendTensor, Ledger, own } from '../kernels/tensor.js';
import { ARRAY_OF, type DType, type HostArray, type KernelSpec, type MemoryInfo, type Tensor } from '../kernels/types.js';
import type { Backend } from './types.js';

/**
 * The plain-TypeScript backend: tensors are typed arrays and a run is the kernel's `reference`, executed at once.
 * Obviously correct, slow: it defines what every other backend computes.
 */
export class JsBackend implements Backend {
  readonly info = { name: 'js' as const, device: 'plain TypeScript (reference)', threads: 1 };
  readonly maxStatesPerJob = 1 << 24;
  readonly maxWorkgroups = Infinity;
  readonly maxTensorBytes = 2 ** 31;
  readonly #ledger = new Ledger();

  alloc(dtype: DType, shape: readonly number[]): Tensor {
    const t = new BackendTensor<HostArray>('js', dtype, shape, new ARRAY_OF[dtype](shape.reduce((a, b) => a * b, 1)));
    this.#ledger.add(t.bytes);
    return t;
  }

  /** A tensor over `array` itself (no copy): what the kernel writes, the caller sees. */
  adopt(array: HostArray, dtype: DType): Tensor {
    const t = new BackendTensor<HostArray>('js', dtype, [array.length], array);
    this.#ledger.add(t.bytes);
    return t;
  }

  write(t: Tensor, data: HostArray): void {
    own<HostArray>('js', t).handle.set(data);
  }

  async read(t: Tensor): Promise<HostArray> {
    return own<HostArray>('js', t).handle.slice();
  }

  release(t: Tensor): void {
    const mine = own<HostArray>('js', t);
    mine.markReleased();
    this.#ledger.remove(mine.bytes);
  }

  run<P>(kernel: KernelSpec<P>, params: P, inputs: readonly Tensor[], outputs: readonly Tensor[]): void {
    kernel.reference(params, inputs.map((t) => own<HostArray>('js', t).handle), outputs.map((t) => own<HostArray>('js', t).handle));
  }

  async flush(): Promise<void> {}

  memory(): MemoryInfo {
    return this.#ledger.snapshot();
  }

  close(): void {}
}

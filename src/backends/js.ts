import { HostTensors } from '../kernels/tensor.js';
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
  readonly #tensors = new HostTensors('js', (dtype, size) => new ARRAY_OF[dtype](size));

  alloc(dtype: DType, shape: readonly number[]): Tensor {
    return this.#tensors.alloc(dtype, shape);
  }

  adopt(array: HostArray, dtype: DType): Tensor {
    return this.#tensors.adopt(array, dtype);
  }

  write(t: Tensor, data: HostArray): void {
    this.#tensors.array(t).set(data);
  }

  async read(t: Tensor): Promise<HostArray> {
    return this.#tensors.array(t).slice();
  }

  release(t: Tensor): void {
    this.#tensors.release(t);
  }

  run<P>(kernel: KernelSpec<P>, params: P, inputs: readonly Tensor[], outputs: readonly Tensor[]): void {
    kernel.reference(params, inputs.map((t) => this.#tensors.array(t)), outputs.map((t) => this.#tensors.array(t)));
  }

  async flush(): Promise<void> {}

  memory(): MemoryInfo {
    return this.#tensors.memory();
  }

  close(): void {}
}

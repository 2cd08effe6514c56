/**
 * Benchmark problems of the training kernels (batch norm, the losses, the SGD step) at the sizes of the paper's
 * CIFAR networks (PAPER.md §5): ResNet-18's first BatchNorm (64 channels at 32 × 32), CIFAR-100 logits, and
 * optimizer steps over one parameter tensor. Memory-bound kernels: the work is bytes moved, against the copy
 * bandwidth. No peers yet.
 */
import type { BatchNorm2dParams } from '../kernels/batchnorm2d.js';
import type { MseLossParams } from '../kernels/mse_loss.js';
import type { SgdUpdateParams } from '../kernels/sgd_update.js';
import type { SoftmaxCrossEntropyParams } from '../kernels/softmax_cross_entropy.js';
import { tensorKernels } from '../kernels/registry.js';
import { TEACHER_STUDENT_STREAM, type TeacherStudentSgdParams } from '../kernels/teacher_student_sgd.js';
import type { TensorInfo } from '../kernels/types.js';
import { deferred, lcgArray, sizeLabel, tensorCall, type KernelBench } from './problems.js';

const bytes = (name: keyof typeof tensorKernels, params: unknown) => (tensorKernels[name] as unknown as { work(p: unknown, inputs: readonly never[]): number }).work(params, []);

const bnShape = (batch: number): BatchNorm2dParams => ({ batch, channels: 64, height: 32, width: 32, training: true });

const batchnormBench = (kernel: 'batchnorm2d_forward' | 'batchnorm2d_backward'): KernelBench => ({
  kernel,
  unit: 'bytes',
  sizeName: 'batch N of [N, 64, 32, 32] (training)',
  sizes: [32, 128, 256],
  quickSizes: [32, 128],
  smallSizes: [2, 8],
  maxSize: 4096,
  problem(size) {
    const params = bnShape(size);
    const work = bytes(kernel, params);
    return { label: `${size}×64×32×32`, params, work, roof: { bytes: work } };
  },
  prepare(backend, p) {
    const { batch, channels } = p.params as BatchNorm2dParams;
    const n = batch * channels * 1024;
    const inputs = kernel === 'batchnorm2d_forward'
      ? [lcgArray(n, 1), lcgArray(channels, 2), lcgArray(channels, 3)]
      : [lcgArray(n, 1), lcgArray(n, 2), lcgArray(channels, 3), lcgArray(channels, 4), lcgArray(channels, 5).map((v) => 1 + v / 2)];
    return deferred(tensorCall(backend, kernel, p.params, inputs));
  },
  roofNote: `${kernel}: bytes read and written against the copy bandwidth`,
  peers: [],
});

const CE_CLASSES = 100;

const crossEntropyBench: KernelBench = {
  kernel: 'softmax_cross_entropy',
  unit: 'bytes',
  sizeName: `rows of ${CE_CLASSES} logits (CIFAR-100), labels`,
  sizes: [256, 2000, 10_000],
  quickSizes: [256, 2000],
  smallSizes: [256],
  maxSize: 1_000_000,
  problem(size) {
    const params: SoftmaxCrossEntropyParams = { batch: size, classes: CE_CLASSES, targets: 'labels' };
    const work = bytes('softmax_cross_entropy', params);
    return { label: `${size}×${CE_CLASSES}`, params, work, roof: { bytes: work } };
  },
  prepare(backend, p) {
    const { batch } = p.params as SoftmaxCrossEntropyParams;
    const labels = Uint32Array.from({ length: batch }, (_, i) => (i * 37) % CE_CLASSES);
    return deferred(tensorCall(backend, 'softmax_cross_entropy', p.params, [lcgArray(batch * CE_CLASSES, 1), labels]));
  },
  roofNote: 'softmax_cross_entropy: bytes read and written against the copy bandwidth',
  peers: [],
};

const mseBench: KernelBench = {
  kernel: 'mse_loss',
  unit: 'bytes',
  sizeName: 'elements',
  sizes: [2 ** 16, 2 ** 20, 2 ** 22],
  quickSizes: [2 ** 16, 2 ** 20],
  smallSizes: [2 ** 12, 2 ** 16],
  maxSize: 2 ** 28,
  problem(size) {
    const params: MseLossParams = { n: size };
    const work = bytes('mse_loss', params);
    return { label: sizeLabel(size), params, work, roof: { bytes: work } };
  },
  prepare: (backend, p) => deferred(tensorCall(backend, 'mse_loss', p.params, [lcgArray(p.work / 12, 1), lcgArray(p.work / 12, 2)])),
  roofNote: 'mse_loss: bytes read and written against the copy bandwidth',
  peers: [],
};

const sgdBench: KernelBench = {
  kernel: 'sgd_update',
  unit: 'bytes',
  sizeName: 'parameters per step (momentum 0.9, weight decay 5e-4)',
  sizes: [2 ** 16, 2 ** 20, 2 ** 22],
  quickSizes: [2 ** 16, 2 ** 20],
  smallSizes: [2 ** 12, 2 ** 16],
  maxSize: 2 ** 28,
  problem(size) {
    const params: SgdUpdateParams = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, n: size };
    const work = bytes('sgd_update', params);
    return { label: sizeLabel(size), params, work, roof: { bytes: work } };
  },
  // Parameters and buffer start as whatever the allocator gave: the timing does not depend on the values.
  prepare: (backend, p) => deferred(tensorCall(backend, 'sgd_update', p.params, [lcgArray((p.params as SgdUpdateParams).n ?? 0, 1)])),
  roofNote: 'sgd_update: bytes read and written against the copy bandwidth',
  peers: [],
};

export const trainingBenches: Readonly<Record<string, KernelBench>> = {
  batchnorm2d_forward: batchnormBench('batchnorm2d_forward'),
  batchnorm2d_backward: batchnormBench('batchnorm2d_backward'),
  softmax_cross_entropy: crossEntropyBench,
  mse_loss: mseBench,
  sgd_update: sgdBench,
};

/** Fig. 5's batched teacher–student SGD: 64 modes per run, 5 label-noise levels, `size` seeds, 10 steps a call. */
const TS_MODES = 64;
const TS_SIGMAS = [0, 5, 10, 15, 20];
const tsInputs = (): TensorInfo[] => [{ dtype: 'f32', shape: [TS_MODES] }, { dtype: 'f32', shape: [TS_SIGMAS.length] }];

const teacherStudentBench: KernelBench = {
  kernel: 'teacher_student_sgd',
  unit: 'mode-steps',
  sizeName: `seeds (rows = 5 label-noise levels × seeds, ${TS_MODES} modes, 10 steps per call)`,
  sizes: [16, 64, 256],
  quickSizes: [16, 256],
  smallSizes: [1, 4],
  maxSize: 1 << 16,
  problem(size) {
    const params: TeacherStudentSgdParams = { seeds: size, steps: 10, firstStep: 0, h: 3 / 1024, seed: 1, stream: TEACHER_STUDENT_STREAM };
    const inputs = tsInputs();
    const work = tensorKernels.teacher_student_sgd.work(params, inputs);
    // ~10 FLOP per mode-step besides the normal (a Philox block per 4 modes: ~30 integer ops per normal)
    return { label: `${TS_SIGMAS.length}×${size}×${TS_MODES}`, params, work, inputs, roof: { flop: 10 * work } };
  },
  // The state starts as whatever the allocator gave (zeros or a pooled buffer): the timing does not depend on it.
  prepare: (backend, p) => deferred(tensorCall(backend, 'teacher_student_sgd', p.params, [lcgArray(TS_MODES, 1).map((v) => 0.6 + 0.5 * v), Float32Array.from(TS_SIGMAS)])),
  roofNote: 'teacher_student_sgd: ~10 FLOP per mode-step (plus a quarter Philox block) against the FMA peak',
  peers: [],
};

export const reproBenches: Readonly<Record<string, KernelBench>> = { teacher_student_sgd: teacherStudentBench };

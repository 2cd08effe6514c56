/**
 * Every kernel of the engine, by name. Tensor kernels run through each backend's generic path and the
 * conformance table (test/kernels/conformance.test.ts) checks each against its reference on every backend;
 * job kernels (the SDE) stream with progress and launch themselves.
 */
import { batchnorm2dBackward, batchnorm2dForward } from './batchnorm2d.js';
import { activationBackward, activationForward } from './activation.js';
import { add } from './add.js';
import { conv2dBackwardHost, conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, conv2dForwardHost, linearBackwardHost, linearForwardHost } from './conv2d.js';
import { emCollapse } from './em_collapse.js';
import { fmaPeak } from './fma_peak.js';
import { globalAvgpoolBackward, globalAvgpoolForward } from './global_avgpool.js';
import { matmul, matmulHost } from './matmul.js';
import { neuronDistances, neuronDistancesHost } from './neuron_distances.js';
import { mseLoss } from './mse_loss.js';
import { maxpool2dBackward, maxpool2dForward } from './maxpool2d.js';
import { philoxFill } from './philox_fill.js';
import { sgdUpdate } from './sgd_update.js';
import { softmaxCrossEntropy } from './softmax_cross_entropy.js';
import { streamCopy } from './stream_copy.js';
import { teacherStudentSgd } from './teacher_student_sgd.js';
import type { HostKernel } from './run.js';
import type { KernelSpec } from './types.js';

// Training kernels (batch norm, losses, the optimizer step): batchnorm2d.ts, softmax_cross_entropy.ts, mse_loss.ts, sgd_update.ts.
const trainingKernels = {
  batchnorm2d_forward: batchnorm2dForward, batchnorm2d_backward: batchnorm2dBackward,
  softmax_cross_entropy: softmaxCrossEntropy, mse_loss: mseLoss, sgd_update: sgdUpdate,
} as const;

// fma_peak and stream_copy are ceilings: `collapse bench` measures the machine with them (src/bench/ceilings.ts).
export const tensorKernels = {
  matmul, philox_fill: philoxFill, fma_peak: fmaPeak, stream_copy: streamCopy,
  conv2d_forward: conv2dForward, conv2d_backward_input: conv2dBackwardInput, conv2d_backward_weight: conv2dBackwardWeight,
  // Layers: activations, pooling, residual sums (src/kernels/{activation,maxpool2d,global_avgpool,add}.ts).
  activation_forward: activationForward, activation_backward: activationBackward,
  maxpool2d_forward: maxpool2dForward, maxpool2d_backward: maxpool2dBackward,
  global_avgpool_forward: globalAvgpoolForward, global_avgpool_backward: globalAvgpoolBackward,
  add,
  // Batch norm, losses, the optimizer step.
  ...trainingKernels,
  // Collapse analysis: normalized distances between neuron vectors (src/kernels/neuron_distances.ts).
  neuron_distances: neuronDistances,
  // Fig. 5's diagonal linear teacher–student model, many runs at once (src/repro/fig5.ts).
  teacher_student_sgd: teacherStudentSgd,
} as const satisfies Record<string, KernelSpec<never>>;
export const jobKernels = { em_collapse: emCollapse } as const;

/** Kernels callable on host arrays as `engine.kernels.<name>(args)`; each may run several tensor kernels. */
export const hostKernels = {
  matmul: matmulHost,
  conv2dForward: conv2dForwardHost,
  conv2dBackward: conv2dBackwardHost,
  linearForward: linearForwardHost,
  linearBackward: linearBackwardHost,
  neuronDistances: neuronDistancesHost,
} as const satisfies Record<string, HostKernel<never, unknown>>;

export type TensorKernelName = keyof typeof tensorKernels;

/**
 * Every kernel of the engine, by name. Tensor kernels run through each backend's generic path and the
 * conformance table (test/kernels/conformance.test.ts) checks each against its reference on every backend;
 * job kernels (the SDE) stream with progress and launch themselves.
 */
import { conv2dBackwardHost, conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, conv2dForwardHost, linearBackwardHost, linearForwardHost } from './conv2d.js';
import { emCollapse } from './em_collapse.js';
import { fmaPeak } from './fma_peak.js';
import { matmul, matmulHost } from './matmul.js';
import { philoxFill } from './philox_fill.js';
import { streamCopy } from './stream_copy.js';
import type { HostKernel } from './run.js';
import type { KernelSpec } from './types.js';

// fma_peak and stream_copy are ceilings: `collapse bench` measures the machine with them (src/bench/ceilings.ts).
export const tensorKernels = {
  matmul, philox_fill: philoxFill, fma_peak: fmaPeak, stream_copy: streamCopy,
  conv2d_forward: conv2dForward, conv2d_backward_input: conv2dBackwardInput, conv2d_backward_weight: conv2dBackwardWeight,
} as const satisfies Record<string, KernelSpec<never>>;
export const jobKernels = { em_collapse: emCollapse } as const;

/** Kernels callable on host arrays as `engine.kernels.<name>(args)`; each may run several tensor kernels. */
export const hostKernels = {
  matmul: matmulHost,
  conv2dForward: conv2dForwardHost,
  conv2dBackward: conv2dBackwardHost,
  linearForward: linearForwardHost,
  linearBackward: linearBackwardHost,
} as const satisfies Record<string, HostKernel<never, unknown>>;

export type TensorKernelName = keyof typeof tensorKernels;

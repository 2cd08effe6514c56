/**
 * stochastic-collapse: Monte Carlo estimation of stochastic collapse (Chen, Kunin, Yamamura, Ganguli 2023)
 * on WebGPU, a native C++ addon, or plain JS.
 */
export { createEngine, Engine, MAX_COUNT } from './engine.js';
export type { BackendChoice, EngineDescription, EngineOptions, KernelParams, KernelsApi, RandomApi, RandomIntoOptions, RandomOptions } from './engine.js';
export type { DType, HostArray, MemoryInfo, Tensor } from './kernels/types.js';
export type { MatmulArgs, MatmulParams } from './kernels/matmul.js';
export type {
  Conv2dBackwardArgs, Conv2dForwardArgs, Conv2dGradients, Conv2dParams, Conv2dShape, LinearBackwardArgs, LinearForwardArgs,
} from './kernels/conv2d.js';
export type { PhiloxFillParams } from './kernels/philox_fill.js';
export { CollapseError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { BackendName } from './backends/types.js';
export type { InitSpec } from './sde/job.js';
export { mergeResults, MAX_STEPS } from './sde/collapse.js';
export type { CollapseOptions, CollapseProgress, CollapseResult, Grid2, Shard } from './sde/types.js';
export { builtinModels } from './sde/models/index.js';
export { defineModel } from './sde/define-model.js';
export type { CustomModelSpec } from './sde/define-model.js';
export type { ModelDefinition, ModelTheory, ParamSpec, PointTheory } from './sde/model.js';
export { philox4x32, uniformFromU32 } from './rng/philox.js';
export { wilson } from './sde/special.js';

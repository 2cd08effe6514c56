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
export type { NeuronDistancesArgs, NeuronDistancesParams } from './kernels/neuron_distances.js';
export type { BatchNorm2dParams } from './kernels/batchnorm2d.js';
export type { SoftmaxCrossEntropyParams } from './kernels/softmax_cross_entropy.js';
export type { MseLossParams } from './kernels/mse_loss.js';
export type { SgdUpdateParams } from './kernels/sgd_update.js';
export { CollapseError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { BackendName } from './backends/types.js';
export type { InitSpec } from './sde/job.js';
export { mergeResults, MAX_STEPS } from './sde/collapse.js';
export { cutShard, MAX_SHARDS, PATH_BLOCK, pathBlocks, shardCells } from './sde/shards.js';
export type { ShardCut, ShardPiece } from './sde/shards.js';
export type { CollapseOptions, CollapseProgress, CollapseResult, Grid2, Shard } from './sde/types.js';
export { builtinModels } from './sde/models/index.js';
export { defineModel } from './sde/define-model.js';
export type { CustomModelSpec } from './sde/define-model.js';
export type { ModelDefinition, ModelTheory, ParamSpec, PointTheory } from './sde/model.js';
export { philox4x32, uniformFromU32 } from './rng/philox.js';
export { wilson } from './sde/special.js';
export { buildModel, PRESETS } from './train/presets.js';
export type { PresetName, PresetOptions } from './train/presets.js';
export { ModelBuilder, parameterCount } from './train/graph.js';
export type { ActivationKind, Model, ModelSpec, Shape } from './train/graph.js';
export type { EvaluateOptions, MetricsRow, StepProgress, TrainOptions, TrainResult } from './train/train.js';
export type { Schedule } from './train/schedule.js';
export { decodeWeights, encodeModel } from './train/checkpoint.js';
export { loadCifar, loadDataset, loadMnist, syntheticDataset } from './train/data/datasets.js';
export type { Dataset, Split } from './train/data/datasets.js';
export { decodeSafetensors, encodeSafetensors } from './io/safetensors.js';
export type { NamedTensor, SafetensorsDType } from './io/safetensors.js';
export * from './analysis/index.js';
export { reproduce, resolveSettings, memoryBlobs } from './repro/run.js';
export type { BlobStore, ReproCheckpoint, ReproduceOptions, ReproResult } from './repro/run.js';
export { REPRODUCTIONS } from './repro/registry.js';
export { renderReport, resultJson, verdictSummary } from './repro/report.js';
export type { RunInfo } from './repro/report.js';
export type { Claim, FigureOutput, ReproProgress, Reproduction, ScaleName, SettingSpec, SettingValue, Verdict } from './repro/types.js';

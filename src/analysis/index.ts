/** Collapse analysis of trained networks (PAPER.md §4): neuron vectors, distances, measures, clustering. */
export { analyzeWeights, ANALYSIS_DEFAULTS, distanceMatrix, openWeights } from './analyze.js';
export type { AnalysisOptions, LayerAnalysis, LayerMatrices, WeightsSource } from './analyze.js';
export { parseLayerMap } from './layer-map.js';
export { averageLinkage, averageLinkageJs, clusterOrder, cutTree } from './linkage.js';
export type { ClusterOrder, DistanceInput, LinkageOptions } from './linkage.js';
export { connectedComponents, effectiveRank, greedyGroups, layerMeasures, rowNorms, singularValues, vanishingMask } from './measures.js';
export type { GreedyGroups, LayerMeasures } from './measures.js';
export { concatenated, layerVectors, modelChain, neuronVectors, planChain, safetensorsSource } from './vectors.js';
export type { LayerPlan, LayerRef, NeuronVectors, TensorSource } from './vectors.js';
export { symmetricEigenvalues } from './eigen.js';

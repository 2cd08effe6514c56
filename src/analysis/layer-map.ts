/**
 * Layer maps: which tensors of a safetensors file trained elsewhere form the chain of layers to analyse.
 *
 * A layer map is JSON: `{ "layers": [ENTRY, ...] }` in the order the network applies them, where ENTRY is either
 * - a module prefix, e.g. `"features.0"`: weight `features.0.weight`, bias `features.0.bias` when the file has
 *   it, named after the prefix; or
 * - an object `{ "name": "conv1", "weight": "features.0.weight", "bias": "features.0.bias" }` (`bias` optional;
 *   `null` or absent: no bias; `name` defaults to the weight's name without `.weight`).
 * Every layer but the last is analysed; the last (usually the classifier) only supplies the outgoing vectors of the
 * one before it. Leave out layers that are not on the main path (residual shortcuts, BatchNorm).
 *
 * Worked example: torchvision's VGG-16 (`torchvision.models.vgg16()`), its `state_dict` saved with
 * `safetensors.torch.save_file(model.state_dict(), "vgg16.safetensors")`:
 *
 *     { "layers": ["features.0", "features.2", "features.5", "features.7", "features.10", "features.12",
 *                  "features.14", "features.17", "features.19", "features.21", "features.24", "features.26",
 *                  "features.28", "classifier.0", "classifier.3", "classifier.6"] }
 *
 * analyses the 13 convolutions and fc14, fc15 (PAPER.md §4.1); conv13 (`features.28`, 512 channels) is read by
 * `classifier.0` ([4096, 25088] after the 7 × 7 adaptive pool: 49 columns per channel) or, in the paper's CIFAR
 * variant ([512, 512] after the last max-pool), by one column per channel.
 */
import { CollapseError } from '../errors.js';
import type { LayerRef } from './vectors.js';

const bad = (what: string, why: string) => new CollapseError('INVALID_ARGUMENT', `layer map ${what}: ${why}`, { layerMap: what });

/**
 * Reads a layer map (parsed JSON) into a chain; `has(name)` says whether the weights hold a tensor (for the
 * prefix form's optional bias). Names and tensors are checked later against the file (see neuronVectors).
 * @example
 * const chain = parseLayerMap(JSON.parse(readFileSync('map.json', 'utf8')), 'map.json', (n) => n in tensors);
 */
export function parseLayerMap(value: unknown, what: string, has: (tensor: string) => boolean): LayerRef[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !Array.isArray((value as { layers?: unknown }).layers)) {
    throw bad(what, 'expected a JSON object {"layers": [...]} listing the layers in order (module prefixes like "features.0", or {"name", "weight", "bias"} objects)');
  }
  const layers = (value as { layers: unknown[] }).layers;
  if (layers.length < 2) throw bad(what, `"layers" has ${layers.length} entr${layers.length === 1 ? 'y' : 'ies'}; at least two are needed (each analysed layer is read by the next)`);
  return layers.map((entry, i): LayerRef => {
    if (typeof entry === 'string') {
      if (entry === '') throw bad(what, `layers[${i}] is an empty string; give a module prefix like "features.0"`);
      const bias = `${entry}.bias`;
      return { name: entry, weight: `${entry}.weight`, ...(has(bias) ? { bias } : {}) };
    }
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw bad(what, `layers[${i}] is ${JSON.stringify(entry)}; each entry is a module prefix string or an object {"name", "weight", "bias"}`);
    }
    const o = entry as Record<string, unknown>;
    const unknownKey = Object.keys(o).find((k) => !['name', 'weight', 'bias'].includes(k));
    if (unknownKey !== undefined) throw bad(what, `layers[${i}] has an unknown key "${unknownKey}"; the keys are name, weight, bias`);
    if (typeof o.weight !== 'string' || o.weight === '') throw bad(what, `layers[${i}] needs "weight": the name of its weight tensor`);
    if (o.bias !== undefined && o.bias !== null && (typeof o.bias !== 'string' || o.bias === '')) throw bad(what, `layers[${i}] "bias" must be a tensor name or null`);
    if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) throw bad(what, `layers[${i}] "name" must be a non-empty string`);
    const name = (o.name as string | undefined) ?? o.weight.replace(/\.weight$/, '');
    return { name, weight: o.weight, ...(typeof o.bias === 'string' ? { bias: o.bias } : {}) };
  });
}

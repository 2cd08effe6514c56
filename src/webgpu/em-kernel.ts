/**
 * Generates the WGSL of the Euler–Maruyama + measurement kernel for one model:
 * philox.wgsl + a prelude (D, M, State, Params, the data binding) + the model's WGSL + em_collapse.wgsl.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../errors.js';
import type { KernelModel } from '../backends/types.js';
import { packageRoot } from '../package-root.js';

const shaders = new Map<string, string>();

/** The text of shaders/<name>, read once. */
export function shaderSource(name: string): string {
  let text = shaders.get(name);
  if (text === undefined) {
    text = readFileSync(join(packageRoot(), 'shaders', name), 'utf8');
    shaders.set(name, text);
  }
  return text;
}

/**
 * Accurate versions of WGSL builtins, declared by the prelude for models to call by name (`tanh_precise`),
 * because the builtins' required precision is too weak for collapse measurements. Vulkan only promises tanh to the precision
 * of (e^x − e^−x)/(e^x + e^−x): an absolute error near 1e-7 around 0 (lavapipe shows it), which would
 * stall a collapsing path's distance near 1e-7 where the f64 reference keeps shrinking. This one has a
 * few ulp of relative error everywhere (Cephes tanhf: an odd polynomial below 0.625, else via exp).
 */
const PRECISE_MATH = `fn tanh_precise(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.625) {
    let z = x * x;
    return x + x * z * ((((-5.70498872745e-3 * z + 2.06390887954e-2) * z - 5.37397155531e-2) * z + 1.33314422036e-1) * z - 3.33332819422e-1);
  }
  let t = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
  return select(t, -t, x < 0.0);
}`;

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Number of f32 fields of the WGSL `Params` struct (an empty struct is not valid WGSL: one pad field then). */
export function paramStride(model: KernelModel): number {
  return Math.max(model.paramNames.length, 1);
}

/**
 * The complete WGSL of the em_collapse kernel specialised to `model` (printable, self-contained).
 * @example
 * const { kernel } = quartic.build({ mu: 1.5, zeta: 1 }, { seed: 1 });
 * console.log(emKernelSource(kernel));
 */
export function emKernelSource(model: KernelModel): string {
  for (const name of model.paramNames) {
    if (!IDENTIFIER.test(name)) throw invalidArgument(`model '${model.name}' parameter name`, name, 'a WGSL identifier (a letter, then letters, digits or _)');
  }
  const fields = model.paramNames.length > 0 ? model.paramNames.map((n) => `  ${n}: f32,`) : ['  _unused: f32,'];
  return `${shaderSource('philox.wgsl')}
// ---- prelude generated for model '${model.name}' (src/webgpu/em-kernel.ts) ----
const D: u32 = ${model.d}u;
const M: u32 = ${model.m}u;
alias State = array<f32, D>;
struct Params {
${fields.join('\n')}
}
@group(0) @binding(2) var<storage, read> data: array<f32>;
// Accurate versions of builtins for the model to call (see PRECISE_MATH in em-kernel.ts).
${PRECISE_MATH}

// ---- model '${model.name}' ----
${model.wgsl.trim()}

${shaderSource('em_collapse.wgsl')}`;
}

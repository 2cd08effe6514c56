import type { ModelDefinition } from './model.js';

/** A valid value of a parameter different from `v` (for probing what the parameter changes). */
function probeValue(spec: ModelDefinition['params'][string], v: number): number | undefined {
  const ok = (x: number) => Number.isFinite(x) && x !== v && (spec.min === undefined || x >= spec.min) && (spec.max === undefined || x <= spec.max)
    && (!spec.integer || Number.isInteger(x));
  return [v + 1, v - 1, v * 1.5 + 0.25, v / 2, spec.min, spec.max].find((x): x is number => x !== undefined && ok(x));
}

/**
 * The parameters of a built-in model that a sweep really varies per grid point: those that change only the
 * kernel's per-point parameter vector (`pack`), not what `build` bakes in (the data, its size, the initial
 * condition). The neuron's `m` (the data size) and `labelNoise` (the generated labels) are fixed when the model
 * is built, so sweeping them would label the result with values that were never used. Derived by building the
 * model twice per parameter (cheap: the models build in microseconds to milliseconds).
 */
export function sweepableParams(model: ModelDefinition, values: Record<string, number>, seed: number): string[] {
  const fingerprint = (v: Record<string, number>) => {
    const b = model.build(v, { seed });
    return { b, key: JSON.stringify([b.kernel.d, b.kernel.m, b.kernel.paramNames, Array.from(b.kernel.data), b.init]) };
  };
  let base: ReturnType<typeof fingerprint>;
  try {
    base = fingerprint(values);
  } catch {
    return [model.noiseParam];
  }
  return Object.keys(model.params).filter((name) => {
    const probe = probeValue(model.params[name], values[name]);
    if (probe === undefined) return name === model.noiseParam;
    const changed = { ...values, [name]: probe };
    try {
      if (fingerprint(changed).key !== base.key) return false; // baked in at build time
      return JSON.stringify(base.b.pack(changed)) !== JSON.stringify(base.b.pack(values)); // and really used per point
    } catch {
      return false;
    }
  });
}

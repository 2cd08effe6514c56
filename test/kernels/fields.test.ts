import { describe, expect, it } from 'vitest';
import { tensorKernels } from '../../src/kernels/registry.js';
import type { KernelSpec } from '../../src/kernels/types.js';
import { kernelSource, packFields } from '../../src/backends/webgpu.js';

/** The `struct Params` of a WGSL source as [name, type] pairs, in order. */
function paramsStruct(source: string): [string, string][] {
  const body = /struct Params\s*\{([^}]*)\}/.exec(source)?.[1];
  if (body === undefined) throw new Error('no struct Params');
  return body.split('\n').map((l) => l.replace(/\/\/.*$/, '').trim()).filter(Boolean).map((l) => {
    const m = /^(\w+)\s*:\s*(\w+)\s*,?$/.exec(l);
    if (!m) throw new Error(`unparsed field line: ${l}`);
    return [m[1], m[2]];
  });
}

describe('every kernel declares its fields exactly as its WGSL Params struct', () => {
  for (const [name, kernel] of Object.entries(tensorKernels) as [string, KernelSpec<unknown>][]) {
    it(`${name}: names, order and types`, () => {
      const fields = kernel.fields.map((f) => [f.name, f.type]);
      expect(paramsStruct(kernelSource(kernel))).toEqual(fields);
    });
  }

  it('the parser sees a mismatch (a test that can fail)', () => {
    expect(paramsStruct('struct Params {\n  a: u32,\n  b: f32, // note\n}')).toEqual([['a', 'u32'], ['b', 'f32']]);
    expect(paramsStruct('struct Params { a: u32 }')).not.toEqual([['b', 'u32']]);
  });

  it('packs u32, i32 and f32 fields into their slots and refuses values that do not fit', () => {
    const kernel = {
      ...tensorKernels.matmul,
      name: 'probe',
      fields: [
        { name: 'a', type: 'u32', value: () => 7 },
        { name: 'b', type: 'i32', value: () => -3 },
        { name: 'c', type: 'f32', value: () => 0.5 },
      ],
    } as unknown as KernelSpec<unknown>;
    const words = packFields(kernel, {}, []);
    expect(words.byteLength).toBe(16);
    expect(new Uint32Array(words)[0]).toBe(7);
    expect(new Int32Array(words)[1]).toBe(-3);
    expect(new Float32Array(words)[2]).toBe(0.5);
    const tooBig = { ...kernel, fields: [{ name: 'a', type: 'u32', value: () => 2 ** 32 }] } as unknown as KernelSpec<unknown>;
    expect(() => packFields(tooBig, {}, [])).toThrow(/does not fit/);
  });
});

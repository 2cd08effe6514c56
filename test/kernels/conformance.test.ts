import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, BackendName } from '../../src/backends/types.js';
import { JsBackend } from '../../src/backends/js.js';
import { NativeBackend } from '../../src/backends/native.js';
import { tensorKernels } from '../../src/kernels/registry.js';
import { callKernel } from '../../src/kernels/run.js';
import type { HostArray, KernelSpec } from '../../src/kernels/types.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { openBackend } from '../helpers/webgpu.js';
import { conformance } from './cases.js';

/** Every registered tensor kernel × every backend × the sizes of test/kernels/cases.ts, against `js`. */
const backends = (await backendsUnderTest()).filter((b) => b !== 'js');
const reference = new JsBackend();

it('every registered tensor kernel has a conformance entry', () => {
  expect(Object.keys(conformance).sort()).toEqual(Object.keys(tensorKernels).sort());
});

for (const name of backends) {
  describe(`${name} kernels against the js reference`, () => {
    let backend: Backend;
    beforeAll(async () => { backend = await open(name); });
    afterAll(() => backend?.close());

    for (const [kernelName, kernel] of Object.entries(tensorKernels) as [string, KernelSpec<unknown>][]) {
      const entry = conformance[kernelName];
      if (!entry) continue;
      it.each(entry.cases().map((c) => [c.label, c] as const))(`${kernelName} %s`, async (_label, c) => {
        const want = await callKernel(reference, kernel, c.params, c.inputs, c.initial ?? []);
        const got = await callKernel(backend, kernel, c.params, c.inputs, c.initial ?? []);
        expect(got.length).toBe(want.length);
        want.forEach((w, o) => {
          const g = got[o] as HostArray;
          expect(g.constructor).toBe(w.constructor);
          expect(g.length).toBe(w.length);
          const bound = entry.tolerance(c as never, o, w, { dtype: 'f32', shape: [w.length] });
          let worst = -Infinity, at = -1;
          for (let i = 0; i < w.length; i++) {
            const excess = Math.abs(g[i] - w[i]) - bound(i);
            if (!(excess <= 0) && !(excess < worst)) { worst = Number.isNaN(excess) ? Infinity : excess; at = i; if (worst === Infinity) break; }
          }
          expect(at, at < 0 ? '' : `output ${o}[${at}]: ${g[at]} vs ${w[at]} (bound ${bound(at)})`).toBe(-1);
        });
      });
    }
  });
}

async function open(name: BackendName): Promise<Backend> {
  if (name === 'native') return NativeBackend.load();
  return openBackend();
}

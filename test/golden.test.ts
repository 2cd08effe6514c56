import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type CollapseOptions, type Engine } from '../src/index.js';
import { backendsUnderTest } from './helpers/backends.js';

/**
 * The kernel-engine port kept every result: random draws and collapse statistics on each backend are exactly
 * those recorded before it (test/golden/pre-port.json, written by the engine at the commit named inside).
 * The native entries were regenerated once since (the file's `nativeNote`): issue 14 gave the native backend a
 * new Box–Muller (native/box_muller.inc), closer to the f64 formula than the one recorded before, on the same
 * Philox words; the counts did not change and the sums stayed within 5e-7 of the js reference's. Both native
 * SIMD families (AVX-512, AVX2) give these same bits.
 */
const golden = JSON.parse(readFileSync(new URL('./golden/pre-port.json', import.meta.url), 'utf8')) as {
  commit: string;
  nativeNote: string;
  random: Record<string, Record<string, string>>;
  collapse: Record<string, Record<string, Record<string, unknown>>>;
  problems: Record<string, CollapseOptions>;
};
const hash = (a: ArrayBufferView) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

for (const backend of await backendsUnderTest()) {
  describe(`${backend}: results identical to those before the port (${golden.commit})`, () => {
    let engine: Engine;
    beforeAll(async () => { engine = await createEngine({ backend }); });
    afterAll(() => engine.close());

    it.each(['uint32', 'uniform', 'normal'] as const)('random.%s: the same bits', async (kind) => {
      const draws = await engine.random[kind](100_003, { seed: 42, stream: 3, offset: 5 });
      expect(hash(draws)).toBe(golden.random[backend][kind]);
    });

    it.each(Object.keys(golden.problems))('collapse %s: the same counts, sums and trajectories', async (name) => {
      const r = await engine.collapse(golden.problems[name]);
      const want = golden.collapse[backend][name];
      expect({ collapsed: r.collapsed, diverged: r.diverged, sumDistance: r.sumDistance, sumSquaredDistance: r.sumSquaredDistance,
        sumLogDistance: r.sumLogDistance, trace: r.trace?.values }).toEqual(want);
    });
  });
}

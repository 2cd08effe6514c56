import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CollapseError, createEngine } from '../src/index.js';
import { backendsUnderTest } from './helpers/backends.js';
import { skipReason } from './helpers/webgpu.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const underTest = await backendsUnderTest();
const dist = new URL('../dist/index.js', import.meta.url).href;

async function expectCode(promise: Promise<unknown>, code: string, pattern?: RegExp) {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(CollapseError);
  expect((error as CollapseError).code).toBe(code);
  if (pattern) expect((error as CollapseError).message).toMatch(pattern);
}

/** Runs an ES module snippet against the built package in a fresh node process. */
function runNode(source: string) {
  expect(existsSync(new URL('../dist/index.js', import.meta.url)), 'dist/ is missing: run `npm run build` first').toBe(true);
  return spawnSync(process.execPath, ['--input-type=module', '-e', source], { cwd: root, encoding: 'utf8', timeout: 90_000 });
}

describe('engine: arguments', () => {
  it('rejects an unknown backend with the list of choices', async () => {
    await expectCode(createEngine({ backend: 'cuda' as never }), 'INVALID_ARGUMENT', /backend must be one of 'auto', 'webgpu', 'native', 'js'; got "cuda"/);
  });

  it('rejects bad counts, seeds, streams and offsets', async () => {
    const engine = await createEngine({ backend: 'js' });
    await expectCode(engine.random.normal(-1), 'INVALID_ARGUMENT', /count must be an integer/);
    await expectCode(engine.random.normal(2.5), 'INVALID_ARGUMENT', /count/);
    await expectCode(engine.random.uint32(2 ** 32), 'INVALID_ARGUMENT', /count must be an integer in \[0, 4294967295\]/);
    await expectCode(engine.random.normal(4, { seed: 1.5 }), 'INVALID_ARGUMENT', /seed must be an integer/);
    await expectCode(engine.random.normal(4, { seed: -1 }), 'INVALID_ARGUMENT', /seed/);
    await expectCode(engine.random.normal(4, { seed: 2 ** 32 }), 'INVALID_ARGUMENT', /seed/);
    await expectCode(engine.random.uniform(4, { stream: Number.NaN }), 'INVALID_ARGUMENT', /stream/);
    await expectCode(engine.random.uniform(4, { offset: -4 }), 'INVALID_ARGUMENT', /offset/);
    expect(await engine.random.normal(0)).toHaveLength(0);
    await expectCode(engine.random.normal(4, { out: new Float32Array(3) }), 'INVALID_ARGUMENT', /out must be a Float32Array of length 4/);
    await expectCode(engine.random.uint32(4, { out: new Float32Array(4) as never }), 'INVALID_ARGUMENT', /out must be a Uint32Array of length 4/);
    const into = new Float32Array(5);
    expect(await engine.random.normal(5, { seed: 2, out: into })).toBe(into);
    expect(into).toEqual(await engine.random.normal(5, { seed: 2 }));
    engine.close();
    await expectCode(engine.random.normal(4), 'ENGINE_CLOSED');
    engine.close(); // idempotent
  });
});

describe('engine: backends agree bit for bit on u32 and uniform streams', async () => {
  const backends = await backendsUnderTest();
  it.each(backends)('%s matches js', async (backend) => {
    const reference = await createEngine({ backend: 'js' });
    const engine = await createEngine({ backend });
    for (const [seed, stream, offset, n] of [[0, 0, 0, 1000], [1, 2, 3, 4097], [0xffffffff, 0xffffffff, 4 * 0xffffffff - 5, 40], [12345, 7, 2 ** 40 + 1, 333]]) {
      expect(await engine.random.uint32(n, { seed, stream, offset })).toEqual(await reference.random.uint32(n, { seed, stream, offset }));
      expect(await engine.random.uniform(n, { seed, stream, offset })).toEqual(await reference.random.uniform(n, { seed, stream, offset }));
      const z = await engine.random.normal(n, { seed, stream, offset });
      const zr = await reference.random.normal(n, { seed, stream, offset });
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(z[i] - zr[i]));
      expect(worst).toBeLessThan(2e-5);
    }
    engine.close();
    reference.close();
  });
});

describe('engine: lifecycle', () => {
  it('two engines live side by side in one process', async () => {
    const a = await createEngine({ backend: 'native' });
    const b = await createEngine({ backend: 'native', threads: 1 });
    const [x, y] = await Promise.all([a.random.uint32(10_000, { seed: 3 }), b.random.uint32(10_000, { seed: 3 })]);
    expect(x).toEqual(y);
    expect(b.describe().threads).toBe(1);
    a.close();
    b.close();
  });

  it('auto says what it chose and why', async () => {
    const engine = await createEngine();
    const d = engine.describe();
    expect(['webgpu', 'native', 'js']).toContain(d.backend);
    expect(d.reason.length).toBeGreaterThan(10);
    expect(d.device.length).toBeGreaterThan(0);
    if (d.backend !== 'webgpu') expect(d.reason).toMatch(/software|no usable WebGPU adapter/);
    engine.close();
  });

  const exitCases = ['auto', 'native', 'js', 'webgpu'].map((backend) => ({ backend, skip: !['auto', ...underTest].includes(backend) }));
  for (const { backend, skip } of exitCases) {
    // webgpu without an adapter (and SC_REQUIRE_WEBGPU unset) is skipped, with the reason in its name
    (skip ? it.skip : it)(`the process exits by itself after close() (${backend})${skip ? ` [skipped: ${skipReason}]` : ''}`, async () => {
      const run = runNode(`
        import { createEngine } from ${JSON.stringify(dist)};
        const engine = await createEngine({ backend: ${JSON.stringify(backend)} });
        const z = await engine.random.normal(100_000, { seed: 1 });
        engine.close();
        console.log('done', engine.describe().backend, z.length);
      `);
      expect(run.error, String(run.error)).toBeUndefined();
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^done \w+ 100000/);
    });
  }

  it('works inside worker threads', () => {
    const run = runNode(`
      import { Worker } from 'node:worker_threads';
      const code = \`
        import { parentPort } from 'node:worker_threads';
        import { createEngine } from ${JSON.stringify(dist)};
        const engine = await createEngine({ backend: 'native' });
        const u = await engine.random.uint32(5, { seed: 11 });
        engine.close();
        parentPort.postMessage(Array.from(u));
      \`;
      const results = await Promise.all([0, 1].map(() => new Promise((resolve, reject) => {
        const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(code)));
        w.once('message', resolve);
        w.once('error', reject);
      })));
      const { createEngine } = await import(${JSON.stringify(dist)});
      const engine = await createEngine({ backend: 'js' });
      const expected = Array.from(await engine.random.uint32(5, { seed: 11 }));
      engine.close();
      console.log(JSON.stringify(results) === JSON.stringify([expected, expected]) ? 'same' : 'different');
    `);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('same');
  });
});

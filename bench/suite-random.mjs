// Suite `random`: standard normals per second, engine.random.normal(n) on each backend vs peers.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dawn, fmtRate, fmtRatio, mdTable, measure, printMeasurement, rmeOf, runPeer, tryEngine, ROOT, SOFTWARE_LABEL } from './lib.mjs';
import { mathRandomNormals } from './plain.mjs';

const require = createRequire(import.meta.url);

export const title = 'random: standard normals per second';

function gpujsKernel(GPU, mode, n) {
  const gpu = new GPU({ mode });
  if (gpu.mode !== mode) throw new Error(`gpu.js fell back to mode '${gpu.mode}'`);
  const kernel = gpu.createKernel(function () {
    const u1 = 1 - Math.random();
    const u2 = Math.random();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(6.283185307179586 * u2);
  }, { output: [n], precision: 'single' });
  return { gpu, kernel };
}

/** Runs the kernel once and checks it returns n normal-looking values (mean ≈ 0, variance ≈ 1). */
async function checkNormals(out, n) {
  const z = await out;
  if (!z || z.length !== n) throw new Error(`returned ${z?.length} values, expected ${n}`);
  let s = 0;
  let s2 = 0;
  const m = Math.min(n, 1 << 16);
  for (let i = 0; i < m; i++) { s += z[i]; s2 += z[i] * z[i]; }
  if (Math.abs(s / m) > 0.05 || Math.abs(s2 / m - 1) > 0.05) throw new Error(`output is not N(0,1): mean ${s / m}, variance ${s2 / m}`);
}

export async function run({ lib, quick, machine }) {
  const n = quick ? 2 ** 20 : 2 ** 24;
  const cores = machine.cpu.cores;
  const unit = 'normals';
  const measurements = [];
  const add = (m) => { printMeasurement(m); measurements.push(m); };
  const opts = (meta) => ({ work: n, unit, quick, meta: { n, ...meta } });
  console.log(`  n = ${n} (2^${Math.log2(n)}) normals per call, seed 1; every call returns a new array`);

  // The engine's backends.
  const configs = [
    { key: 'native-all', name: `native (${cores} threads)`, options: { backend: 'native' } },
    { key: 'native-1', name: 'native (1 thread)', options: { backend: 'native', threads: 1 } },
    { key: 'webgpu', name: 'webgpu', options: { backend: 'webgpu' } },
    { key: 'js', name: 'js (reference backend)', options: { backend: 'js' } },
  ];
  for (const c of configs) {
    const { engine, error } = await tryEngine(lib, c.options);
    if (!engine) {
      add({ key: c.key, name: c.name, kind: 'engine', error: `backend did not load: ${error}` });
      continue;
    }
    const d = engine.describe();
    const soft = c.key === 'webgpu' && (machine.webgpu.adapter.software ?? /software|llvmpipe/.test(d.device));
    const name = soft ? `${c.name} [lavapipe]` : c.name;
    try {
      const z = await engine.random.normal(n, { seed: 1 }); // warm-up: pipelines, pools, page faults
      await checkNormals(z, n);
      const meta = { kind: 'engine', backend: d.backend, threads: d.threads ?? null, device: d.device, softwareAdapter: soft || undefined };
      add(await measure(name, () => engine.random.normal(n, { seed: 1 }), opts({ key: c.key, ...meta })));
      if (c.key === 'native-all') {
        // the same draws into one reused array (`out`): no allocation, no page faults — like NumPy's out=
        const out = new Float32Array(n);
        add(await measure(`${name}, into a reused array`, () => engine.random.normal(n, { seed: 1, out }), opts({ key: 'native-all-out', ...meta })));
      }
    } catch (error) {
      add({ key: c.key, name, kind: 'engine', error: error instanceof Error ? error.message : String(error) });
    } finally {
      engine.close();
    }
  }

  // Plain JS.
  add(await measure('plain JS Math.random + Box–Muller', () => mathRandomNormals(n), opts({ key: 'plain-js', kind: 'peer', threads: 1 })));

  // gpu.js, cpu mode then webgpu mode.
  let GPU;
  try {
    ({ GPU } = require('gpu.js'));
  } catch (error) {
    add({ key: 'gpujs-cpu', name: 'gpu.js cpu mode', error: `gpu.js did not load: ${error.message}` });
  }
  if (GPU) {
    for (const mode of ['cpu', 'webgpu']) {
      const key = `gpujs-${mode}`;
      let name = `gpu.js ${mode} mode (Box–Muller on its Math.random)`;
      let made;
      try {
        if (mode === 'webgpu') {
          const gpu = dawn();
          if (!gpu) throw new Error('the webgpu package did not load');
          if (machine.webgpu.adapter.error) throw new Error(`no WebGPU adapter: ${machine.webgpu.adapter.error}`);
          globalThis.navigator ??= {};
          globalThis.navigator.gpu ??= gpu;
          if (machine.webgpu.adapter.software) name += ' [lavapipe]';
        }
        made = gpujsKernel(GPU, mode, n);
        await checkNormals(made.kernel(), n);
        add(await measure(name, () => made.kernel(), opts({ key, kind: 'peer', threads: 1, softwareAdapter: (mode === 'webgpu' && machine.webgpu.adapter.software) || undefined })));
      } catch (error) {
        add({ key, name, kind: 'peer', error: error instanceof Error ? error.message : String(error) });
      } finally {
        try { made?.gpu.destroy(); } catch { /* gpu.js destroy may reject in cpu mode */ }
      }
    }
  }

  // NumPy in its own process.
  console.log('  numpy: running bench/peers/numpy_random.py ...');
  const peer = await runPeer(['bench/peers/numpy_random.py', '--n', String(n), '--repeat', quick ? '5' : '9', '--seed', '1']);
  if (peer.error) {
    add({ key: 'numpy-float32', name: 'NumPy standard_normal', kind: 'peer', error: peer.error });
  } else {
    for (const r of peer.results) {
      add({
        key: `numpy-${r.dtype}`, name: `NumPy default_rng.standard_normal ${r.dtype.replace("-out", ", into a reused array (out=)")}`, kind: 'peer', n, unit, work: n, threads: 1,
        source: `bench/peers/numpy_random.py (numpy ${peer.numpy}, ${peer.bitGenerator})`,
        perSecond: r.perSecond, medianSeconds: r.median, samples: r.times.length, sampleSeconds: r.times,
        hz: 1 / r.median, opsPerSecond: 1 / r.median, rme: rmeOf(r.times),
      });
    }
  }

  // Ratios.
  const rate = (key) => measurements.find((m) => m.key === key && !m.error)?.perSecond ?? NaN;
  const ratios = [
    { name: `native (${cores} threads) / NumPy float64 (the default standard_normal(n), both allocating)`, value: rate('native-all') / rate('numpy-float64'), target: 5 },
    { name: `native (${cores} threads) / NumPy float32, both allocating`, value: rate('native-all') / rate('numpy-float32'), target: 5 },
    { name: `native (${cores} threads) / NumPy float32, both into a reused array`, value: rate('native-all-out') / rate('numpy-float32-out'), target: 5 },
    { name: 'native (1 thread) / NumPy float32 (per core)', value: rate('native-1') / rate('numpy-float32') },
    { name: `native (${cores} threads) / native (1 thread)`, value: rate('native-all') / rate('native-1') },
    { name: `native (${cores} threads) / plain JS Math.random`, value: rate('native-all') / rate('plain-js') },
    { name: `native (${cores} threads) / gpu.js cpu`, value: rate('native-all') / rate('gpujs-cpu') },
    { name: 'js backend / plain JS Math.random', value: rate('js') / rate('plain-js') },
    { name: `webgpu / NumPy float32${machine.webgpu.adapter.software ? ` (${SOFTWARE_LABEL})` : ''}`, value: rate('webgpu') / rate('numpy-float32') },
    { name: `machine: ${machine.parallelCeiling?.workers} busy JS workers / 1 (the ceiling for thread scaling here)`, value: machine.parallelCeiling?.scaling },
  ].filter((r) => Number.isFinite(r.value));
  for (const r of ratios) if (r.target) r.met = r.value >= r.target;

  const ref = rate('numpy-float32');
  const rows = measurements.map((m) => m.error
    ? [m.name, 'skipped', '', '', m.error.replace(/\|/g, '/')]
    : [m.name, `${fmtRate(m.perSecond)}/s`, Number.isFinite(m.rme) ? `±${m.rme.toFixed(1)}%` : '', String(m.samples), Number.isFinite(ref) ? fmtRatio(m.perSecond / ref) : '']);
  // The native normals kernel alone, per SIMD family (bench/sde-kernel.mjs --normals in child processes).
  const kernelRuns = [];
  for (const fam of [{ name: 'default', env: {} }, { name: 'SC_NATIVE_ISA=avx2', env: { SC_NATIVE_ISA: 'avx2' } }]) {
    const { SC_NATIVE_ISA: _i, SC_NATIVE_AVX512: _a, ...env } = process.env;
    const run = spawnSync(process.execPath, ['bench/sde-kernel.mjs', '--normals', ...(quick ? ['--quick'] : [])], { cwd: ROOT, env: { ...env, ...fam.env }, encoding: 'utf8' });
    if (run.status !== 0) { console.log(`  kernel alone (${fam.name}) failed: ${run.stderr.trim().split('\n').pop()}`); continue; }
    const r = JSON.parse(run.stdout.trim().split('\n').pop());
    if (kernelRuns.some((k) => k.isa === r.isa)) continue;
    kernelRuns.push(r);
    console.log(`  kernel alone, ${r.isa}: ${r.cyclesPerNormal.toFixed(2)} cycles/normal at ${(r.clockHz / 1e9).toFixed(2)} GHz; 1 thread ${fmtRate(r.perCpuSecond1)}/s per CPU-second, 2 threads ${fmtRate(r.perSecond2)}/s (load ${r.loadavg[0].toFixed(1)})`);
  }

  const markdown = [
    mdTable(['normals (n = 2^' + Math.log2(n) + ')', 'rate (median)', 'rme', 'samples', '× NumPy f32'], rows),
    '',
    mdTable(['ratio', 'value', 'target'], ratios.map((r) => [r.name, fmtRatio(r.value), r.target ? `≥ ${r.target}× ${r.met ? 'met' : 'NOT met'}` : ''])),
  ];
  if (kernelRuns.length) {
    markdown.push('', `**The native normals kernel alone** (\`bench/sde-kernel.mjs --normals\`: philox_fill into one reused array of ${kernelRuns[0].n} floats, per SIMD family; ` +
      'cycles = CPU-seconds of the 1-thread call × the clock measured in the same process; 1-min load average of the host shown: other sessions share its cores).', '',
    mdTable(['family', 'clock', 'cycles / normal', '1 thread (per CPU-s)', '1 thread (wall)', '2 threads (wall)', 'host load'],
      kernelRuns.map((r) => [r.isa, `${(r.clockHz / 1e9).toFixed(2)} GHz`, r.cyclesPerNormal.toFixed(2), `${fmtRate(r.perCpuSecond1)}/s`, `${fmtRate(r.perSecond1)}/s`, `${fmtRate(r.perSecond2)}/s`, r.loadavg[0].toFixed(1)])));
  }
  return { problem: { n, seed: 1, cores: os.availableParallelism?.() ?? cores }, measurements, kernel: kernelRuns, ratios, markdown: markdown.join('\n') };
}

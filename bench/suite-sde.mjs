// Suite `sde`: Euler–Maruyama path-steps per second (engine.collapse) on each backend vs NumPy, PyTorch and
// plain JS; then the native kernel alone per model and SIMD family (bench/sde-kernel.mjs in child processes):
// cycles per path-step with the clock measured in the same run, 1 and 2 threads.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fmtRate, fmtRatio, fmtSeconds, mdTable, measure, printMeasurement, rmeOf, runPeer, tryEngine, ROOT, SOFTWARE_LABEL } from './lib.mjs';
import { linspace, plainNeuron, plainQuartic } from './plain.mjs';

export const title = 'sde: Euler–Maruyama path-steps per second';

/** Fig. 1's full right panel: 100 noise levels × 1000 paths × 80 000 steps. */
const FIG1_PATH_STEPS = 100 * 1000 * 80_000;

/**
 * Problem sizes. `big` is for native and NumPy (≥ 0.5 s per call on native); `medium` for webgpu on a software
 * adapter; `small` for the js reference backend and plain JS. Quick mode divides the steps by 10.
 */
function problems(quick) {
  const s = (steps) => (quick ? Math.max(10, Math.round(steps / 10)) : steps);
  return {
    quartic: {
      base: { model: 'quartic', params: { mu: 1.5 }, dt: 0.0025, epsilon: 1e-30, seed: 1, noiseMax: 3 },
      big: { grid: 100, paths: 1000, steps: s(8000) },
      medium: { grid: 100, paths: 1000, steps: s(800) },
      small: { grid: 10, paths: 500, steps: s(1000) },
    },
    neuron: {
      base: { model: 'neuron', params: { m: 32 }, dt: 0.01, epsilon: 1e-2, seed: 1, noiseMax: 2 },
      big: { grid: 10, paths: 1000, steps: s(1500) },
      medium: { grid: 10, paths: 1000, steps: s(75) },
      small: { grid: 10, paths: 100, steps: s(100) },
    },
  };
}

const sizeText = (p) => `${p.grid}×${p.paths}×${p.steps}`;

function collapseOptions(base, size) {
  return {
    model: base.model, params: base.params, noise: linspace(0, base.noiseMax, size.grid), paths: size.paths, steps: size.steps,
    dt: base.dt, record: [size.steps], epsilon: base.epsilon, seed: base.seed,
  };
}

export async function run({ lib, quick, machine }) {
  const cores = machine.cpu.cores;
  const unit = 'path-steps';
  const all = problems(quick);
  const measurements = [];
  const add = (m) => { printMeasurement(m); measurements.push(m); };
  const software = Boolean(machine.webgpu.adapter.software);

  const engines = [
    { key: 'native-1', name: 'native (1 thread)', options: { backend: 'native', threads: 1 }, size: 'big' },
    ...(cores >= 2 ? [{ key: 'native-2', name: cores === 2 ? 'native (2 threads = all)' : 'native (2 threads)', options: { backend: 'native', threads: 2 }, size: 'big' }] : []),
    ...(cores !== 2 ? [{ key: 'native-all', name: `native (${cores} threads = all)`, options: { backend: 'native' }, size: 'big' }] : []),
    { key: 'webgpu', name: software ? 'webgpu [lavapipe]' : 'webgpu', options: { backend: 'webgpu' }, size: 'medium' },
    { key: 'js', name: 'js (reference backend)', options: { backend: 'js' }, size: 'small' },
  ];

  for (const [model, prob] of Object.entries(all)) {
    console.log(`  ${model}: dt ${prob.base.dt}, ε ${prob.base.epsilon}, noise linspace(0, ${prob.base.noiseMax}, grid), record at the final step; problem grid×paths×steps`);
    for (const c of engines) {
      const size = prob[c.size];
      const name = `${model} ${c.name}`;
      const meta = { key: c.key, model, kind: 'engine', problem: { ...size, dt: prob.base.dt, epsilon: prob.base.epsilon } };
      const { engine, error } = await tryEngine(lib, c.options);
      if (!engine) {
        add({ ...meta, name, error: `backend did not load: ${error}` });
        continue;
      }
      const d = engine.describe();
      const opts = collapseOptions(prob.base, size);
      const work = size.grid * size.paths * size.steps;
      try {
        await engine.collapse({ ...opts, steps: Math.min(opts.steps, 10), record: [Math.min(opts.steps, 10)] }); // warm-up: pipelines, pools
        add(await measure(`${name} ${sizeText(size)}`, () => engine.collapse(opts), {
          work, unit, quick, meta: { ...meta, backend: d.backend, threads: d.threads ?? null, device: d.device, softwareAdapter: (c.key === 'webgpu' && software) || undefined },
        }));
      } catch (e) {
        add({ ...meta, name, error: e instanceof Error ? e.message : String(e) });
      } finally {
        engine.close();
      }
    }

    // Plain JS loop (xorshift + Box–Muller), small problem.
    {
      const size = prob.small;
      const args = { noise: linspace(0, prob.base.noiseMax, size.grid), paths: size.paths, steps: size.steps, dt: prob.base.dt, epsilon: prob.base.epsilon, seed: 1 };
      const fn = model === 'quartic' ? () => plainQuartic({ ...args, mu: 1.5 }) : () => plainNeuron({ ...args, m: 32 });
      add(await measure(`${model} plain JS loop ${sizeText(size)}`, fn, {
        work: size.grid * size.paths * size.steps, unit, quick, meta: { key: 'plain-js', model, kind: 'peer', threads: 1, problem: { ...size, dt: prob.base.dt, epsilon: prob.base.epsilon } },
      }));
    }

    // NumPy vectorized Euler–Maruyama in its own process, same problem as native, float32 then float64.
    for (const dtype of ['float32', 'float64']) {
      const size = prob.big;
      console.log(`  numpy: bench/peers/numpy_em.py --model ${model} --dtype ${dtype} (${sizeText(size)}) ...`);
      const peer = await runPeer(['bench/peers/numpy_em.py', '--model', model, '--grid', String(size.grid), '--paths', String(size.paths),
        '--steps', String(size.steps), '--repeat', '3', '--dtype', dtype, '--seed', '1']);
      const meta = { key: `numpy-${dtype}`, model, kind: 'peer', threads: 1, problem: { ...size, dt: prob.base.dt, epsilon: prob.base.epsilon } };
      if (peer.error) {
        add({ ...meta, name: `${model} NumPy EM ${dtype}`, error: peer.error });
        continue;
      }
      add({
        ...meta, name: `${model} NumPy EM ${dtype} ${sizeText(size)}`, unit, work: peer.pathSteps,
        source: `bench/peers/numpy_em.py (numpy ${peer.numpy})`,
        perSecond: peer.pathStepsPerSecond, medianSeconds: peer.median, samples: peer.times.length, sampleSeconds: peer.times,
        hz: 1 / peer.median, opsPerSecond: 1 / peer.median, rme: rmeOf(peer.times), collapsedAtEnd: peer.collapsedAtEnd,
      });
    }
  }

  // PyTorch CPU Euler–Maruyama (quartic only: bench/peers/torch_em.py), 1 and 2 intra-op threads, on a tenth of
  // the steps of the big problem (its rate is flat in the steps; the full one would take minutes).
  {
    const prob = all.quartic;
    const size = { ...prob.big, steps: Math.max(10, Math.round(prob.big.steps / 10)) };
    for (const threads of [1, 2]) {
      console.log(`  torch: bench/peers/torch_em.py --device cpu --threads ${threads} (${sizeText(size)}) ...`);
      const peer = await runPeer(['bench/peers/torch_em.py', '--device', 'cpu', '--threads', String(threads), '--grid', String(size.grid),
        '--paths', String(size.paths), '--steps', String(size.steps), '--repeat', '3', '--seed', '1']);
      const meta = { key: `torch-cpu-${threads}`, model: 'quartic', kind: 'peer', threads, problem: { ...size, dt: prob.base.dt, epsilon: prob.base.epsilon } };
      if (peer.error) {
        add({ ...meta, name: `quartic PyTorch CPU EM (${threads} thread${threads > 1 ? 's' : ''})`, error: peer.error });
        continue;
      }
      add({
        ...meta, name: `quartic PyTorch CPU EM float32 (${threads} thread${threads > 1 ? 's' : ''}) ${sizeText(size)}`, unit, work: peer.pathSteps,
        source: `bench/peers/torch_em.py (torch ${peer.torch})`,
        perSecond: peer.pathStepsPerSecond, medianSeconds: peer.median, samples: peer.times.length, sampleSeconds: peer.times,
        hz: 1 / peer.median, opsPerSecond: 1 / peer.median, rme: rmeOf(peer.times), collapsedAtEnd: peer.collapsedAtEnd,
      });
    }
  }

  // The native kernel alone, per model and SIMD family.
  const kernelRuns = [];
  for (const fam of [{ name: 'default', env: {} }, { name: 'avx2 (SC_NATIVE_ISA=avx2)', env: { SC_NATIVE_ISA: 'avx2' } }]) {
    console.log(`  kernel alone: bench/sde-kernel.mjs, ${fam.name} ...`);
    const { SC_NATIVE_ISA: _i, SC_NATIVE_AVX512: _a, ...env } = process.env;
    const run = spawnSync(process.execPath, ['bench/sde-kernel.mjs', ...(quick ? ['--quick'] : [])], { cwd: ROOT, env: { ...env, ...fam.env }, encoding: 'utf8', maxBuffer: 1 << 26 });
    if (run.status !== 0) { console.log(`    failed: ${run.stderr.trim().split('\n').pop()}`); continue; }
    const r = JSON.parse(run.stdout.trim().split('\n').pop());
    if (kernelRuns.some((k) => k.isa === r.isa)) continue; // no AVX-512 here: the default family is AVX2 already
    kernelRuns.push({ family: fam.name, ...r });
    for (const m of r.models) {
      console.log(`    ${r.isa} ${m.model}: ${m.cyclesPerPathStep.toFixed(2)} cycles/path-step (${m.cyclesPerNormal.toFixed(2)}/normal) at ${(m.clockHz / 1e9).toFixed(2)} GHz; ` +
        `1 thread ${fmtRate(m.perCpuSecond1)}/s per CPU-second (${fmtRate(m.perSecond1)}/s wall), 2 threads ${fmtRate(m.perSecond2)}/s`);
    }
  }

  // Ratios and projections.
  const rate = (model, key) => {
    const m = measurements.find((x) => x.model === model && x.key === key && !x.error)
      ?? (key === 'native-all' && cores === 2 ? measurements.find((x) => x.model === model && x.key === 'native-2' && !x.error) : undefined);
    return m?.perSecond ?? NaN;
  };
  const ratios = [];
  for (const model of Object.keys(all)) {
    ratios.push(
      { model, name: `${model}: native (1 thread) / NumPy float32 — per core`, value: rate(model, 'native-1') / rate(model, 'numpy-float32'), target: 8 },
      { model, name: `${model}: native (1 thread) / NumPy float64 — per core`, value: rate(model, 'native-1') / rate(model, 'numpy-float64') },
      { model, name: `${model}: native (2 threads) / native (1 thread)`, value: rate(model, 'native-2') / rate(model, 'native-1'), target: 1.7 },
      { model, name: `${model}: native (${cores} threads) / NumPy float32`, value: rate(model, 'native-all') / rate(model, 'numpy-float32') },
      { model, name: `${model}: native (1 thread) / plain JS loop`, value: rate(model, 'native-1') / rate(model, 'plain-js') },
      { model, name: `${model}: webgpu / NumPy float32${software ? ` (${SOFTWARE_LABEL})` : ''}`, value: rate(model, 'webgpu') / rate(model, 'numpy-float32') },
    );
  }
  const kernelOf = (isa, model) => kernelRuns.find((k) => k.isa === isa)?.models.find((m) => m.model === model);
  for (const k of kernelRuns) {
    const q = kernelOf(k.isa, 'quartic'), n = kernelOf(k.isa, 'neuron');
    if (q) {
      ratios.push({ model: 'quartic', name: `quartic kernel ${k.isa}: cycles per path-step (goal ≤ 4.1 on AVX2)`, value: q.cyclesPerPathStep, goalMax: k.isa === 'avx2' ? 4.1 : undefined, unit: 'cycles' });
      ratios.push({ model: 'quartic', name: `quartic kernel ${k.isa} (1 thread, per CPU-second) / NumPy float32 — per core`, value: q.perCpuSecond1 / rate('quartic', 'numpy-float32'), target: 10 });
      ratios.push({ model: 'quartic', name: `quartic kernel ${k.isa} (1 thread, per CPU-second) / PyTorch CPU (1 thread)`, value: q.perCpuSecond1 / rate('quartic', 'torch-cpu-1'), target: 6 });
    }
    if (n) ratios.push({ model: 'neuron', name: `neuron kernel ${k.isa}: cycles per normal (m = 32; goal: the quartic's)`, value: n.cyclesPerNormal, unit: 'cycles' });
  }
  if (machine.parallelCeiling) {
    ratios.push({ name: `machine: ${machine.parallelCeiling.workers} busy JS workers / 1 (the ceiling for thread scaling here)`, value: machine.parallelCeiling.scaling });
  }
  const kept = ratios.filter((r) => Number.isFinite(r.value));
  for (const r of kept) {
    if (r.target) r.met = r.value >= r.target;
    if (r.goalMax) r.met = r.value <= r.goalMax;
  }

  const projections = measurements
    .filter((m) => m.model === 'quartic' && !m.error)
    .map((m) => ({ name: m.name, seconds: FIG1_PATH_STEPS / m.perSecond, softwareAdapter: m.softwareAdapter }));
  for (const m of measurements) if (m.model === 'quartic' && !m.error) m.fig1ProjectedSeconds = FIG1_PATH_STEPS / m.perSecond;

  const rows = measurements.map((m) => {
    if (m.error) return [m.model, m.name.replace(`${m.model} `, ''), '', 'skipped', '', '', '', m.error.replace(/\|/g, '/')];
    const ref = rate(m.model, 'numpy-float32');
    const label = m.name.replace(`${m.model} `, '').replace(/ \d+×\d+×\d+$/, '');
    return [m.model, label, m.problem ? sizeText(m.problem) : '', `${fmtRate(m.perSecond)}/s`, Number.isFinite(m.rme) ? `±${m.rme.toFixed(1)}%` : '', String(m.samples),
      Number.isFinite(ref) ? fmtRatio(m.perSecond / ref) : '', m.model === 'quartic' ? fmtSeconds(m.fig1ProjectedSeconds) : ''];
  });
  const markdown = [
    mdTable(['model', 'backend / peer', 'grid×paths×steps', 'path-steps/s (median)', 'rme', 'samples', '× NumPy f32', 'Fig. 1 panel (8.0e9 path-steps)'], rows),
    '',
    mdTable(['ratio', 'value', 'target'], kept.map((r) => [r.name, r.unit === 'cycles' ? r.value.toFixed(2) : fmtRatio(r.value),
      r.target ? `≥ ${r.target}× ${r.met ? 'met' : 'NOT met'}` : r.goalMax ? `≤ ${r.goalMax} ${r.met ? 'met' : 'NOT met'}` : ''])),
    '',
    `**The native kernel alone** (\`bench/sde-kernel.mjs\`: em_collapse through the addon, no JS theory; per model, medians of ${kernelRuns[0]?.samples ?? '?'} calls). ` +
      'Cycles = CPU-seconds of the 1-thread call × the clock, the clock measured in the same process between the calls (a chain of dependent adds, ' +
      `1 cycle each, over the thread's CPU time). Host load (1-min load average) during the runs: ${kernelRuns.map((k) => `${k.isa} ${k.loadavg[0].toFixed(1)}`).join(', ')} on ${os.cpus().length} cores ` +
      '(other sessions share the machine: the 2-thread rates are what was left of the second core).',
    '',
    mdTable(['family', 'model', 'm', 'grid×paths×steps', 'clock', 'cycles / path-step', 'cycles / normal', '1 thread (per CPU-s)', '1 thread (wall)', '2 threads (wall)'],
      kernelRuns.flatMap((k) => k.models.map((m) => [k.isa, m.model, String(m.m), sizeText(m.problem), `${(m.clockHz / 1e9).toFixed(2)} GHz`, m.cyclesPerPathStep.toFixed(2),
        m.cyclesPerNormal.toFixed(2), `${fmtRate(m.perCpuSecond1)}/s`, `${fmtRate(m.perSecond1)}/s`, `${fmtRate(m.perSecond2)}/s`]))),
  ].join('\n');
  return {
    problem: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, { ...v.base, noise: `linspace(0, ${v.base.noiseMax}, grid)`, big: v.big, medium: v.medium, small: v.small }])),
    fig1PathSteps: FIG1_PATH_STEPS, measurements, kernel: kernelRuns, ratios: kept, projections, markdown,
  };
}

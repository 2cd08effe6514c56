// Suite `sde`: Euler–Maruyama path-steps per second (engine.collapse) on each backend vs NumPy and plain JS.
import { fmtRate, fmtRatio, fmtSeconds, mdTable, measure, printMeasurement, rmeOf, runPeer, tryEngine, SOFTWARE_LABEL } from './lib.mjs';
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
  if (machine.parallelCeiling) {
    ratios.push({ name: `machine: ${machine.parallelCeiling.workers} busy JS workers / 1 (the ceiling for thread scaling here)`, value: machine.parallelCeiling.scaling });
  }
  const kept = ratios.filter((r) => Number.isFinite(r.value));
  for (const r of kept) if (r.target) r.met = r.value >= r.target;

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
    mdTable(['ratio', 'value', 'target'], kept.map((r) => [r.name, fmtRatio(r.value), r.target ? `≥ ${r.target}× ${r.met ? 'met' : 'NOT met'}` : ''])),
  ].join('\n');
  return {
    problem: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, { ...v.base, noise: `linspace(0, ${v.base.noiseMax}, grid)`, big: v.big, medium: v.medium, small: v.small }])),
    fig1PathSteps: FIG1_PATH_STEPS, measurements, ratios: kept, projections, markdown,
  };
}

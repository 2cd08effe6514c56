// Suite `matmul`: f32 GEMM GFLOP/s at the tensor level on each backend vs NumPy and PyTorch, and the fixed cost
// of one kernel launch.
import { fmtRatio, mdTable, measure, median, operand, printMeasurement, rmeOf, runPeer, tryEngine, SOFTWARE_LABEL } from './lib.mjs';

export const title = 'matmul: f32 GEMM GFLOP/s and launch cost';

const sq = (s) => ({ key: `${s}`, label: `${s}³`, m: s, n: s, k: s });
/** Square products, then the shapes of a small CNN's training step (batch 128, 28×28 inputs). */
const SQUARES = [64, 128, 256, 512, 1024].map(sq);
const TRAINING = [
  { key: 'linear', label: 'linear 3136→10, batch 128', m: 128, n: 10, k: 3136 },
  { key: 'conv32', label: 'conv 3×3 32→32 as GEMM', m: 6272, n: 32, k: 288 },
  { key: 'conv64', label: 'conv 3×3 32→64 as GEMM', m: 3136, n: 64, k: 288 },
  { key: 'wgrad', label: 'weight gradient of the linear (Aᵀ)', m: 10, n: 3136, k: 128, transposeA: true },
];
const flopsOf = (s) => 2 * s.m * s.n * s.k;
const dims = (s) => `${s.m}×${s.n}×${s.k}${s.transposeA ? ' Aᵀ' : ''}${s.transposeB ? ' Bᵀ' : ''}`;
/** The peers' --shape argument: MxNxK[:tA][:tB]. */
const shapeArg = (s) => `${s.m}x${s.n}x${s.k}${s.transposeA ? ':tA' : ''}${s.transposeB ? ':tB' : ''}`;
const params = (s) => ({ m: s.m, n: s.n, k: s.k, ...(s.transposeA ? { transposeA: true } : {}), ...(s.transposeB ? { transposeB: true } : {}) });

/** Queued kernel launches per flush in the enqueue-cost measurement. */
const QUEUED = 1000;

/** Seconds per measurement: the suite times ~40 things, and lib.mjs's default 4 s each would take minutes. */
const budget = (quick) => (quick ? 0.4 : 1.5);

function operands(s) {
  return { a: operand(s.m * s.k, 1), b: operand(s.k * s.n, 2) };
}

/** Checks 16 entries of C against f64 dot products (a wrong kernel must not produce a fast number). */
function checkProduct(c, a, b, s) {
  if (!c || c.length !== s.m * s.n) throw new Error(`returned ${c?.length} values, expected ${s.m * s.n}`);
  const { m, n, k, transposeA: ta, transposeB: tb } = s;
  for (let q = 0; q < 16; q++) {
    const i = (q * 7919) % m;
    const j = (q * 104729) % n;
    let sum = 0;
    let mag = 0;
    for (let l = 0; l < k; l++) {
      const p = a[ta ? l * m + i : i * k + l] * b[tb ? j * k + l : l * n + j];
      sum += p;
      mag += Math.abs(p);
    }
    if (!(Math.abs(c[i * n + j] - sum) <= 1e-5 * mag + 1e-6)) throw new Error(`C[${i}, ${j}] = ${c[i * n + j]}, expected ${sum}`);
  }
}

const errorText = (e) => (e instanceof Error ? e.message : String(e));

/** The peer's BLAS for the notes; a single-threaded one makes its N-thread column a 1-thread number. */
function blasNote(blas) {
  if (!blas) return '';
  if (typeof blas === 'string') return `; ${blas}`; // torch's BLAS_INFO line
  const text = `; BLAS: ${blas.kind} (${[blas.library].flat().join(', ')})`;
  return /single-threaded/.test(blas.kind) ? `${text}, **not OpenBLAS**: its thread variables have no effect, every column is one thread` : text;
}

export async function run({ lib, quick, machine }) {
  const cores = machine.cpu.cores;
  const software = Boolean(machine.webgpu.adapter.software);
  const shapes = [...(quick ? SQUARES.slice(0, 3) : SQUARES), ...TRAINING];
  const measurements = [];
  const add = (m) => { printMeasurement(m); measurements.push(m); };
  const unit = 'FLOP';
  const hostSize = quick ? 256 : 512;
  console.log(`  C = op(A)·op(B), f32, row-major; shapes m×n×k: ${shapes.map(dims).join(', ')}`);
  console.log('  tensor level: inputs resident, the output reused, one timed call = engine.run + engine.flush');

  // The engine's backends. `maxFlops`: the largest product a backend is timed on (a software adapter and the
  // js reference backend are slow; their rows show the path works, the sizes they skip are marked).
  const engines = [
    { key: 'native-1', name: 'native (1 thread)', options: { backend: 'native', threads: 1 }, maxFlops: Infinity },
    ...(cores >= 2 ? [{ key: 'native-2', name: cores === 2 ? 'native (2 threads = all)' : 'native (2 threads)', options: { backend: 'native', threads: 2 }, maxFlops: Infinity }] : []),
    ...(cores > 2 ? [{ key: 'native-all', name: `native (${cores} threads = all)`, options: { backend: 'native', threads: cores }, maxFlops: Infinity }] : []),
    { key: 'webgpu', name: software ? 'webgpu [lavapipe]' : 'webgpu', options: { backend: 'webgpu' }, maxFlops: software ? flopsOf(sq(quick ? 256 : 512)) : Infinity },
    { key: 'js', name: 'js (reference backend)', options: { backend: 'js' }, maxFlops: flopsOf(sq(128)) },
  ];
  const allKey = cores === 1 ? 'native-1' : cores === 2 ? 'native-2' : 'native-all';
  const skipped = []; // { name, error }: a backend or peer that did not run at all

  for (const c of engines) {
    const { engine, error } = await tryEngine(lib, c.options);
    if (!engine) {
      skipped.push({ key: c.key, name: c.name, error: `backend did not load: ${error}` });
      add({ key: c.key, name: c.name, kind: 'engine', error: `backend did not load: ${error}` });
      continue;
    }
    const d = engine.describe();
    const meta = { key: c.key, kind: 'engine', backend: d.backend, threads: d.threads ?? null, device: d.device, softwareAdapter: (c.key === 'webgpu' && software) || undefined };
    try {
      // The fixed cost of a launch, and whether the backend has the kernel at all: a 1×1×1 product.
      const one = { key: 'launch', m: 1, n: 1, k: 1 };
      const ta = engine.tensor('f32', [1, 1], new Float32Array([2]));
      const tb = engine.tensor('f32', [1, 1], new Float32Array([3]));
      const [tc] = engine.run('matmul', params(one), [ta, tb]);
      await engine.flush();
      const got = await engine.read(tc);
      if (got[0] !== 6) throw new Error(`1×1×1 matmul returned ${got[0]}, expected 6`);
      add(await measure(`${c.name}: launch, 1×1×1 run + flush`, () => { engine.run('matmul', params(one), [ta, tb], [tc]); return engine.flush(); },
        { work: 1, unit: 'launches', quick, meta: { ...meta, shape: 'launch-sync', problem: one }, maxTime: budget(quick) }));
      add(await measure(`${c.name}: launch, ${QUEUED}× 1×1×1 queued + 1 flush`, () => {
        for (let i = 0; i < QUEUED; i++) engine.run('matmul', params(one), [ta, tb], [tc]);
        return engine.flush();
      }, { work: QUEUED, unit: 'launches', quick, meta: { ...meta, shape: 'launch-queued', problem: { ...one, queued: QUEUED } }, maxTime: budget(quick) }));
      engine.release(ta, tb, tc);
    } catch (e) {
      // No kernel (native before matmul is registered), or a broken one: one row, the shapes are not tried.
      skipped.push({ key: c.key, name: c.name, error: errorText(e) });
      add({ ...meta, name: c.name, error: errorText(e) });
      engine.close();
      continue;
    }

    for (const s of shapes) {
      const name = `${c.name} ${s.label} (${dims(s)})`;
      const work = flopsOf(s);
      if (work > c.maxFlops) continue;
      const m = { ...meta, shape: s.key, problem: params(s) };
      const made = [];
      try {
        const { a, b } = operands(s);
        const ta = engine.tensor('f32', s.transposeA ? [s.k, s.m] : [s.m, s.k], a);
        made.push(ta);
        const tb = engine.tensor('f32', s.transposeB ? [s.n, s.k] : [s.k, s.n], b);
        made.push(tb);
        const [tc] = engine.run('matmul', params(s), [ta, tb]); // warm-up: pipelines, pools, packing buffers
        made.push(tc);
        await engine.flush();
        checkProduct(await engine.read(tc), a, b, s);
        add(await measure(name, () => { engine.run('matmul', params(s), [ta, tb], [tc]); return engine.flush(); }, { work, unit, quick, meta: m, maxTime: budget(quick) }));
      } catch (e) {
        add({ ...m, name, error: errorText(e) });
      } finally {
        engine.release(...made);
      }
    }

    // Host level on native at 512³ (quick: 256³): upload A and B, run, read C back, free; against the tensor level.
    if (c.key.startsWith('native')) {
      const s = sq(hostSize);
      const { a, b } = operands(s);
      const name = `${c.name} ${s.label}, host level engine.kernels.matmul`;
      try {
        checkProduct(await engine.kernels.matmul({ a, b, ...params(s) }), a, b, s);
        add(await measure(name, () => engine.kernels.matmul({ a, b, ...params(s) }), { work: flopsOf(s), unit, quick, meta: { ...meta, shape: 'host', problem: params(s) }, maxTime: budget(quick) }));
      } catch (e) {
        add({ ...meta, shape: 'host', name, error: errorText(e) });
      }
    }
    engine.close();
  }

  // Peers in their own processes, at 1 thread and at all threads, on every shape.
  const peerThreads = cores > 1 ? [1, cores] : [1];
  const peers = [
    { key: 'numpy', script: 'bench/peers/numpy_matmul.py', label: 'NumPy', call: 'a @ b' },
    { key: 'torch', script: 'bench/peers/torch_matmul.py', label: 'PyTorch', call: 'torch.mm(a, b)' },
  ];
  const peerInfo = {};
  for (const p of peers) {
    for (const threads of peerThreads) {
      const key = `${p.key}-${threads}`;
      const name = `${p.label} ${p.call} (${threads} thread${threads > 1 ? 's' : ''})`;
      console.log(`  ${p.key}: ${p.script} --threads ${threads} (${shapes.length} shapes) ...`);
      const out = await runPeer([p.script, '--threads', String(threads), ...shapes.flatMap((s) => ['--shape', shapeArg(s)]),
        '--repeat', quick ? '5' : '9', '--budget', quick ? '0.3' : '1']);
      if (out.error || out.missing) {
        const error = out.missing ? `missing: ${out.missing}` : out.error;
        skipped.push({ key, name, error });
        add({ key, name, kind: 'peer', threads, error, missing: Boolean(out.missing) || undefined });
        continue;
      }
      peerInfo[key] = { version: out.numpy ?? out.torch, blas: out.blas, threads: out.threads, call: out.call };
      for (const r of out.results) {
        const s = shapes.find((x) => shapeArg(x) === shapeArg(r));
        add({
          key, name: `${name} ${s.label} (${dims(s)})`, kind: 'peer', threads, shape: s.key, problem: params(s), unit, work: r.flops,
          source: `${p.script} (${p.key} ${out.numpy ?? out.torch}${out.blas?.kind ? `, ${out.blas.kind}` : out.blas ? `, ${out.blas}` : ''})`,
          perSecond: r.flopsPerSecond, medianSeconds: r.median, samples: r.times.length, callsPerSample: r.inner, sampleSeconds: r.times,
          hz: 1 / r.median, opsPerSecond: 1 / r.median, rme: rmeOf(r.times),
        });
      }
    }
  }

  // Ratios.
  const rate = (key, shape) => measurements.find((m) => m.key === key && m.shape === shape && !m.error)?.perSecond ?? NaN;
  const allThreads = `${cores} thread${cores > 1 ? 's' : ''}`;
  const ratios = [];
  for (const s of shapes) {
    for (const p of peers) {
      ratios.push({ shape: s.key, name: `${s.label}: native (1 thread) / ${p.label} (1 thread)`, value: rate('native-1', s.key) / rate(`${p.key}-1`, s.key) });
      if (cores > 1) ratios.push({ shape: s.key, name: `${s.label}: native (${allThreads}) / ${p.label} (${allThreads})`, value: rate(allKey, s.key) / rate(`${p.key}-${cores}`, s.key) });
    }
  }
  const big = quick ? '256' : '1024';
  if (cores > 1) ratios.push({ name: `${big}³: native (${allThreads}) / native (1 thread)`, value: rate(allKey, big) / rate('native-1', big) });
  for (const k of ['native-1', allKey]) {
    ratios.push({ name: `${hostSize}³: host level kernels.matmul / tensor level, ${engines.find((e) => e.key === k)?.name}`, value: rate(k, 'host') / rate(k, `${hostSize}`) });
  }
  ratios.push({ name: `256³: webgpu / native (${allThreads})${software ? ` (${SOFTWARE_LABEL})` : ''}`, value: rate('webgpu', '256') / rate(allKey, '256') });
  if (machine.parallelCeiling) {
    ratios.push({ name: `machine: ${machine.parallelCeiling.workers} busy JS workers / 1 (the ceiling for thread scaling here)`, value: machine.parallelCeiling.scaling });
  }
  const kept = ratios.filter((r) => Number.isFinite(r.value));

  // Tables: GFLOP/s per shape (rows) and backend / peer (columns), then the ratios to the peers; launch costs.
  const gflops = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const ran = (key) => measurements.some((m) => m.key === key && m.shape && !m.error);
  const columns = [
    ...engines.map((e) => ({ key: e.key, head: e.name.replace(' (reference backend)', ' (reference)') })),
    ...peers.flatMap((p) => peerThreads.map((t) => ({ key: `${p.key}-${t}`, head: `${p.label} ${t}t` }))),
  ].filter((col) => ran(col.key));
  const ratioColumns = peers.flatMap((p) => peerThreads.map((t) => ({
    head: `native ${t}t / ${p.label} ${t}t`, engine: t === 1 ? 'native-1' : allKey, peer: `${p.key}-${t}`,
  }))).filter((col) => ran(col.engine) && ran(col.peer));
  const cell = (key, shape) => {
    const m = measurements.find((x) => x.key === key && x.shape === shape);
    if (!m) return '—';
    return m.error ? 'error' : gflops(m.perSecond / 1e9);
  };
  const rows = shapes.map((s) => [`${s.label}`, dims(s), ...columns.map((col) => cell(col.key, s.key)),
    ...ratioColumns.map((col) => fmtRatio(rate(col.engine, s.key) / rate(col.peer, s.key)))]);
  const launchRows = engines.filter((e) => ran(e.key) || measurements.some((m) => m.key === e.key && m.shape === 'launch-sync' && !m.error)).map((e) => {
    const one = measurements.find((m) => m.key === e.key && m.shape === 'launch-sync' && !m.error);
    const many = measurements.find((m) => m.key === e.key && m.shape === 'launch-queued' && !m.error);
    const us = (m) => (m ? `${(1e6 * m.medianSeconds / m.work).toFixed(m.medianSeconds / m.work < 1e-5 ? 2 : 1)} µs` : 'n/a');
    return [e.name, us(one), us(many)];
  });
  const hostRows = engines.filter((e) => e.key.startsWith('native')).map((e) => {
    const host = rate(e.key, 'host');
    const tensor = rate(e.key, `${hostSize}`);
    return [e.name, Number.isFinite(tensor) ? gflops(tensor / 1e9) : 'n/a', Number.isFinite(host) ? gflops(host / 1e9) : 'n/a', fmtRatio(host / tensor)];
  }).filter((r) => r[2] !== 'n/a');
  const notes = [
    `GFLOP/s = 2·m·n·k / median seconds per call. Engine rows: tensor level (inputs resident, output reused, one call = \`engine.run\` + \`engine.flush\`), benchmark.js. ` +
      `Peers: a new C per call, transposes as views (\`a.T\`), median of timed samples; \`Nt\` = N threads. — = not run at that size (js: ≤ 128³; webgpu on a software adapter: ≤ ${quick ? 256 : 512}³).`,
    ...peers.map((p) => [p, peerInfo[`${p.key}-1`]]).filter(([, v]) => v).map(([p, v]) => `${p.label} ${v.version}: ${v.call}${blasNote(v.blas)}.`),
    ...(software ? [`webgpu rows: ${SOFTWARE_LABEL} (lavapipe).`] : []),
    ...skipped.map((x) => `${x.name}: skipped — ${x.error.replace(/\|/g, '/')}`),
  ];
  const markdown = [
    mdTable(['shape', 'm×n×k', ...columns.map((col) => `${col.head} GFLOP/s`), ...ratioColumns.map((col) => col.head)], rows),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    mdTable(['launch cost (1×1×1 matmul, tensor level)', 'one run + flush (latency)', `per run, ${QUEUED} queued + one flush`], launchRows),
    ...(hostRows.length ? ['', mdTable([`${hostSize}³ on`, 'tensor level GFLOP/s', 'host level kernels.matmul GFLOP/s', 'host / tensor'], hostRows)] : []),
    '',
    mdTable(['ratio', 'value'], kept.map((r) => [r.name, fmtRatio(r.value)])),
  ].join('\n');
  return {
    problem: { shapes: shapes.map((s) => ({ ...s, flops: flopsOf(s) })), dtype: 'f32', queuedLaunches: QUEUED, peerThreads, peers: peerInfo },
    measurements, ratios: kept, markdown,
  };
}

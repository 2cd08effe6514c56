// Suite `train`: SGD training steps per second of the preset networks (mnist-cnn; VGG-16 at width 0.25) and
// conv2d forward + backward GFLOP/s on the paper's VGG-16 layer shapes, per backend, against PyTorch CPU at the
// same thread count, side by side: at each thread count, every network and every layer on ours, then at once on PyTorch.
import { spawn } from 'node:child_process';
import { fmtRatio, mdTable, measure, median, operand, printMeasurement, rmeOf, runPeer, tryEngine, PYTHON, ROOT, SOFTWARE_LABEL } from './lib.mjs';

export const title = 'train: training steps/s and conv2d forward+backward GFLOP/s vs PyTorch CPU';

const BATCH = 128;
const CLASSES = 10;
const LR = 0.01;
const MOMENTUM = 0.9;
/** The networks: `steps` per timed engine.train call (each call ≥ ~1 s on this machine's native backend). */
const MODELS = [
  { key: 'mnist-cnn', label: 'mnist-cnn', model: 'mnist-cnn', shape: [1, 28, 28], steps: 20, quickSteps: 6 },
  { key: 'vgg16-w0.25', label: 'vgg16 width 0.25', model: 'vgg16', width: 0.25, shape: [3, 32, 32], steps: 6, quickSteps: 2 },
];
const TRAIN_COUNT = 2048;
const TEST_COUNT = 128;

/** conv2d: the paper's VGG-16 layers on CIFAR (3×3, stride 1, padding 1) at batch 64, full width and width 0.25. */
const CONV_BATCH = 64;
const VGG_LAYERS = [
  { c: 3, hw: 32, o: 64, stem: true },
  { c: 64, hw: 32, o: 64 },
  { c: 128, hw: 16, o: 128 },
  { c: 256, hw: 8, o: 256 },
  { c: 512, hw: 4, o: 512 },
  { c: 512, hw: 2, o: 512 },
];
const WIDTHS = [1, 0.25];
const scaleChannels = (c, width) => Math.max(1, Math.round(c * width)); // the presets' rounding
const LAYERS = WIDTHS.flatMap((width) => VGG_LAYERS.map((l) => {
  const c = l.stem ? l.c : scaleChannels(l.c, width);
  const o = scaleChannels(l.o, width);
  const key = `${c}-${o}@${l.hw}`;
  const label = `${c}→${o} @${l.hw}×${l.hw}${l.stem ? ' (stem)' : ''}${width !== 1 ? ` w${width}` : ''}`;
  return { key, label, width, c, h: l.hw, w: l.hw, o, k: 3, stride: 1, padding: 1 };
}));
const PASSES = [
  { key: 'forward', kernel: 'conv2d_forward', short: 'fwd' },
  { key: 'input', kernel: 'conv2d_backward_input', short: 'in' },
  { key: 'weight', kernel: 'conv2d_backward_weight', short: 'wt' },
];
const convParams = (l) => ({
  shape: { batch: CONV_BATCH, inChannels: l.c, height: l.h, width: l.w, outChannels: l.o, kernelHeight: l.k, kernelWidth: l.k },
  stride: l.stride, padding: l.padding,
});
const outSize = (l) => Math.floor((l.h + 2 * l.padding - l.k) / l.stride) + 1;
/** FLOP of one pass (forward, gradX or gradW all do the same multiply-adds): 2·N·O·OH·OW·C·KH·KW. */
const convFlops = (l) => 2 * CONV_BATCH * l.o * outSize(l) * outSize(l) * l.c * l.k * l.k;

/** Seconds of samples per conv measurement (the suite times 12 layers × 3 passes per backend). */
const convBudget = (quick) => (quick ? 0.2 : 0.8);
/** PyTorch's threads spin-wait between parallel regions by default; on a shared 2-core host its 2-thread runs collapse. */
const TORCH_ENV = { OMP_WAIT_POLICY: 'PASSIVE' };

const errorText = (e) => (e instanceof Error ? e.message : String(e));
const gflops = (x) => (!Number.isFinite(x) ? 'n/a' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const steps2 = (x) => (!Number.isFinite(x) ? 'n/a' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/**
 * Checks 6 entries of a pass's output against f64 sums (a wrong kernel must not produce a fast number).
 * x [N,C,H,W], w [O,C,K,K], b [O], gy [N,O,OH,OW].
 */
function checkConv(pass, l, { x, w, b, gy }, got) {
  const N = CONV_BATCH, { c: C, h: H, w: W, o: O, k: K, stride: S, padding: P } = l;
  const OH = outSize(l), OW = OH;
  const X = (n, ci, i, j) => (i < 0 || j < 0 || i >= H || j >= W ? 0 : x[((n * C + ci) * H + i) * W + j]);
  const Wt = (o, ci, a, bb) => w[((o * C + ci) * K + a) * K + bb];
  const GY = (n, o, i, j) => gy[((n * O + o) * OH + i) * OW + j];
  const close = (v, sum, mag, what) => {
    if (!(Math.abs(v - sum) <= 1e-4 * mag + 1e-5)) throw new Error(`${pass} ${what} = ${v}, expected ${sum}`);
  };
  for (let q = 0; q < 6; q++) {
    const n = (q * 7) % N, o = (q * 13 + 1) % O, ci = (q * 11 + 2) % C;
    if (pass === 'forward') {
      const i = (q * 5) % OH, j = (q * 3 + 1) % OW;
      let sum = b[o], mag = Math.abs(b[o]);
      for (let cc = 0; cc < C; cc++) for (let a = 0; a < K; a++) for (let bb = 0; bb < K; bb++) {
        const p = X(n, cc, i * S - P + a, j * S - P + bb) * Wt(o, cc, a, bb);
        sum += p; mag += Math.abs(p);
      }
      close(got[0][((n * O + o) * OH + i) * OW + j], sum, mag, `y[${n},${o},${i},${j}]`);
    } else if (pass === 'input') {
      const i = (q * 5) % H, j = (q * 3 + 1) % W;
      let sum = 0, mag = 0;
      for (let oo = 0; oo < O; oo++) for (let a = 0; a < K; a++) for (let bb = 0; bb < K; bb++) {
        const ti = i + P - a, tj = j + P - bb;
        if (ti % S || tj % S) continue;
        const oi = ti / S, oj = tj / S;
        if (oi < 0 || oj < 0 || oi >= OH || oj >= OW) continue;
        const p = GY(n, oo, oi, oj) * Wt(oo, ci, a, bb);
        sum += p; mag += Math.abs(p);
      }
      close(got[0][((n * C + ci) * H + i) * W + j], sum, mag, `gradX[${n},${ci},${i},${j}]`);
    } else {
      const a = q % K, bb = (q * 2) % K;
      let sum = 0, mag = 0, bsum = 0, bmag = 0;
      for (let nn = 0; nn < N; nn++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
        const g = GY(nn, o, i, j);
        const p = X(nn, ci, i * S - P + a, j * S - P + bb) * g;
        sum += p; mag += Math.abs(p); bsum += g; bmag += Math.abs(g);
      }
      close(got[0][((o * C + ci) * K + a) * K + bb], sum, mag, `gradW[${o},${ci},${a},${bb}]`);
      close(got[1][o], bsum, bmag, `gradB[${o}]`);
    }
  }
}

/** A Python peer in its own process with PyTorch's thread variables and TORCH_ENV; stdout's last line is JSON. */
function runTorch(args, threads, { timeoutMs = 20 * 60_000 } = {}) {
  const t = String(threads);
  return runPeer(args, { timeoutMs, env: { OMP_NUM_THREADS: t, MKL_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, ...TORCH_ENV } });
}

/**
 * bench/peers/torch_conv2d.py times one layer and one pass per invocation, and importing torch costs seconds:
 * this server runs the unchanged script (runpy: its own argument parsing and timing) once per line of stdin, a
 * JSON argument list, in one interpreter, and answers each with the script's JSON output on one line. So each
 * layer's PyTorch timings come right after ours (the load of a shared machine changes from minute to minute).
 * The thread variables are in the process's environment before torch is imported; the script sets them too and
 * calls torch.set_num_threads(n) itself.
 */
const CONV_SERVER = `
import contextlib, io, json, runpy, sys
try:
    import torch  # once; the script settles glibc's heap itself (its freed 30 MB buffer)
except Exception:
    pass  # torch missing: the script prints {"missing": ...}
for line in sys.stdin:
    sys.argv = ['bench/peers/torch_conv2d.py', *json.loads(line)]
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            runpy.run_path('bench/peers/torch_conv2d.py', run_name='__main__')
        lines = buf.getvalue().strip().splitlines()
        out = json.loads(lines[-1]) if lines else {'error': 'no output'}
    except SystemExit:
        lines = buf.getvalue().strip().splitlines()
        out = json.loads(lines[-1]) if lines else {'error': 'the script exited without output'}
    except Exception as e:
        out = {'error': f'{type(e).__name__}: {e}'}
    sys.stdout.write(json.dumps(out) + '\\n')
    sys.stdout.flush()
`;

/** The conv server at `threads`: `ask(argv)` resolves with one JSON answer; `close()` ends it. */
function torchConvServer(threads) {
  const t = String(threads);
  const env = { ...process.env, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, ...TORCH_ENV };
  const child = spawn(PYTHON, ['-c', CONV_SERVER], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env });
  let pending = '';
  let err = '';
  let waiting = null;
  let dead = null;
  child.stdout.on('data', (d) => {
    pending += d;
    const nl = pending.indexOf('\n');
    if (nl >= 0 && waiting) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const w = waiting;
      waiting = null;
      try { w(JSON.parse(line)); } catch (e) { w({ error: `could not parse the peer's JSON: ${e.message}` }); }
    }
  });
  child.stderr.on('data', (d) => { err += d; });
  const fail = (why) => {
    dead = why;
    if (waiting) { const w = waiting; waiting = null; w({ error: why }); }
  };
  child.on('error', (e) => fail(`${PYTHON}: ${e.message}`));
  child.on('close', (code) => fail(`${PYTHON} (torch_conv2d.py server) exited ${code}: ${err.trim().split('\n').slice(-2).join(' | ')}`));
  return {
    ask(argv) {
      if (dead) return Promise.resolve({ error: dead });
      return new Promise((resolve) => {
        waiting = resolve;
        child.stdin.write(`${JSON.stringify(argv)}\n`);
      });
    },
    close() { child.stdin.end(); },
  };
}

export async function run({ lib, quick, machine }) {
  const { buildModel, syntheticDataset } = lib;
  const cores = machine.cpu.cores;
  const software = Boolean(machine.webgpu.adapter.software);
  const threadCounts = cores > 2 ? [1, 2, cores] : cores === 2 ? [1, 2] : [1];
  const runs = quick ? 3 : 5;
  const measurements = [];
  const add = (m) => { printMeasurement(m); measurements.push(m); };
  const skipped = []; // { key, name, error }: a backend or peer that did not run
  const skip = (key, name, error) => { if (!skipped.some((s) => s.key === key && s.error === error)) skipped.push({ key, name, error }); };
  const peerInfo = {};
  const torchBudget = quick ? 1 : 3;

  console.log(`  training: engine.train, SGD lr ${LR} momentum ${MOMENTUM}, batch ${BATCH}, synthetic data (${TRAIN_COUNT} train / ${TEST_COUNT} test, seed 1), ` +
    `${MODELS.map((m) => `${m.label} ${quick ? m.quickSteps : m.steps} steps`).join(', ')} per call; a warm-up call, then the median of ${runs} calls' stepsPerSecond`);
  console.log(`  conv2d: batch ${CONV_BATCH}, 3×3, stride 1, padding 1, tensor level (inputs resident, outputs reused, one call = engine.run + engine.flush); ` +
    `layers ${LAYERS.map((l) => l.label).join(', ')}`);
  console.log(`  PyTorch: ${PYTHON}, env ${Object.entries(TORCH_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}, at the same thread counts, each network / layer right after ours`);

  const models = MODELS.map((m) => ({
    ...m,
    steps: quick ? m.quickSteps : m.steps,
    net: buildModel(m.model, { inputShape: m.shape, classes: CLASSES, ...(m.width ? { width: m.width } : {}) }),
    data: syntheticDataset({ classes: CLASSES, channels: m.shape[0], height: m.shape[1], width: m.shape[2], trainCount: TRAIN_COUNT, testCount: TEST_COUNT, seed: 1 }),
  }));

  /** Ours: training steps/s of one network (a warm-up call, then the median of `runs` calls). */
  async function oursTrain(engine, c, meta, m) {
    const name = `${c.name}: ${m.label} training`;
    try {
      const options = { model: m.net, data: m.data, lr: LR, momentum: MOMENTUM, batchSize: BATCH, seed: 1 };
      const warm = Math.min(m.steps, 2);
      await engine.train({ ...options, steps: warm, evaluateEvery: warm }); // pipelines, thread pool, buffers
      const results = [];
      for (let r = 0; r < runs; r++) results.push(await engine.train({ ...options, steps: m.steps, evaluateEvery: m.steps }));
      const rates = results.map((x) => x.stepsPerSecond);
      const rate = median(rates);
      if (!results.every((x) => Number.isFinite(x.trainLoss))) throw new Error(`training loss is not finite: ${results.map((x) => x.trainLoss).join(', ')}`);
      add({
        ...meta, part: 'train', model: m.key, name, unit: 'steps', work: 1, perSecond: rate, medianSeconds: 1 / rate,
        source: 'engine.train stepsPerSecond (loop only, evaluation excluded)', samples: runs, stepsPerCall: m.steps,
        runStepsPerSecond: rates, runSeconds: results.map((x) => x.seconds), rme: rmeOf(rates.map((x) => 1 / x)), trainLoss: results.map((x) => x.trainLoss),
        problem: { model: m.model, width: m.width ?? null, inputShape: m.shape, classes: CLASSES, batchSize: BATCH, lr: LR, momentum: MOMENTUM, trainCount: TRAIN_COUNT, testCount: TEST_COUNT },
      });
    } catch (e) {
      add({ ...meta, part: 'train', model: m.key, name, error: errorText(e) });
    }
  }

  /** Ours: the three passes of one conv layer. */
  async function oursConv(engine, c, meta, l) {
    const params = convParams(l);
    const ops = { x: operand(CONV_BATCH * l.c * l.h * l.w, 1), w: operand(l.o * l.c * l.k * l.k, 2), b: operand(l.o, 3), gy: operand(CONV_BATCH * l.o * outSize(l) * outSize(l), 4) };
    const made = [];
    const tensor = (shape, data) => { const t = engine.tensor('f32', shape, data); made.push(t); return t; };
    try {
      const x = tensor([CONV_BATCH, l.c, l.h, l.w], ops.x);
      const w = tensor([l.o, l.c, l.k, l.k], ops.w);
      const b = tensor([l.o], ops.b);
      const gy = tensor([CONV_BATCH, l.o, outSize(l), outSize(l)], ops.gy);
      for (const p of PASSES) {
        const name = `${c.name}: conv ${l.label} ${p.key}`;
        const inputs = p.key === 'forward' ? [x, w, b] : p.key === 'input' ? [gy, w] : [x, gy];
        try {
          const outs = engine.run(p.kernel, params, inputs); // warm-up; the outputs are reused below
          made.push(...outs);
          await engine.flush();
          checkConv(p.key, l, ops, await Promise.all(outs.map((t) => engine.read(t))));
          add(await measure(name, () => { engine.run(p.kernel, params, inputs, outs); return engine.flush(); }, {
            work: convFlops(l), unit: 'FLOP', quick, maxTime: convBudget(quick),
            meta: { ...meta, part: 'conv', layer: l.key, width: l.width, pass: p.key, problem: params },
          }));
        } catch (e) {
          add({ ...meta, part: 'conv', layer: l.key, width: l.width, pass: p.key, name, error: errorText(e) });
        }
      }
    } catch (e) {
      add({ ...meta, part: 'conv', layer: l.key, width: l.width, name: `${c.name}: conv ${l.label}`, error: errorText(e) });
    } finally {
      engine.release(...made);
    }
  }

  const torchName = (threads) => `PyTorch CPU (${threads} thread${threads > 1 ? 's' : ''})`;

  /** PyTorch: bench/peers/torch_nets.py steps on one network, in its own process. */
  async function torchTrain(threads, m) {
    const key = `torch-${threads}`;
    const args = ['bench/peers/torch_nets.py', 'steps', '--model', m.model, ...(m.width ? ['--width', String(m.width)] : []), '--shape', m.shape.join(','),
      '--classes', String(CLASSES), '--batch', String(BATCH), '--threads', String(threads), '--budget', String(torchBudget)];
    const name = `${torchName(threads)}: ${m.label} training`;
    const out = await runTorch(args, threads);
    if (out.error || out.missing) {
      const error = out.missing ? `missing: ${out.missing}` : out.error;
      skip(key, torchName(threads), error);
      add({ key, kind: 'peer', part: 'train', model: m.key, threads, name, error, missing: Boolean(out.missing) || undefined });
      return;
    }
    peerInfo[key] = { ...peerInfo[key], version: out.version, threads: out.threads };
    add({
      key, kind: 'peer', part: 'train', model: m.key, threads, name, unit: 'steps', work: 1, perSecond: out.stepsPerSecond, medianSeconds: 1 / out.stepsPerSecond,
      samples: out.samples, source: `bench/peers/torch_nets.py steps (torch ${out.version}; median of per-step times)`,
      command: `${Object.entries(TORCH_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} ${PYTHON} ${args.join(' ')}`,
    });
  }

  /** PyTorch: bench/peers/torch_conv2d.py on the three passes of one layer, through the server. */
  async function torchConv(server, threads, l) {
    const key = `torch-${threads}`;
    for (const p of PASSES) {
      const args = ['--pass', p.key, '--layer', [l.c, l.h, l.w, l.o, l.k, l.stride, l.padding].join(','),
        '--batch', String(CONV_BATCH), '--threads', String(threads), '--repeat', quick ? '5' : '9', '--budget', String(convBudget(quick))];
      const name = `${torchName(threads)}: conv ${l.label} ${p.key}`;
      const out = await server.ask(args);
      const r = out?.results?.[0];
      if (!r) {
        const error = out?.missing ? `missing: ${out.missing}` : out?.error ?? 'no result';
        if (out?.missing || /exited/.test(error)) skip(key, torchName(threads), error);
        add({ key, kind: 'peer', part: 'conv', layer: l.key, width: l.width, pass: p.key, threads, name, error, missing: Boolean(out?.missing) || undefined });
        continue;
      }
      peerInfo[key] = { ...peerInfo[key], version: out.torch, convThreads: out.threads };
      add({
        key, kind: 'peer', part: 'conv', layer: l.key, width: l.width, pass: p.key, threads, name, unit: 'FLOP', work: r.flops,
        perSecond: r.flopsPerSecond, medianSeconds: r.median, samples: r.times.length, callsPerSample: r.inner, sampleSeconds: r.times, rme: rmeOf(r.times),
        source: `bench/peers/torch_conv2d.py (torch ${out.torch})`, command: `bench/peers/torch_conv2d.py ${args.join(' ')}`,
      });
    }
  }

  /**
   * One backend, each network and each layer followed at once by PyTorch at `peerThreads` (when given): the two
   * sides of a ratio are timed within seconds of each other.
   */
  async function sideBySide(c, peerThreads) {
    const { engine, error } = await tryEngine(lib, c.options);
    if (!engine) {
      skip(c.key, c.name, `backend did not load: ${error}`);
      add({ key: c.key, name: c.name, kind: 'engine', error: `backend did not load: ${error}` });
    }
    const d = engine?.describe();
    const meta = engine ? { key: c.key, kind: 'engine', backend: d.backend, threads: d.threads ?? null, device: d.device } : null;
    const server = peerThreads ? torchConvServer(peerThreads) : null;
    if (peerThreads) console.log(`  torch: ${Object.entries(TORCH_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} ${PYTHON} bench/peers/torch_nets.py steps ... --threads ${peerThreads}; bench/peers/torch_conv2d.py ... --threads ${peerThreads}`);
    try {
      for (const m of models) {
        if (engine) await oursTrain(engine, c, meta, m);
        if (peerThreads) await torchTrain(peerThreads, m);
      }
      for (const l of LAYERS) {
        if (engine) await oursConv(engine, c, meta, l);
        if (server) await torchConv(server, peerThreads, l);
      }
    } finally {
      server?.close();
      engine?.close();
    }
  }

  const engines = [];
  for (const t of threadCounts) {
    const c = { key: `native-${t}`, name: `native (${t} thread${t > 1 ? 's' : ''}${t === cores && t > 1 ? ' = all' : ''})`, options: { backend: 'native', threads: t }, threads: t };
    engines.push(c);
    await sideBySide(c, t);
  }
  const gpu = { key: 'webgpu', name: software ? 'webgpu [lavapipe]' : 'webgpu', options: { backend: 'webgpu' } };
  if (machine.webgpu.adapter.error) {
    skipped.push({ key: gpu.key, name: gpu.name, error: `no WebGPU adapter: ${machine.webgpu.adapter.error}` });
  } else if (software) {
    // Minutes per training step on a CPU rasterizer, and the numbers would say nothing about a GPU.
    const error = `not timed: ${SOFTWARE_LABEL} (${machine.webgpu.adapter.description})`;
    skipped.push({ key: gpu.key, name: gpu.name, error });
    add({ key: gpu.key, name: gpu.name, kind: 'engine', softwareAdapter: true, error });
  } else {
    engines.push(gpu);
    await sideBySide(gpu, null);
  }

  // Ratios and tables.
  const find = (key, part, model, layer, pass) => measurements.find((m) => m.key === key && m.part === part && !m.error &&
    (model === undefined || m.model === model) && (layer === undefined || m.layer === layer) && (pass === undefined || m.pass === pass));
  const trainRate = (key, model) => find(key, 'train', model)?.perSecond ?? NaN;
  const passRate = (key, layer, pass) => find(key, 'conv', undefined, layer, pass)?.perSecond ?? NaN;
  /** Forward + both backward passes: 3 × FLOP / (sum of the three median times). */
  const convRate = (key, l) => {
    const t = PASSES.map((p) => find(key, 'conv', undefined, l.key, p.key)?.medianSeconds ?? NaN).reduce((a, b) => a + b, 0);
    return (PASSES.length * convFlops(l)) / t;
  };
  const ran = (key, part) => measurements.some((m) => m.key === key && m.part === part && !m.error);
  const pairs = threadCounts.map((t) => ({ t, ours: `native-${t}`, peer: `torch-${t}`, head: `${t}t` }));

  const ratios = [];
  for (const p of pairs) {
    for (const m of MODELS) ratios.push({ name: `${m.label} training steps/s: native ${p.t}t / PyTorch ${p.t}t`, value: trainRate(p.ours, m.key) / trainRate(p.peer, m.key) });
  }
  for (const p of pairs) {
    for (const l of LAYERS) ratios.push({ name: `conv ${l.label} fwd+bwd GFLOP/s: native ${p.t}t / PyTorch ${p.t}t`, value: convRate(p.ours, l) / convRate(p.peer, l) });
  }
  if (threadCounts.length > 1) {
    for (const m of MODELS) ratios.push({ name: `${m.label} training: native 2t / native 1t`, value: trainRate('native-2', m.key) / trainRate('native-1', m.key) });
    for (const m of MODELS) ratios.push({ name: `${m.label} training: PyTorch 2t / PyTorch 1t`, value: trainRate('torch-2', m.key) / trainRate('torch-1', m.key) });
  }
  if (machine.parallelCeiling) {
    ratios.push({ name: `machine: ${machine.parallelCeiling.workers} busy JS workers / 1 (the ceiling for thread scaling here)`, value: machine.parallelCeiling.scaling });
  }
  const kept = ratios.filter((r) => Number.isFinite(r.value));

  const colsFor = (part) => [
    ...pairs.flatMap((p) => [
      { head: `native ${p.head}`, rate: (x) => x(p.ours) },
      { head: `PyTorch ${p.head}`, rate: (x) => x(p.peer) },
      { head: `native / PyTorch ${p.head}`, ratio: (x) => x(p.ours) / x(p.peer), keys: [p.ours, p.peer] },
    ]),
    ...(engines.some((e) => e.key === 'webgpu') ? [{ head: 'webgpu', rate: (x) => x('webgpu') }] : []),
  ].filter((col) => (col.keys ?? []).every((k) => ran(k, part)));
  const trainCols = colsFor('train');
  const trainRows = MODELS.map((m) => [m.label, `${m.shape.join('×')}`, ...trainCols.map((col) => (col.ratio
    ? fmtRatio(col.ratio((k) => trainRate(k, m.key))) : steps2(col.rate((k) => trainRate(k, m.key)))))]);
  const convCols = colsFor('conv');
  const convRows = LAYERS.map((l) => [l.label, `${(convFlops(l) / 1e9).toFixed(3)}`, ...convCols.map((col) => (col.ratio
    ? fmtRatio(col.ratio((k) => convRate(k, l))) : gflops(col.rate((k) => convRate(k, l)) / 1e9)))]);
  const passKeys = [...engines.map((e) => ({ key: e.key, head: e.name })), ...threadCounts.map((t) => ({ key: `torch-${t}`, head: `PyTorch ${t}t` }))]
    .filter((c) => ran(c.key, 'conv'));
  const passRows = LAYERS.map((l) => [l.label, ...passKeys.map((c) => PASSES.map((p) => gflops(passRate(c.key, l.key, p.key) / 1e9)).join(' / '))]);
  const torchVersion = Object.values(peerInfo).find((v) => v.version)?.version;
  const notes = [
    `Training: steps/s of SGD (lr ${LR}, momentum ${MOMENTUM}, batch ${BATCH}, ${CLASSES} classes). Ours: \`engine.train\` on a synthetic dataset of the same shape ` +
      `(${TRAIN_COUNT} train examples, seed 1), \`result.stepsPerSecond\` (the training loop, evaluation excluded; batches uploaded each step), ` +
      `${MODELS.map((m) => `${m.label}: ${quick ? m.quickSteps : m.steps} steps`).join(', ')} per call, median of ${runs} calls after a warm-up call. ` +
      `PyTorch: \`bench/peers/torch_nets.py steps\` (the same network and layer shapes, \`torch.optim.SGD\`, one fixed random batch), 1 / median seconds per step over ${torchBudget} s.`,
    `conv2d: batch ${CONV_BATCH}, 3×3, stride 1, padding 1, f32; FLOP per pass 2·N·O·OH·OW·C·KH·KW (GFLOP column); fwd+bwd GFLOP/s = 3 × FLOP / (sum of the median times of ` +
      '`conv2d_forward`, `conv2d_backward_input` and `conv2d_backward_weight` (with gradB)); the stem\'s gradX is included although a network does not need it. ' +
      'Ours: tensor level (inputs resident, outputs reused, one call = `engine.run` + `engine.flush`), each pass\'s first output checked on 6 entries against f64 sums. ' +
      `PyTorch: \`bench/peers/torch_conv2d.py\` (\`F.conv2d\`, \`aten.convolution_backward\`), every layer × pass in one interpreter per thread count.`,
    `PyTorch ${torchVersion ?? 'n/a'} CPU (${PYTHON}), run with ${Object.entries(TORCH_ENV).map(([k, v]) => `\`${k}=${v}\``).join(', ')} (spinning OpenMP threads collapse its 2-thread runs on a shared 2-core host) ` +
      'and `OMP_NUM_THREADS` = `torch.set_num_threads` = the column\'s thread count; `Nt` = N threads.',
    ...skipped.map((x) => `${x.name}: skipped — ${x.error.replace(/\|/g, '/')}`),
  ];
  const markdown = [
    `Training steps/s (batch ${BATCH}):`,
    '',
    mdTable(['network', 'input', ...trainCols.map((col) => col.head)], trainRows),
    '',
    `conv2d forward + backward GFLOP/s (batch ${CONV_BATCH}, 3×3, padding 1):`,
    '',
    mdTable(['layer', 'GFLOP per pass', ...convCols.map((col) => col.head)], convRows),
    '',
    'Per pass, GFLOP/s forward / gradX / gradW:',
    '',
    mdTable(['layer', ...passKeys.map((c) => c.head)], passRows),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    mdTable(['ratio', 'value'], kept.map((r) => [r.name, fmtRatio(r.value)])),
  ].join('\n');
  return {
    problem: {
      training: MODELS.map((m) => ({ key: m.key, model: m.model, width: m.width ?? null, inputShape: m.shape, classes: CLASSES, batchSize: BATCH, lr: LR, momentum: MOMENTUM,
        stepsPerCall: quick ? m.quickSteps : m.steps, calls: runs, data: { synthetic: true, trainCount: TRAIN_COUNT, testCount: TEST_COUNT, seed: 1 } })),
      conv: LAYERS.map((l) => ({ key: l.key, label: l.label, width: l.width, params: convParams(l), flopsPerPass: convFlops(l) })),
      threads: threadCounts, torchEnv: TORCH_ENV, peers: peerInfo,
    },
    skipped, measurements, ratios: kept, markdown,
  };
}

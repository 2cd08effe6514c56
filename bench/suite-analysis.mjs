// Suite `analysis`: the collapse analysis's two hot paths against SciPy and NumPy in the same run.
// - neuron_distances (normalized distances of all pairs of K neuron vectors of `dim` entries) per backend, against
//   scipy.spatial.distance.pdist / cdist ('sqeuclidean', float64 C loops) and NumPy's float32 expanded form
//   (BLAS), at layer sizes from a small conv layer to K = 4096 and dim = 4608; and how accurate each is on
//   near-identical neurons (the signal of collapse);
// - averageLinkage (UPGMA, nearest-neighbour chain) against scipy.cluster.hierarchy.linkage(method='average').
import { fmtRatio, mdTable, measure, printMeasurement, runPeer, tryEngine, SOFTWARE_LABEL } from './lib.mjs';

export const title = 'analysis: neuron distances and average linkage';

/** (K neurons, dim entries): conv 3×3×64, conv 3×3×512 (VGG conv8–13), conv 3×3×128, many small vectors, the largest. */
const FULL = [[256, 576], [512, 4608], [1024, 1152], [4096, 64], [4096, 4608]];
const QUICK = [[256, 576], [512, 1152], [1024, 64]];
/** Sizes the peers also run at (pdist at 4096 × 4608 alone would take ~15 s a call here, cdist twice that). */
const PEER_LIMIT = 1.3e9;
const LINKAGE_FULL = [512, 1024, 2048, 4096];
const LINKAGE_QUICK = [512, 1024];
const ACCURACY = { K: 256, dim: 1152, scale: 1e-4 };

const key = ([k, d]) => `${k}x${d}`;
const pairEntries = ([k, d]) => ((k * (k - 1)) / 2) * d;
const budget = (quick) => (quick ? 0.4 : 1.5);
const errorText = (e) => (e instanceof Error ? e.message : String(e));

function lcg(n, seed) {
  const x = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 31 - 1;
  }
  return x;
}

/** Euclidean distances (condensed, SciPy's pdist order) of k random points in 16-D: the linkage problem. */
function pointDistances(k, seed) {
  const x = lcg(k * 16, seed);
  const d = new Float64Array((k * (k - 1)) / 2);
  let c = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      let s = 0;
      for (let t = 0; t < 16; t++) s += (x[i * 16 + t] - x[j * 16 + t]) ** 2;
      d[c++] = Math.sqrt(s);
    }
  }
  return d;
}

/** Relative errors of a distance matrix against the f64 difference-based truth, over pairs i < j. */
function relativeErrors(got, x, k, dim, eps) {
  const norms = new Float64Array(k);
  for (let i = 0; i < k; i++) for (let t = 0; t < dim; t++) norms[i] += x[i * dim + t] ** 2;
  const rel = [];
  let median = [];
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += (x[i * dim + t] - x[j * dim + t]) ** 2;
      const truth = (2 * s) / (norms[i] + norms[j] + eps);
      rel.push(Math.abs(got[i * k + j] - truth) / truth);
      median.push(truth);
    }
  }
  rel.sort((a, b) => a - b);
  median.sort((a, b) => a - b);
  return { max: rel[rel.length - 1], median: rel[rel.length >> 1], medianDistance: median[median.length >> 1] };
}

export async function run({ lib, quick, machine }) {
  const cores = machine.cpu.cores;
  const software = Boolean(machine.webgpu.adapter.software);
  const sizes = quick ? QUICK : FULL;
  const linkageSizes = quick ? LINKAGE_QUICK : LINKAGE_FULL;
  const measurements = [];
  const add = (m) => { printMeasurement(m); measurements.push(m); };
  const unit = 'pair-entries';
  console.log(`  distances: d = 2‖a−b‖²/(‖a‖²+‖b‖²+1e-8) for all K(K−1)/2 pairs; sizes K×dim: ${sizes.map(key).join(', ')}`);
  console.log('  tensor level: vectors resident, the K×K output reused; one timed call = engine.run + engine.flush');

  const engines = [
    { key: 'native-1', name: 'native (1 thread)', options: { backend: 'native', threads: 1 }, max: Infinity },
    ...(cores >= 2 ? [{ key: 'native-all', name: `native (${cores} threads = all)`, options: { backend: 'native', threads: cores }, max: Infinity }] : []),
    { key: 'webgpu', name: software ? 'webgpu [lavapipe]' : 'webgpu', options: { backend: 'webgpu' }, max: software ? pairEntries([512, 1152]) : Infinity },
    { key: 'js', name: 'js (reference backend)', options: { backend: 'js' }, max: pairEntries([256, 576]) },
  ];
  const skipped = [];
  let ours; // near-duplicate accuracy of the native kernel
  for (const c of engines) {
    const { engine, error } = await tryEngine(lib, c.options);
    if (!engine) {
      skipped.push({ name: c.name, error: `backend did not load: ${error}` });
      add({ key: c.key, name: c.name, error: `backend did not load: ${error}` });
      continue;
    }
    const d = engine.describe();
    const meta = { key: c.key, kind: 'engine', backend: d.backend, threads: d.threads ?? null, device: d.device, softwareAdapter: (c.key === 'webgpu' && software) || undefined };
    for (const s of sizes) {
      if (pairEntries(s) > c.max) continue;
      const [k, dim] = s;
      const name = `${c.name} distances K=${k} dim=${dim}`;
      const made = [];
      try {
        const x = lcg(k * dim, k + dim);
        const a = engine.tensor('f32', [k, dim], x);
        made.push(a);
        const params = { count: k, dim, epsilon: 1e-8 };
        const [out] = engine.run('neuron_distances', params, [a, a]);
        made.push(out);
        await engine.flush();
        const got = await engine.read(out);
        // A wrong kernel must not produce a fast number: a few pairs against the definition in f64.
        for (let q = 0; q < 8; q++) {
          const i = (q * 7919) % k, j = (q * 104729 + 1) % k;
          let s2 = 0, ni = 0, nj = 0;
          for (let t = 0; t < dim; t++) { s2 += (x[i * dim + t] - x[j * dim + t]) ** 2; ni += x[i * dim + t] ** 2; nj += x[j * dim + t] ** 2; }
          const want = i === j ? 0 : (2 * s2) / (ni + nj + 1e-8);
          if (!(Math.abs(got[i * k + j] - want) <= 1e-4 * want)) throw new Error(`d[${i}, ${j}] = ${got[i * k + j]}, expected ${want}`);
        }
        add(await measure(name, () => { engine.run('neuron_distances', params, [a, a], [out]); return engine.flush(); },
          { work: pairEntries(s), unit, quick, meta: { ...meta, size: key(s), problem: { K: k, dim } }, maxTime: budget(quick) }));
      } catch (e) {
        add({ ...meta, size: key(s), name, error: errorText(e) });
      } finally {
        engine.release(...made);
      }
    }
    if (c.key === 'native-1') {
      const { K, dim, scale } = ACCURACY;
      const base = lcg(dim, 5), noise = lcg(K * dim, 6);
      const x = Float32Array.from({ length: K * dim }, (_, i) => base[i % dim] * (1 + scale * noise[i]));
      ours = relativeErrors(await engine.kernels.neuronDistances({ vectors: x, count: K, dim, epsilon: 1e-8 }), x, K, dim, 1e-8);
      console.log(`  accuracy on near-identical neurons (K=${K}, dim=${dim}, median d ${ours.medianDistance.toExponential(1)}): native max relative error ${ours.max.toExponential(2)}`);
    }
    engine.close();
  }

  // Linkage: native and the JS twin on the same distances.
  for (const k of linkageSizes) {
    const y = pointDistances(k, k);
    for (const impl of ['native', 'js']) {
      if (impl === 'js' && k > 2048) continue;
      add(await measure(`averageLinkage ${impl} K=${k}`, () => lib.averageLinkage(y, k, { implementation: impl }),
        { work: 1, unit: 'clusterings', quick, meta: { key: `linkage-${impl}`, kind: 'engine', size: String(k) }, maxTime: budget(quick) }));
    }
  }

  // Peers in their own processes: 1 thread, and all threads (only NumPy's BLAS uses them).
  const peerThreads = cores > 1 ? [1, cores] : [1];
  const peerInfo = {};
  let accuracy;
  for (const threads of peerThreads) {
    const peerSizes = sizes.filter((s) => s[0] * s[0] * s[1] <= PEER_LIMIT);
    console.log(`  scipy/numpy: bench/peers/scipy_distances.py --threads ${threads} ...`);
    const out = await runPeer(['bench/peers/scipy_distances.py', '--threads', String(threads), '--only', threads === 1 ? 'pdist,cdist,numpy' : 'numpy', ...peerSizes.flatMap((s) => ['--distances', key(s)]),
      ...(threads === 1 ? [...linkageSizes.flatMap((k) => ['--linkage', String(k)]), '--accuracy', `${ACCURACY.K}x${ACCURACY.dim}:${ACCURACY.scale}`] : []),
      '--repeat', quick ? '3' : '5', '--budget', quick ? '0.3' : '1']);
    if (out.error || out.missing) {
      const error = out.missing ? `missing: ${out.missing}` : out.error;
      skipped.push({ name: `SciPy/NumPy (${threads} thread${threads > 1 ? 's' : ''})`, error });
      continue;
    }
    peerInfo[threads] = { scipy: out.scipy, numpy: out.numpy };
    for (const r of out.distances) {
      const s = [r.K, r.dim];
      for (const [peer, label, call] of [['pdist', 'SciPy pdist', "pdist(X, 'sqeuclidean')"], ['cdist', 'SciPy cdist', "cdist(X, X, 'sqeuclidean')"], ['numpy', 'NumPy f32 expanded', '2(nᵢ+nⱼ−2XXᵀ)/(nᵢ+nⱼ+ε)']]) {
        if (peer !== 'numpy' && threads > 1) continue; // SciPy's distance loops use one thread whatever the BLAS does
        const t = r[peer];
        if (!t) continue;
        add({
          key: `${peer}-${threads}`, name: `${label} (${threads}t) K=${r.K} dim=${r.dim}`, kind: 'peer', threads, size: key(s), unit, work: pairEntries(s),
          source: `bench/peers/scipy_distances.py (scipy ${out.scipy}, numpy ${out.numpy}): ${call}`, perSecond: pairEntries(s) / t.median,
          medianSeconds: t.median, samples: t.times.length, sampleSeconds: t.times, callsPerSample: t.inner,
        });
      }
    }
    for (const r of out.linkage ?? []) {
      add({ key: 'linkage-scipy', name: `SciPy linkage(y, 'average') K=${r.K}`, kind: 'peer', threads: 1, size: String(r.K), unit: 'clusterings', work: 1,
        source: `bench/peers/scipy_distances.py (scipy ${out.scipy})`, perSecond: 1 / r.median, medianSeconds: r.median, samples: r.times.length, sampleSeconds: r.times });
    }
    if (out.accuracy?.length) accuracy = out.accuracy[0];
  }

  const rate = (k, size) => measurements.find((m) => m.key === k && m.size === size && !m.error)?.perSecond ?? NaN;
  const seconds = (k, size) => measurements.find((m) => m.key === k && m.size === size && !m.error)?.medianSeconds ?? NaN;
  const allKey = cores >= 2 ? 'native-all' : 'native-1';
  const ratios = [];
  for (const s of sizes) {
    ratios.push({ size: key(s), name: `K=${s[0]} dim=${s[1]}: native (1 thread) / SciPy pdist (1 thread)`, value: rate('native-1', key(s)) / rate('pdist-1', key(s)), target: 10 });
    ratios.push({ size: key(s), name: `K=${s[0]} dim=${s[1]}: native (all) / NumPy f32 expanded (all)`, value: rate(allKey, key(s)) / rate(`numpy-${cores >= 2 ? cores : 1}`, key(s)) });
  }
  for (const k of linkageSizes) {
    ratios.push({ size: String(k), name: `linkage K=${k}: SciPy time / native time`, value: seconds('linkage-scipy', String(k)) / seconds('linkage-native', String(k)), target: 1 });
  }
  for (const r of ratios) if (r.target) r.met = r.value >= r.target;
  const kept = ratios.filter((r) => Number.isFinite(r.value));

  const g = (x) => (Number.isFinite(x) ? (x / 1e9).toFixed(x >= 1e10 ? 1 : 2) : '—');
  const columns = [
    ...engines.map((e) => ({ key: e.key, head: e.name.replace(' (reference backend)', '') })),
    { key: 'pdist-1', head: 'SciPy pdist' }, { key: 'cdist-1', head: 'SciPy cdist' },
    ...peerThreads.map((t) => ({ key: `numpy-${t}`, head: `NumPy f32 expanded ${t}t` })),
  ].filter((col) => measurements.some((m) => m.key === col.key && m.size && !m.error));
  const rows = sizes.map((s) => [`${s[0]}`, `${s[1]}`, ...columns.map((col) => g(rate(col.key, key(s)))),
    fmtRatio(rate('native-1', key(s)) / rate('pdist-1', key(s)))]);
  const ms = (x) => (Number.isFinite(x) ? (x * 1000).toFixed(x < 0.01 ? 2 : 1) : '—');
  const linkRows = linkageSizes.map((k) => [String(k), ms(seconds('linkage-native', String(k))), ms(seconds('linkage-js', String(k))), ms(seconds('linkage-scipy', String(k))),
    fmtRatio(seconds('linkage-scipy', String(k)) / seconds('linkage-native', String(k)))]);
  const accuracyRows = [];
  if (ours) accuracyRows.push(['engine neuron_distances (native, f32, differences)', ours.max.toExponential(1), ours.median.toExponential(1), '0']);
  if (accuracy) {
    accuracyRows.push(['NumPy f32 expanded 2(nᵢ+nⱼ−2XXᵀ)/(nᵢ+nⱼ+ε)', accuracy.numpyExpandedF32.maxRelativeError.toExponential(1), accuracy.numpyExpandedF32.medianRelativeError.toExponential(1), `${accuracy.numpyExpandedF32.negative} of ${accuracy.numpyExpandedF32.pairs}`]);
    accuracyRows.push(['SciPy pdist (f64, differences)', accuracy.pdistF64.maxRelativeError.toExponential(1), '—', '0']);
  }
  const notes = [
    'Rates in G pair-entries/s = K(K−1)/2 · dim / median seconds per call (a pair-entry is one subtraction and one fused multiply-add). Engine rows: tensor level, benchmark timing core; peers: median of timed calls in their own process.',
    `SciPy pdist/cdist convert float32 input to float64 and run one thread; cdist computes both triangles. — = not run at that size (js: ≤ 256×576; webgpu on a software adapter: ≤ 512×1152; peers: K²·dim ≤ ${(PEER_LIMIT / 1e9).toFixed(1)}·10⁹).`,
    ...(software ? [`webgpu rows: ${SOFTWARE_LABEL} (lavapipe).`] : []),
    ...Object.entries(peerInfo).slice(0, 1).map(([, v]) => `SciPy ${v.scipy}, NumPy ${v.numpy} (Debian, OpenBLAS).`),
    ...skipped.map((x) => `${x.name}: skipped — ${x.error.replace(/\|/g, '/')}`),
  ];
  const markdown = [
    mdTable(['K', 'dim', ...columns.map((c) => `${c.head} G/s`), 'native 1t / pdist'], rows),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    mdTable(['average linkage, K points', 'native ms', 'JS twin ms', "SciPy linkage(y, 'average') ms", 'SciPy / native'], linkRows),
    '',
    ...(accuracyRows.length ? [mdTable([`near-identical neurons (K=${ACCURACY.K}, dim=${ACCURACY.dim}, d ≈ ${(ours?.medianDistance ?? accuracy?.medianDistance ?? NaN).toExponential(0)})`, 'max relative error', 'median relative error', 'negative distances'], accuracyRows), ''] : []),
    mdTable(['ratio', 'value', 'target'], kept.map((r) => [r.name, fmtRatio(r.value), r.target ? `≥ ${r.target}× (${r.met ? 'met' : 'NOT met'})` : ''])),
  ].join('\n');
  return {
    problem: { sizes: sizes.map(([K, dim]) => ({ K, dim, pairEntries: pairEntries([K, dim]) })), linkage: linkageSizes, accuracy: ACCURACY, epsilon: 1e-8, peerThreads, peers: peerInfo },
    measurements, ratios: kept, accuracy: { ours, peers: accuracy }, markdown,
  };
}

#!/usr/bin/env node
// Benchmark runner: node bench/run.mjs [kernels] [random] [sde] [matmul] [train] [analysis] [--quick] [--out bench/results] [--tag NAME]
// Imports the built package (../dist/index.js: run `npx tsc -p tsconfig.build.json` first).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SUITES = ['kernels', 'random', 'sde', 'matmul', 'train', 'analysis'];
const USAGE = `usage: node bench/run.mjs [${SUITES.join('] [')}] [--quick] [--out DIR] [--tag NAME]
  suites   which suites to run (default: all)
  --quick  ~10× smaller problems (a smoke run; results get a -quick suffix)
  --out    where to write <suite>-<tag>.json and <suite>.md (default: bench/results)
  --tag    machine tag in the JSON file name (default: from the CPU model and core count)`;

// Dawn prints "maxDynamic...BuffersPerPipelineLayout artificially reduced" on stderr when an adapter is created:
// harmless. Run the benchmarks in a child process and drop those lines from its stderr.
if (!process.env.STOCHASTIC_COLLAPSE_BENCH_CHILD) {
  const env = { ...process.env, STOCHASTIC_COLLAPSE_BENCH_CHILD: '1' };
  if (!env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = os.tmpdir(); // silences Mesa's warning
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: ['inherit', 'inherit', 'pipe'], env });
  let dropped = 0;
  let pending = '';
  child.stderr.on('data', (d) => {
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) {
      if (/artificially reduced/.test(line)) dropped++;
      else process.stderr.write(`${line}\n`);
    }
  });
  child.on('close', (code, signal) => {
    if (pending) process.stderr.write(pending);
    if (dropped) console.error(`(hid ${dropped} harmless Dawn "artificially reduced" warning line${dropped > 1 ? 's' : ''} from stderr)`);
    process.exit(code ?? (signal ? 1 : 0));
  });
} else {
  await main();
}

function parseArgs(argv) {
  const opts = { suites: [], quick: false, out: null, tag: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--out') opts.out = argv[++i];
    else if (a.startsWith('--out=')) opts.out = a.slice(6);
    else if (a === '--tag') opts.tag = argv[++i];
    else if (a.startsWith('--tag=')) opts.tag = a.slice(6);
    else if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    else if (SUITES.includes(a)) opts.suites.push(a);
    else { console.error(`unknown argument '${a}'\n${USAGE}`); process.exit(2); }
  }
  if (opts.suites.length === 0) opts.suites = [...SUITES];
  if ((opts.out === undefined) || (opts.tag === undefined)) { console.error(USAGE); process.exit(2); }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { describeMachine, machineTag, printMachine, fmtRatio, ROOT } = await import('./lib.mjs');
  const outDir = resolve(opts.out ?? join(ROOT, 'bench', 'results'));
  let lib;
  try {
    lib = await import('../dist/index.js');
  } catch (error) {
    console.error(`could not import ../dist/index.js (${error.message}); build it first: npx tsc -p tsconfig.build.json`);
    process.exit(1);
  }
  const machine = await describeMachine();
  const { parallelCeiling } = await import('./lib.mjs');
  const tag = (opts.tag ?? machineTag(machine)).replace(/[^A-Za-z0-9._-]+/g, '-');
  const command = `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim();
  const suffix = opts.quick ? '-quick' : '';
  console.log(`$ ${command}`);
  printMachine(machine);

  if (machine.webgpu.adapter.software) console.log('note     WebGPU numbers below come from a software adapter (lavapipe): correctness only, not a GPU result');
  mkdirSync(outDir, { recursive: true });

  const summary = [];
  for (const name of opts.suites) {
    const suite = await import(`./suite-${name}.mjs`);
    console.log(`\n== ${suite.title}${opts.quick ? ' (quick)' : ''}`);
    // Measured per suite, just before it: other processes on a shared machine change it from minute to minute.
    machine.loadAverageAtStart = os.loadavg().map((x) => +x.toFixed(2));
    console.log(`  load average ${machine.loadAverageAtStart.join(' ')} (1/5/15 min; other processes skew timings)`);
    if (machine.cpu.cores >= 2) {
      const c = (machine.parallelCeiling = await parallelCeiling(2));
      console.log(`  ceiling: 2 busy JS workers do ${c.scaling.toFixed(2)}× the work of 1 per second (what a 1→2 thread ratio can reach on this machine now)`);
    }
    const started = new Date();
    const result = await suite.run({ lib, quick: opts.quick, machine });
    const record = {
      suite: name, title: suite.title, quick: opts.quick, tag, date: started.toISOString(),
      durationSeconds: (Date.now() - started.getTime()) / 1000, loadAverageAtEnd: os.loadavg().map((x) => +x.toFixed(2)), command, machine,
      ...result,
    };
    delete record.markdown;
    const jsonPath = join(outDir, `${name}-${tag}${suffix}.json`);
    writeFileSync(jsonPath, `${JSON.stringify(record, null, 2)}\n`);
    const md = [
      `<!-- generated by bench/run.mjs: ${started.toISOString()} -->`,
      `**${suite.title}** — \`${command}\` on ${machine.cpu.model} (${machine.cpu.cores} cores), Node ${machine.node}, ` +
        `numpy ${machine.numpy.numpy ?? 'n/a'}, WebGPU adapter: ${machine.webgpu.adapter.error ? 'none' : `${machine.webgpu.adapter.vendor} ${machine.webgpu.adapter.architecture} (${machine.webgpu.adapter.description})`}` +
        `${machine.webgpu.adapter.software ? ' — webgpu rows: software adapter, not a GPU result' : ''}. ${started.toISOString().slice(0, 10)}.`,
      '',
      result.markdown,
      '',
    ].join('\n');
    const mdPath = join(outDir, `${name}${suffix}.md`);
    writeFileSync(mdPath, md);
    console.log(`\n${result.markdown}\n`);
    console.log(`wrote ${relative(process.cwd(), jsonPath)} and ${relative(process.cwd(), mdPath)}`);
    summary.push(...result.ratios.map((r) => ({ suite: name, ...r })));
  }

  console.log('\n== ratios');
  for (const r of summary) {
    const target = r.target ? `  (target ≥ ${r.target}×: ${r.met ? 'met' : 'NOT met'})` : '';
    console.log(`  ${r.suite.padEnd(6)} ${r.name.padEnd(62)} ${fmtRatio(r.value).padStart(8)}${target}`);
  }
  // WebGPU devices kept alive by gpu.js / Dawn would keep the process running.
  process.exit(0);
}

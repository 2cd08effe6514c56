import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { paramsText } from '../plot/collapse.js';
import { fmt } from '../plot/render.js';
import { trajectoriesFigure, type SidePanel } from '../plot/trajectories.js';
import { planCollapse } from '../sde/collapse.js';
import { quarticStationaryDensity } from '../sde/models/quartic.js';
import type { CollapseOptions } from '../sde/types.js';
import { checkSweep, findModel, parseCommand, parseGrid, parseInteger, parsePositive, parseSets, UsageError } from './args.js';
import { commonOptions, type Io, MAX_CLI_STEPS, parseRunSettings, withEngine } from './common.js';
import { commitFiles, preflightOutDir, toJson } from './files.js';
import { TRAJECTORIES_HELP } from './help.js';
import { duration } from './progress.js';

/** Most panels one figure holds. */
const MAX_PANELS = 12;
/** Grid of the numerically normalized density (as in the paper's notebook). */
const DENSITY_POINTS = 1000;

/**
 * The side panel for the quartic model at (μ, ζ): p(θ) on 1000 points over [−2, 2], normalized by a Riemann
 * sum, or a note where no stationary density exists.
 */
export function quarticSidePanel(mu: number, zeta: number, lo = -2, hi = 2): SidePanel {
  if (zeta === 0) return { note: ['no noise:', mu > 0 ? 'θ → ±√μ' : 'θ → 0'] };
  if (mu <= 0 || zeta * zeta >= 2 * mu * (1 - 1e-12)) return { note: ['no stationary', 'density:', `collapses (ζ ≥ √(2μ))`] };
  const theta = Array.from({ length: DENSITY_POINTS }, (_, i) => lo + ((hi - lo) * i) / (DENSITY_POINTS - 1));
  const raw = theta.map((t) => quarticStationaryDensity(mu, zeta, t));
  const h = (hi - lo) / (DENSITY_POINTS - 1);
  const z = raw.reduce((s, v) => s + (Number.isFinite(v) ? v : 0), 0) * h;
  if (!(z > 0) || !Number.isFinite(z)) return { note: ['density not', 'resolvable', 'on this grid'] };
  return { theta, density: raw.map((v) => v / z) };
}

export async function trajectoriesCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseCommand('trajectories', argv, {
    ...commonOptions,
    every: { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(TRAJECTORIES_HELP);
    return 0;
  }
  const model = findModel(values.model ?? 'quartic');
  const params = parseSets(model, values.set ?? []);
  if (values.noise === undefined) throw new UsageError('--noise is required: the noise levels to draw, e.g. --noise 0.1,1,2.5', `see 'collapse trajectories --help'`);
  const noise = parseGrid('--noise', values.noise);
  if (noise.length > MAX_PANELS) throw new UsageError(`--noise: at most ${MAX_PANELS} noise levels (one panel each); got ${noise.length}`);
  const run = parseRunSettings(values);
  checkSweep(model, values.sweep, params, run.seed);
  const paths = values.paths === undefined ? 50 : parseInteger('--paths', values.paths, 1, 1000);
  const firstRecord = model.defaults.record.find((r) => r > 0) ?? model.defaults.steps;
  const steps = values.steps === undefined ? firstRecord : parseInteger('--steps', values.steps, 1, MAX_CLI_STEPS);
  const dt = values.dt === undefined ? model.defaults.dt : parsePositive('--dt', values.dt);
  const every = values.every === undefined ? Math.max(1, Math.round(steps / 1000)) : parseInteger('--every', values.every, 1, steps);
  const options: CollapseOptions = {
    model: model.name, params, noise, paths, steps, dt, record: [steps], epsilon: model.defaults.epsilon, seed: run.seed,
    trace: { paths, every }, ...(values.sweep ? { sweep: values.sweep } : {}),
  };
  const plan = planCollapse(options);
  const out = values.out ?? join('out', `${model.name}-trajectories`);
  const force = values.force === true;
  const refuseOverwrite = () => {
    if (!force && existsSync(join(out, 'trajectories.json'))) {
      throw new UsageError(`${out} already holds trajectories (trajectories.json): add --force to replace them, or pick another --out`);
    }
  };
  preflightOutDir(out, refuseOverwrite);

  return withEngine(run, io, values.quiet === true, async (engine, interrupt, folders) => {
    interrupt.message = 'stopping; nothing is written';
    const info = engine.describe();
    folders.hold(out);
    refuseOverwrite();
    const started = performance.now();
    let result;
    try {
      result = await engine.collapse({ ...options, signal: interrupt.signal });
    } catch (error) {
      if (interrupt.code) {
        io.stderr.write('interrupted: nothing was written\n');
        return interrupt.code;
      }
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    const quartic = model.name === 'quartic' && plan.sweep === 'zeta';
    const sides: (SidePanel | null)[] = plan.noise.map((z) => (quartic ? quarticSidePanel(plan.values.mu, z) : null));
    const mu = plan.values.mu;
    const yTicks = model.name === 'quartic' && mu > 0 && Math.sqrt(mu) < 2
      ? [{ value: -Math.sqrt(mu), label: '−√μ' }, { value: 0, label: '0' }, { value: Math.sqrt(mu), label: '√μ' }]
      : undefined;
    const figure = await trajectoriesFigure(result, sides, yTicks ? { yTicks } : {});
    if (interrupt.code) {
      io.stderr.write('interrupted: nothing was written\n');
      return interrupt.code;
    }
    const trace = result.trace!;
    // The three files replace the old ones as one step (see commitFiles).
    commitFiles(out, [['trajectories.json', toJson({
      model: result.model, params: result.params, sweep: result.sweep, noise: result.noise, dt: result.dt, steps: result.steps,
      seed: result.seed, every: trace.every, sampleSteps: trace.steps, times: trace.steps.map((s) => s * result.dt),
      values: trace.values,
      densities: sides.map((s, k) => (s && 'theta' in s ? { noise: result.noise[k], theta: s.theta, density: s.density } : s ? { noise: result.noise[k], note: s.note.join(' ') } : null)),
      backend: result.backend,
    }, false)], ['trajectories.svg', figure.svg], ['trajectories.png', figure.png]]);
    if (!values.quiet) {
      io.stdout.write([
        `collapse trajectories: ${result.model}${paramsText(result) ? ` (${paramsText(result)})` : ''}, ${result.sweep} = ${result.noise.map((v) => fmt(v)).join(', ')}; ${paths} paths × ${steps} steps, sampled every ${every}`,
        `backend:   ${info.backend} on ${info.device} (${info.reason})`,
        `elapsed:   ${duration(seconds)}`,
        `wrote:     ${join(out, 'trajectories.json')}, trajectories.svg, trajectories.png`,
      ].join('\n') + '\n');
    }
    return 0;
  });
}

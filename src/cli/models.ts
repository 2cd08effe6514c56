import { builtinModels } from '../sde/models/index.js';
import { parseCommand } from './args.js';
import type { Io } from './common.js';
import { MODELS_HELP } from './help.js';

export function modelsCommand(argv: string[], io: Io): number {
  const { values } = parseCommand('models', argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.stdout.write(MODELS_HELP);
    return 0;
  }
  const models = Object.values(builtinModels);
  if (values.json) {
    io.stdout.write(JSON.stringify(models.map((m) => ({
      name: m.name, summary: m.summary, params: m.params, noiseParam: m.noiseParam, noiseLabel: m.noiseLabel,
      distance: m.distanceLabel, defaults: m.defaults, theory: m.theoryNote,
    })), null, 2) + '\n');
    return 0;
  }
  const blocks = models.map((m) => {
    const width = Math.max(...Object.keys(m.params).map((k) => k.length));
    const dwidth = Math.max(...Object.values(m.params).map((p) => String(p.default).length));
    const params = Object.entries(m.params).map(([name, p]) => {
      const range = [p.min !== undefined ? `≥ ${p.min}` : '', p.max !== undefined ? `≤ ${p.max}` : '', p.integer ? 'integer' : ''].filter(Boolean).join(', ');
      return `    ${name.padEnd(width)}  default ${String(p.default).padEnd(dwidth)}  ${p.description}${range ? ` [${range}]` : ''}`;
    });
    const d = m.defaults;
    return [
      `${m.name}`,
      `  ${m.summary}`,
      `  parameters (--set NAME=VALUE):`,
      ...params,
      `  noise parameter (--noise sweeps it): ${m.noiseParam} (${m.noiseLabel})`,
      `  collapse: ${m.distanceLabel} < --epsilon`,
      ...(m.theoryNote ? [`  theory: ${m.theoryNote}`] : []),
      `  defaults: --steps ${d.steps} --dt ${d.dt} --record ${d.record.join(',')} --epsilon ${d.epsilon}`,
    ].join('\n');
  });
  io.stdout.write(blocks.join('\n\n') + '\n');
  return 0;
}

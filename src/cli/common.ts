import { MAX_THREADS } from '../validate.js';
import type { BackendChoice, EngineDescription } from '../engine.js';
import { parseInteger, UsageError } from './args.js';

/** Where a command writes (process.stdout/stderr in the CLI; replaceable in tests). */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WriteStream;
}

/** Options every computing command takes. */
export const commonOptions = {
  model: { type: 'string' },
  set: { type: 'string', multiple: true },
  seed: { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  // what every simulating command takes besides
  noise: { type: 'string' },
  sweep: { type: 'string' },
  paths: { type: 'string' },
  steps: { type: 'string' },
  dt: { type: 'string' },
  out: { type: 'string' },
} as const;

const BACKENDS: readonly BackendChoice[] = ['auto', 'webgpu', 'native', 'js'];

export function parseRunSettings(values: { seed?: string; backend?: string; threads?: string }): { seed: number; backend: BackendChoice; threads?: number } {
  const seed = values.seed === undefined ? 1 : parseInteger('--seed', values.seed, 0, 0xffff_ffff);
  const backend = (values.backend ?? 'auto') as BackendChoice;
  if (!BACKENDS.includes(backend)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}; got '${values.backend}'`);
  const threads = values.threads === undefined ? undefined : parseInteger('--threads', values.threads, 1, MAX_THREADS);
  return { seed, backend, ...(threads === undefined ? {} : { threads }) };
}

/**
 * A line for stderr when a WebGPU adapter was opened: Dawn then prints an "artificially reduced" warning from
 * native code, which the CLI cannot filter in-process; say it is harmless.
 */
export function reasonNote(info: EngineDescription): string | undefined {
  const opened = info.backend === 'webgpu' || /software|adapter is/i.test(info.reason);
  return opened ? `note: a Dawn "Warning: ... artificially reduced" line above, if any, is harmless\n` : undefined;
}

import { readFileSync } from 'node:fs';
import { MAX_THREADS } from '../validate.js';
import { createEngine, type BackendChoice, type Engine, type EngineDescription } from '../engine.js';
import { parseInteger, UsageError } from './args.js';
import { HeldFolders } from './files.js';

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
  force: { type: 'boolean' },
} as const;

/** Largest --steps: every backend counts steps in 32 bits (the native addon and WGSL use u32 counters). */
export const MAX_CLI_STEPS = 0xffff_ffff;

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

/**
 * Runs `body` with an engine for the run's settings, a Ctrl-C handler and the folders it holds for output; all three
 * are released however `body` ends. Unless `quiet`, the backend's note (reasonNote) goes to stderr first.
 */
export async function withEngine<T>(run: { backend: BackendChoice; threads?: number }, io: Io, quiet: boolean,
  body: (engine: Engine, interrupt: Interrupt, folders: HeldFolders) => Promise<T>): Promise<T> {
  const engine = await createEngine({ backend: run.backend, ...(run.threads === undefined ? {} : { threads: run.threads }) });
  const interrupt = new Interrupt(io);
  const folders = new HeldFolders();
  try {
    if (!quiet) {
      const note = reasonNote(engine.describe());
      if (note) io.stderr.write(note);
    }
    return await body(engine, interrupt, folders);
  } finally {
    interrupt.dispose();
    folders.close();
    engine.close();
  }
}

/**
 * Ctrl-C (SIGINT) and SIGTERM for the whole time a command writes: the first one aborts `signal` and is noted
 * in `code` (130 or 143); the command stops at its next safe point. A second one exits at once; it still runs
 * only between synchronous steps, so never in the middle of writing a file (the files are written synchronously).
 */
export class Interrupt {
  readonly #controller = new AbortController();
  readonly #io: Io;
  #code = 0;
  /** What the first signal's message says will happen. */
  message = 'stopping';
  /** Called before the message is printed (e.g. to clear a progress bar). */
  beforeMessage: (() => void) | undefined;
  readonly #handler = (name: NodeJS.Signals) => {
    if (this.#code !== 0) process.exit(this.#code); // a second Ctrl-C: leave now (what is on disk is consistent)
    this.#code = name === 'SIGINT' ? 130 : 143;
    this.beforeMessage?.();
    this.#io.stderr.write(`\n${name === 'SIGINT' ? 'Ctrl-C' : name}: ${this.message} (again to quit at once)\n`);
    this.#controller.abort(new Error(`interrupted by ${name}`));
  };

  constructor(io: Io) {
    this.#io = io;
    process.on('SIGINT', this.#handler);
    process.on('SIGTERM', this.#handler);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** 0 until interrupted, then the exit code (130 SIGINT, 143 SIGTERM). */
  get code(): number {
    return this.#code;
  }

  /** Acts as if interrupted (the COLLAPSE_STOP_AFTER_BATCHES test hook). */
  stop(reason: string): void {
    if (this.#code === 0) this.#code = 130;
    this.#controller.abort(new Error(reason));
  }

  dispose(): void {
    process.off('SIGINT', this.#handler);
    process.off('SIGTERM', this.#handler);
  }
}

/** The package's version, for run.json files ('unknown' if package.json cannot be read). */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Waits `ms`, or less when `signal` aborts or `wake` is called (the listener is removed either way). */
export function pause(ms: number, signal: AbortSignal): { done: Promise<void>; wake: () => void } {
  let wake = () => {};
  const done = new Promise<void>((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      resolve();
    };
    const timer = setTimeout(finish, ms);
    signal.addEventListener('abort', finish, { once: true });
    wake = finish;
  });
  return { done, wake };
}

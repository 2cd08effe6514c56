#!/usr/bin/env node
/**
 * The `collapse` command line: `sweep`, `trajectories`, `train`, `analyze`, `compare`, `models`, `bench`, `reproduce`, and for
 * sweeps beyond one machine `merge`, `status`, `worker`. Exit codes: 0 done, 1 unexpected error,
 * 2 bad input, an unusable --out or a library error (nothing written), 74 a full or failing disk (nothing
 * half-written), 130/143 interrupted.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { CollapseError } from '../errors.js';
import { UsageError } from './args.js';
import type { Io } from './common.js';
import { OutputError } from './files.js';
import { HELP, MAIN_HELP } from './help.js';

type Command = (argv: string[], io: Io) => number | Promise<number>;
// Loaded on demand: `--help` and `models` need neither the plotting stack nor a backend.
const COMMANDS: Record<string, () => Promise<Command>> = {
  sweep: async () => (await import('./sweep.js')).sweepCommand,
  trajectories: async () => (await import('./trajectories.js')).trajectoriesCommand,
  models: async () => (await import('./models.js')).modelsCommand,
  train: async () => (await import('./train.js')).trainCommand,
  analyze: async () => (await import('./analyze.js')).analyzeCommand,
  compare: async () => (await import('./analyze.js')).compareCommand,
  bench: async () => (await import('./bench.js')).benchCommand,
  merge: async () => (await import('./merge.js')).mergeCommand,
  status: async () => (await import('./status.js')).statusCommand,
  worker: async () => (await import('./queue.js')).workerCommand,
  reproduce: async () => (await import('./reproduce.js')).reproduceCommand,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs one command line and returns its exit code; never throws. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help') {
      io.stdout.write(MAIN_HELP);
      return 0;
    }
    if (command === '-v' || command === '--version') {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    if (command === 'help') {
      const topic = rest[0];
      if (topic === undefined) io.stdout.write(MAIN_HELP);
      else if (Object.hasOwn(HELP, topic)) io.stdout.write(HELP[topic]);
      else throw new UsageError(`no help on '${topic}'; the commands are ${Object.keys(COMMANDS).join(', ')}`, `see 'collapse --help'`);
      return 0;
    }
    const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!load) {
      throw new UsageError(command.startsWith('-') ? `'${command}' needs a command before it (${Object.keys(COMMANDS).join(', ')})` : `unknown command '${command}'; the commands are ${Object.keys(COMMANDS).join(', ')}`, `see 'collapse --help'`);
    }
    return await (await load())(rest, io);
  } catch (error) {
    const debug = process.env.COLLAPSE_DEBUG === '1';
    const help = command && Object.hasOwn(COMMANDS, command) ? `see 'collapse ${command} --help'` : `see 'collapse --help'`;
    if (error instanceof UsageError) {
      io.stderr.write(`collapse: error: ${error.message}\n  (${error.hint ?? help})\n`);
      return error instanceof OutputError ? error.exitCode : 2;
    }
    if (error instanceof CollapseError) {
      if (error.code === 'ABORTED') {
        io.stderr.write(`collapse: ${error.message}\n`);
        return 130;
      }
      io.stderr.write(`collapse: error: ${error.message}\n  (${help})\n`);
      if (debug && error.stack) io.stderr.write(`${error.stack}\n`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`collapse: unexpected error: ${message}\n`);
    io.stderr.write(debug && error instanceof Error && error.stack ? `${error.stack}\n` : '  (set COLLAPSE_DEBUG=1 to see the stack trace)\n');
    return 1;
  }
}

/** True when this file is the program (run as `collapse` through npm's bin symlink, or `node dist/cli/main.js`). */
function isEntry(): boolean {
  try {
    return process.argv[1] !== undefined && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntry()) {
  // stdout closed early (`collapse models | head -1`) or unwritable (`> /dev/full`): leave quietly, without a stack
  // trace; on a full device say so in one line. The results on disk are complete either way (written before).
  let finished: number | undefined;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') {
      try {
        process.stderr.write(`collapse: could not write to stdout (${error.code ?? error.message})\n`);
      } catch {
        // stderr is gone too
      }
    }
    process.exit(error.code === 'EPIPE' ? (finished ?? 0) : Math.max(finished ?? 0, 1));
  });
  process.stderr.on('error', () => {}); // nowhere left to report to
  const code = await main(process.argv.slice(2));
  finished = code;
  process.exitCode = code;
  // Leave promptly even if a native handle lingers; stdout/stderr pipes get a moment to flush first.
  setTimeout(() => process.exit(code), 1500).unref();
}

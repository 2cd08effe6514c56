/**
 * Peers: the same problems in NumPy / SciPy / PyTorch, each script (bench/peers/*.py, shipped with the package)
 * in its own Python process, after the engine's rows. Never required: a missing interpreter or library is
 * reported as missing and the run goes on.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

export type PeerLibrary = 'numpy' | 'scipy' | 'torch';

/** What Python and which libraries this machine has. */
export interface PythonInfo {
  readonly interpreter: string;
  /** Python's version, or undefined when no interpreter runs. */
  readonly python?: string;
  /** Library → version, or the reason it is missing. */
  readonly libraries: Record<PeerLibrary, { version?: string; missing?: string }>;
}

/** $PYTHON, else Debian's /usr/bin/python3 (which sees the python3-numpy packages), else python3 on PATH. */
export function pythonInterpreter(): string {
  return process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

/** The folder of the peer scripts: bench/peers in the package (or the repository). */
export function peersDir(): string {
  return join(packageRoot(), 'bench', 'peers');
}

function run(file: string, args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string; error?: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ stdout: String(stdout), stderr: String(stderr), error: error ? (error.killed ? `timed out after ${timeoutMs / 1000} s` : error.message.split('\n')[0]) : undefined });
    });
  });
}

const PROBE = `
import json, sys
out = {'python': sys.version.split()[0]}
for name in ('numpy', 'scipy', 'torch'):
    try:
        out[name] = {'version': __import__(name).__version__}
    except Exception as e:
        out[name] = {'missing': type(e).__name__ + ': ' + str(e).splitlines()[0] if str(e) else type(e).__name__}
print(json.dumps(out))
`;

/** Asks the interpreter which peer libraries it can import (one process, ~1–3 s with torch). */
export async function probePython(interpreter = pythonInterpreter()): Promise<PythonInfo> {
  const none = (why: string): PythonInfo => ({ interpreter, libraries: { numpy: { missing: why }, scipy: { missing: why }, torch: { missing: why } } });
  const got = await run(interpreter, ['-c', PROBE], 60_000);
  if (got.error) return none(`no Python: ${interpreter} did not run (${got.error})`);
  try {
    const o = JSON.parse(got.stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
    const lib = (name: PeerLibrary) => (o[name] as { version?: string; missing?: string }) ?? { missing: 'not probed' };
    return { interpreter, python: String(o.python), libraries: { numpy: lib('numpy'), scipy: lib('scipy'), torch: lib('torch') } };
  } catch {
    return none(`${interpreter} printed no probe result`);
  }
}

/**
 * Runs one peer script with `args`; resolves to its JSON output (the last stdout line) or { error }.
 * BLAS / OpenMP thread variables are set to `threads`.
 */
export async function runPeerScript(interpreter: string, script: string, args: readonly string[], threads: number, timeoutMs: number): Promise<{ output?: unknown; error?: string }> {
  const n = String(threads);
  const got = await run(interpreter, [join(peersDir(), script), ...args], timeoutMs,
    { OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n });
  if (got.error) return { error: `${script}: ${got.error}${got.stderr.trim() ? ` (${got.stderr.trim().split('\n').slice(-1)[0]})` : ''}` };
  try {
    const output = JSON.parse(got.stdout.trim().split('\n').pop() ?? '') as { missing?: string };
    if (output && typeof output === 'object' && typeof output.missing === 'string') return { error: output.missing };
    return { output };
  } catch {
    return { error: `${script}: could not parse its JSON output` };
  }
}

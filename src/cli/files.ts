import { accessSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './args.js';

/**
 * A file-system problem with the user's --out or environment (a missing parent, a file in the way, no
 * permission, a full disk): printed like a UsageError, with the path and what to do, exit code `exitCode`
 * (2 for the path, 74 (EX_IOERR) when the disk is full or failing).
 */
export class OutputError extends UsageError {
  readonly exitCode: number;
  constructor(message: string, hint: string, exitCode = 2) {
    super(message, hint);
    this.name = 'OutputError';
    this.exitCode = exitCode;
  }
}

/** Exit code for a full or failing disk (sysexits EX_IOERR). */
export const EXIT_IO = 74;

const code = (error: unknown): string | undefined => (error as { code?: string } | null)?.code;

/** Turns a file-system error on `path` into an OutputError naming the path and the fix; other errors pass through. */
export function fsError(error: unknown, path: string, doing: string): unknown {
  const c = code(error);
  switch (c) {
    case 'ENOENT': return new OutputError(`cannot ${doing} ${path}: a folder on the way does not exist`, 'create the parent folder first, or pick another --out');
    case 'ENOTDIR': return new OutputError(`cannot ${doing} ${path}: a part of the path is a file, not a folder`, 'pick another --out');
    case 'EISDIR': return new OutputError(`cannot ${doing} ${path}: it is a folder`, 'remove it or pick another --out');
    case 'EACCES':
    case 'EPERM': return new OutputError(`cannot ${doing} ${path}: permission denied (${c})`, 'pick another --out, or make the folder writable');
    case 'EROFS': return new OutputError(`cannot ${doing} ${path}: the file system is read-only (EROFS)`, 'pick another --out on a writable disk');
    case 'ENAMETOOLONG': return new OutputError(`cannot ${doing} ${path}: the path is too long`, 'pick a shorter --out');
    case 'ENOSPC':
    case 'EDQUOT': return new OutputError(`cannot ${doing} ${path}: no space left on the device (${c}); nothing was half-written`,
      'free some space, then run the same command again (add --resume if the folder holds a checkpoint.json)', EXIT_IO);
    case 'EIO': return new OutputError(`cannot ${doing} ${path}: input/output error (EIO); nothing was half-written`, 'check the disk, then run the same command again', EXIT_IO);
    default: return error;
  }
}

/**
 * Test hooks, both read from the environment (never set by users):
 * - COLLAPSE_TEST_SIGNAL_AT=POINT[#N][=SIGNAL]: the process sends itself SIGNAL (default SIGINT) the N-th time
 *   (default the first) it reaches POINT: `tmp:NAME` (a temporary file written, not yet renamed), `renamed:NAME`,
 *   `journal` (a multi-file commit's journal written, nothing renamed yet);
 * - COLLAPSE_TEST_FAIL_WRITE=NAME=CODE: writing the file NAME fails with the errno CODE (e.g. ENOSPC).
 */
export function testPoint(point: string): void {
  const spec = process.env.COLLAPSE_TEST_SIGNAL_AT;
  if (!spec) return;
  const [where, signal = 'SIGINT'] = spec.split('=');
  const [at, nth = '1'] = where.split('#');
  if (at === point && ++reached === Number(nth)) process.kill(process.pid, signal as NodeJS.Signals);
}
let reached = 0;

function injectedFailure(path: string): void {
  const spec = process.env.COLLAPSE_TEST_FAIL_WRITE;
  if (!spec) return;
  const [name, errno = 'EIO'] = spec.split('=');
  if (name === basename(path)) throw Object.assign(new Error(`${errno}: injected failure, write '${path}'`), { code: errno });
}

/** Writes a temporary file beside `path` (fsynced) and returns its name; removes it on failure. */
function writeTemp(path: string, data: string | Uint8Array): string {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  try {
    injectedFailure(path);
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    rmSync(tmp, { force: true });
    throw fsError(error, path, 'write');
  }
  testPoint(`tmp:${basename(path)}`);
  return tmp;
}

/**
 * Writes a file atomically: to a temporary file in the same directory, then renamed over the target, so a
 * reader (or a crash) never sees half a file. Synchronous, so a signal handler never runs in between.
 */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = writeTemp(path, data);
  try {
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw fsError(error, path, 'write');
  }
  testPoint(`renamed:${basename(path)}`);
}

const JOURNAL = '.commit.json';

interface Journal { renames: [string, string][]; remove: string[] }

/**
 * Replaces several files of `dir` as one step: every new file is written to a temporary file first, then a
 * journal naming the renames is written (atomically), then the renames and removals are done, then the journal
 * is removed. Everything is synchronous (a SIGINT/SIGTERM handler cannot run in the middle); if the process is
 * killed outright (SIGKILL, power loss) after the journal is written, `recover` completes the step, so the
 * folder always shows either all the old files or all the new ones.
 */
export function commitFiles(dir: string, files: readonly [string, string | Uint8Array][], remove: readonly string[] = []): void {
  const temps: string[] = [];
  try {
    for (const [name, data] of files) temps.push(writeTemp(join(dir, name), data));
    writeAtomic(join(dir, JOURNAL), JSON.stringify({ renames: files.map(([name], i) => [basename(temps[i]), name]), remove: [...remove] } satisfies Journal));
  } catch (error) {
    for (const t of temps) rmSync(t, { force: true });
    throw error;
  }
  testPoint('journal');
  replay(dir, { renames: files.map(([name], i) => [basename(temps[i]), name]), remove: [...remove] });
}

function replay(dir: string, journal: Journal): void {
  for (const [tmp, name] of journal.renames) {
    try {
      renameSync(join(dir, tmp), join(dir, name));
    } catch (error) {
      if (code(error) !== 'ENOENT') throw fsError(error, join(dir, name), 'write'); // ENOENT: renamed before a crash
    }
    testPoint(`renamed:${name}`);
  }
  for (const name of journal.remove) rmSync(join(dir, name), { force: true });
  rmSync(join(dir, JOURNAL), { force: true });
}

/**
 * Brings `dir` back to a consistent state after a process was killed while writing into it (call with the
 * lock held): finishes a journaled commit, then removes temporary files left by dead processes.
 */
export function recover(dir: string): void {
  const journalPath = join(dir, JOURNAL);
  let journal: Journal | undefined;
  try {
    journal = JSON.parse(readFileSync(journalPath, 'utf8')) as Journal;
  } catch (error) {
    if (code(error) !== 'ENOENT') rmSync(journalPath, { force: true }); // unreadable: it was never complete (written atomically)
  }
  if (journal && Array.isArray(journal.renames) && Array.isArray(journal.remove)
    && journal.renames.every((r) => Array.isArray(r) && r.length === 2 && r.every((s) => typeof s === 'string' && s === basename(s)))
    && journal.remove.every((s) => typeof s === 'string' && s === basename(s))) {
    replay(dir, journal);
  } else {
    rmSync(journalPath, { force: true });
  }
  for (const name of readdirSync(dir)) {
    const m = /^\..+\.tmp-(\d+)$/.exec(name);
    if (m && !alive(Number(m[1]))) rmSync(join(dir, name), { force: true });
  }
}

/**
 * Before a run looks at what `dir` holds: if a killed run left a journal, temporary files or its lock there
 * (and no live run holds it), completes or removes them under the lock, so that what is seen is a consistent state.
 */
export function tidy(dir: string): void {
  const names = readdirSync(dir);
  if (!names.some((n) => n === JOURNAL || n === LOCK || /^\..+\.tmp-\d+$/.test(n))) return;
  const lock = FolderLock.acquire(dir); // refuses if a live run holds it
  try {
    recover(dir);
  } finally {
    lock.release();
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // our own leftovers cannot be in use: we are not writing them now
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return code(error) === 'EPERM';
  }
}

export function isDirectoryOrMissing(path: string): 'dir' | 'missing' | 'other' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

/**
 * Checks, without writing anything, that `out` can be the output folder: not empty, not a file, under an
 * existing folder chain we may write into. Returns whether it exists already.
 */
export function checkOutDir(out: string): { exists: boolean } {
  if (out.trim() === '') throw new UsageError(`--out is empty; give a folder, e.g. --out out/quartic`);
  const full = resolve(out);
  const where = isDirectoryOrMissing(full);
  if (where === 'other') throw new OutputError(`--out ${out} exists and is not a folder`, 'pick another --out');
  // The nearest existing ancestor must be a folder we can write into (and enter).
  let probe = full;
  while (isDirectoryOrMissing(probe) === 'missing' && dirname(probe) !== probe) probe = dirname(probe);
  try {
    if (!statSync(probe).isDirectory()) {
      throw new OutputError(`--out ${out} cannot be created: ${probe} is a file, not a folder`, 'pick another --out');
    }
    accessSync(probe, constants.W_OK | constants.X_OK);
  } catch (error) {
    if (error instanceof OutputError) throw error;
    const e = fsError(error, probe, where === 'dir' ? 'write into' : `create --out ${out} in`);
    throw e instanceof OutputError ? e : new OutputError(`cannot use --out ${out}: ${error instanceof Error ? error.message : String(error)}`, 'pick another --out');
  }
  return { exists: where === 'dir' };
}

/**
 * The first look at an output folder, before anything is loaded or written: `out` must be usable, no live run may
 * hold it, and what a killed run left half-done is completed or removed; then, if it exists, `inspect` refuses what
 * the command must not overwrite. A refusal here leaves no trace. Returns whether it exists.
 */
export function preflightOutDir(out: string, inspect?: () => void): { exists: boolean } {
  const { exists } = checkOutDir(out);
  if (exists) {
    FolderLock.check(out);
    tidy(out);
    inspect?.();
  }
  return { exists };
}

/**
 * Output folders held by one run: each is created (parents too), locked and brought to a consistent state; `close`
 * releases the locks and removes the folders this run created that stayed empty, in reverse order.
 */
export class HeldFolders {
  readonly #held: { dir: string; created: string | undefined; lock: FolderLock }[] = [];

  /** Creates, locks and recovers `dir`. */
  hold(dir: string): void {
    const created = makeOutDir(dir);
    let lock: FolderLock;
    try {
      lock = FolderLock.acquire(dir);
    } catch (error) {
      removeCreated(dir, created);
      throw error;
    }
    this.#held.push({ dir, created, lock });
    recover(dir);
  }

  close(): void {
    for (const { dir, created, lock } of this.#held.splice(0).reverse()) {
      lock.release();
      removeCreated(dir, created);
    }
  }
}

/** Creates `out` (and missing parents); returns the topmost folder it created, to remove on failure. */
export function makeOutDir(out: string): string | undefined {
  try {
    return mkdirSync(out, { recursive: true }) ?? undefined;
  } catch (error) {
    throw fsError(error, out, 'create the folder');
  }
}

/** Removes folders this run created, if they are (still) empty. */
export function removeCreated(out: string, created: string | undefined): void {
  if (created === undefined) return;
  let d = resolve(out);
  const top = resolve(created);
  for (;;) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
    if (d === top || dirname(d) === d) return;
    d = dirname(d);
  }
}

const LOCK = '.collapse.lock';

/** An exclusive hold on an output folder: a second run into the same folder is refused while it is held. */
export class FolderLock {
  readonly #path: string;
  readonly #onExit = () => this.release();
  #held = false;

  private constructor(path: string) {
    this.#path = path;
  }

  /** Refuses (like `acquire`) when a live run holds `dir`, without taking or changing anything. */
  static check(dir: string): void {
    const path = join(dir, LOCK);
    if (!existsSync(path)) return;
    const owner = readOwner(path);
    if (!owner.stale) throw busy(dir, path, owner.text);
  }

  static acquire(dir: string): FolderLock {
    const lock = new FolderLock(join(dir, LOCK));
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(lock.#path, 'wx');
        try {
          writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }));
        } finally {
          closeSync(fd);
        }
        break;
      } catch (error) {
        if (code(error) !== 'EEXIST') throw fsError(error, lock.#path, 'create the lock file');
        const owner = readOwner(lock.#path);
        if (attempt === 0 && owner.stale) {
          rmSync(lock.#path, { force: true });
          continue;
        }
        throw busy(dir, lock.#path, owner.text);
      }
    }
    lock.#held = true;
    process.on('exit', lock.#onExit);
    return lock;
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    process.off('exit', this.#onExit);
    try {
      const owner = JSON.parse(readFileSync(this.#path, 'utf8')) as { pid?: number };
      if (owner.pid === process.pid) rmSync(this.#path, { force: true });
    } catch {
      // gone or replaced: nothing of ours to remove
    }
  }
}

function busy(dir: string, path: string, owner: string): OutputError {
  return new OutputError(`${dir} is in use by another collapse run${owner}; two runs into one folder would overwrite each other`,
    `wait for it to finish or pick another --out; if no such run exists, delete ${path}`);
}

function readOwner(path: string): { stale: boolean; text: string } {
  try {
    const text = readFileSync(path, 'utf8');
    const owner = JSON.parse(text) as { pid?: unknown; host?: unknown; started?: unknown };
    const pid = typeof owner.pid === 'number' ? owner.pid : NaN;
    const sameHost = owner.host === hostname();
    const stale = sameHost && Number.isInteger(pid) && (pid === process.pid || !alive(pid));
    return { stale, text: ` (pid ${String(owner.pid)} on ${String(owner.host)}, started ${String(owner.started)})` };
  } catch (error) {
    if (code(error) === 'ENOENT') return { stale: true, text: '' };
    // Half-written by a process killed between creating and filling it: stale once it is a few seconds old.
    try {
      return { stale: Date.now() - statSync(path).mtimeMs > 5000, text: '' };
    } catch {
      return { stale: true, text: '' };
    }
  }
}

/** JSON with NaN/±Infinity written as null; indented, but arrays of numbers stay on one line. */
export function toJson(value: unknown, pretty = true): string {
  if (!pretty) return JSON.stringify(value) + '\n';
  return render(JSON.parse(JSON.stringify(value)) as unknown, '') + '\n';
}

function render(v: unknown, indent: string): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (v.every((x) => x === null || typeof x !== 'object')) return `[${v.map((x) => JSON.stringify(x)).join(',')}]`;
    const inner = indent + ' ';
    return `[\n${v.map((x) => inner + render(x, inner)).join(',\n')}\n${indent}]`;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    const inner = indent + ' ';
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${render(x, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(v);
}

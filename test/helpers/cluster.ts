// Real Redis and a real single-node Slurm for the sweep-on-a-cluster tests, started from the test on 127.0.0.1
// under a temporary folder (no systemd, nothing system-wide touched) and stopped by their pids.
// Debian's redis-server, slurm-wlm and munge: .ci/install-system.sh installs them. Without them (or without root,
// which slurmd needs to start jobs) the tests are skipped, except under SC_REQUIRE_CLUSTER=1 (CI), where they fail.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const REQUIRED = process.env.SC_REQUIRE_CLUSTER === '1';

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Why a daemon cannot be started here (undefined if it can). */
export function missing(what: 'redis' | 'slurm'): string | undefined {
  const need = what === 'redis' ? ['redis-server'] : ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'sinfo'];
  const absent = need.filter((c) => !onPath(c) && !existsSync(`/usr/sbin/${c}`));
  if (absent.length > 0) return `${absent.join(', ')} not installed (apt-get install ${what === 'redis' ? 'redis-server' : 'slurm-wlm munge'}, or run .ci/install-system.sh)`;
  if (what === 'slurm' && process.getuid?.() !== 0) return 'slurmd must run as root to start jobs';
  return undefined;
}

/** A free TCP port on 127.0.0.1 (closed again at once; the daemon binds it a moment later). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, seconds: number, log?: string): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`${what} did not come up in ${seconds} s${log && existsSync(log) ? `:\n${readFileSync(log, 'utf8').slice(-2000)}` : ''}`);
    await sleep(100);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the pid in `pidFile`, SIGKILL after 5 s. */
async function stopPidFile(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const end = Date.now() + 5000;
  while (alive(pid) && Date.now() < end) await sleep(50);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

export interface Daemon {
  /** redis://127.0.0.1:PORT, or for Slurm the SLURM_CONF path. */
  readonly address: string;
  /** The environment the CLI needs to reach it. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startRedis(root: string): Promise<Daemon> {
  const dir = join(root, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const pidFile = join(dir, 'redis.pid');
  const log = join(dir, 'redis.log');
  const r = spawnSync('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes',
    '--pidfile', pidFile, '--dir', dir, '--logfile', log], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`redis-server failed: ${r.stderr || r.stdout}`);
  await until('redis-server', () => existsSync(pidFile) && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG', 10, log);
  return { address: `redis://127.0.0.1:${port}`, env: {}, stop: () => stopPidFile(pidFile) };
}

/**
 * munged with its own key and socket, slurmctld and slurmd with a minimal slurm.conf: one node (this host, at
 * 127.0.0.1, 2 CPUs), no cgroups (proctrack/linuxproc, task/none), no accounting, state and spool in `root`.
 */
export async function startSlurm(root: string): Promise<Daemon> {
  const dir = join(root, 'slurm');
  const munge = join(dir, 'munge');
  for (const d of ['state', 'spool', 'log']) mkdirSync(join(dir, d), { recursive: true });
  mkdirSync(munge, { recursive: true });
  chmodSync(munge, 0o700);
  const key = join(munge, 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o400 });
  const socket = join(munge, 'munge.socket');
  const daemons: string[] = [];
  const stop = async () => {
    spawnSync('scancel', ['--user', 'root', '--quiet'], { env: { ...process.env, SLURM_CONF: conf }, stdio: 'ignore', timeout: 5000 });
    for (const pidFile of daemons.reverse()) await stopPidFile(pidFile);
  };
  const conf = join(dir, 'slurm.conf');
  try {
    const mungePid = join(munge, 'munged.pid');
    daemons.push(mungePid);
    const m = spawnSync('munged', ['--force', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${mungePid}`, `--log-file=${join(munge, 'munged.log')}`,
      `--seed-file=${join(munge, 'munged.seed')}`], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`munged failed: ${m.stderr}`);
    const host = hostname().split('.')[0];
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    writeFileSync(conf, [
      'ClusterName=collapse-test',
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'SlurmUser=root',
      'AuthType=auth/munge',
      `AuthInfo=socket=${socket}`,
      'CredType=cred/munge',
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'MpiDefault=none',
      'ReturnToService=2',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN`,
      'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'));
    const env = { ...process.env, SLURM_CONF: conf };
    daemons.push(join(dir, 'slurmctld.pid'));
    const c = spawnSync('slurmctld', ['-i'], { env, encoding: 'utf8' });
    if (c.status !== 0) throw new Error(`slurmctld failed: ${c.stderr}`);
    daemons.push(join(dir, 'slurmd.pid'));
    const d = spawnSync('slurmd', ['-N', host], { env, encoding: 'utf8' });
    if (d.status !== 0) throw new Error(`slurmd failed: ${d.stderr}`);
    await until('the Slurm node', () => /idle/.test(spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' }).stdout ?? ''), 20, join(dir, 'log', 'slurmctld.log'));
  } catch (error) {
    await stop();
    throw error;
  }
  return { address: conf, env: { SLURM_CONF: conf }, stop };
}

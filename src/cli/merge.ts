import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseCommand, UsageError } from './args.js';
import type { Io } from './common.js';
import { HeldFolders, preflightOutDir } from './files.js';
import { MERGE_HELP } from './help.js';
import { duration } from './progress.js';
import { resultLines, writeResults, wroteLine } from './results.js';
import { packageVersion } from './common.js';
import { mergeShards, readShard, shardDirs } from './shards.js';

/** `collapse merge DIR... --out DIR`: any complete set of shards → exactly the unsharded result files. */
export async function mergeCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('merge', argv, {
    out: { type: 'string' },
    force: { type: 'boolean' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, true);
  if (values.help) {
    io.stdout.write(MERGE_HELP);
    return 0;
  }
  const dirs = positionals as string[];
  if (dirs.length === 0) throw new UsageError('give the shard folders to merge, e.g. collapse merge out/q/shard-* --out out/q (or the folder holding them)');
  if (values.out === undefined) throw new UsageError('--out is required: the folder for the merged result.json, result.csv and figures');
  const out = values.out;
  const shards = shardDirs(dirs).map(readShard);
  for (const s of shards) {
    if (resolve(s.dir) === resolve(out)) throw new UsageError(`--out ${out} is one of the shard folders; give the merged result a folder of its own (e.g. the shards' parent)`);
  }
  const { merged } = mergeShards(shards); // every check before anything is written
  preflightOutDir(out, () => refuseFinished(out, values.force === true));
  const folders = new HeldFolders();
  try {
    folders.hold(out);
    refuseFinished(out, values.force === true);
    const seconds = shards.reduce((s, x) => s + x.file.run.seconds, 0);
    const runInfo = {
      command: 'collapse merge', argv, version: packageVersion(), node: process.version, backend: merged.backend, device: merged.device,
      finished: new Date().toISOString(), computeSeconds: seconds, pathStepsPerSecond: merged.pathStepsPerSecond,
      shards: shards.map((s) => ({ dir: relative(out, s.dir) || '.', index: s.file.shard.index, count: s.file.shard.count, ...s.file.run })),
    };
    await writeResults(out, merged, runInfo);
    if (!values.quiet) {
      const lines = await resultLines(merged);
      lines.splice(1, 0, `merged:    ${shards.length} shard${shards.length === 1 ? '' : 's'}, computed by ${merged.backend} on ${merged.device} in ${duration(seconds)} in all`);
      lines.push(wroteLine(out));
      io.stdout.write(lines.join('\n') + '\n');
    }
    return 0;
  } finally {
    folders.close();
  }
}

function refuseFinished(out: string, force: boolean): void {
  if (existsSync(`${out}/result.json`) && !force) {
    throw new UsageError(`${out} already holds a finished sweep (result.json): add --force to replace it, or pick another --out`);
  }
}

/**
 * Monte Carlo sweeps cut into checkpointed stages: each piece of the noise grid is one stage (a `shard` of
 * `engine.collapse`), so an interrupted reproduction loses at most the piece at work, and the merged result is
 * exactly the unsharded one (counts are addressed by seed, grid point and path).
 */
import { mergeResults } from '../sde/collapse.js';
import type { CollapseOptions, CollapseResult } from '../sde/types.js';
import type { ReproContext, StagePlan } from './types.js';

/** The grid pieces of a sweep of `points` grid points, `perStage` at a time. */
function pieces(points: number, perStage: number): [number, number][] {
  const out: [number, number][] = [];
  const size = Math.max(1, Math.floor(perStage));
  for (let g = 0; g < points; g += size) out.push([g, Math.min(points, g + size)]);
  return out;
}

/** The stages of a sweep, with work = path-steps × `cost` per grid point. */
export function sweepPlan(key: string, label: string, points: number, perStage: number, pathSteps: number, cost = 1): StagePlan[] {
  return pieces(points, perStage).map(([a, b]) => ({ key: `${key}/${a}-${b}`, work: (b - a) * pathSteps * cost, label: `${label} (points ${a + 1}–${b} of ${points})` }));
}

/** Runs (or takes from the checkpoint) every piece of the sweep and merges them. */
export async function stagedSweep(context: ReproContext, key: string, options: CollapseOptions, perStage: number): Promise<CollapseResult> {
  const parts: CollapseResult[] = [];
  for (const [a, b] of pieces(options.noise.length, perStage)) {
    parts.push(await context.stage(`${key}/${a}-${b}`, (report) => context.engine.collapse({
      ...options,
      shard: { gridStart: a, gridEnd: b },
      signal: context.signal,
      onProgress: (p) => report(p.pathStepsDone / Math.max(1, p.pathStepsTotal)),
    })));
  }
  return mergeResults(parts);
}

/** A single (unsharded) collapse run as one stage. */
export function collapseStage(context: ReproContext, key: string, options: CollapseOptions): Promise<CollapseResult> {
  return context.stage(key, (report) => context.engine.collapse({
    ...options,
    signal: context.signal,
    onProgress: (p) => report(p.pathStepsDone / Math.max(1, p.pathStepsTotal)),
  }));
}

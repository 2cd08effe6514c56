/**
 * The files of a finished sweep (result.json, result.csv, collapse.svg/png, run.json) and its summary, written
 * the same way by `collapse sweep`, `collapse merge` and a Redis sweep, so that every route gives the same bytes.
 */
import { join } from 'node:path';
import type { CollapseResult } from '../sde/types.js';
import { commitFiles, toJson } from './files.js';
import { human } from './progress.js';

/** What result.json holds: everything but the clock (two runs with the same options give the same bytes). */
export function resultJson(merged: CollapseResult): string {
  const { elapsedSeconds: _elapsed, pathStepsPerSecond: _rate, ...result } = merged;
  return toJson(result);
}

/**
 * Writes the five result files into `out` as one step (see commitFiles), removing `remove` (e.g. the checkpoint)
 * with it. The plotting stack is loaded only here: commands that never draw start faster.
 */
export async function writeResults(out: string, merged: CollapseResult, runInfo: object, remove: readonly string[] = [], beforeCommit?: () => boolean): Promise<boolean> {
  const { collapseFigure } = await import('../plot/collapse.js');
  const figure = await collapseFigure(merged);
  if (beforeCommit && !beforeCommit()) return false;
  commitFiles(out, [['result.json', resultJson(merged)], ['result.csv', resultCsv(merged)], ['collapse.svg', figure.svg], ['collapse.png', figure.png],
    ['run.json', toJson(runInfo)]], remove);
  return true;
}

/** One row per (noise, recorded step). */
export function resultCsv(r: CollapseResult): string {
  const hasTheory = r.theory.points.some((p) => p.probability?.some((v) => typeof v === 'number'));
  const head = ['noise', 'step', 'time', 'paths', 'collapsed', 'diverged', 'probability', 'lower', 'upper', 'meanDistance', 'meanLogDistance', ...(hasTheory ? ['theoryProbability'] : [])];
  const num = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '');
  const lines = [head.join(',')];
  r.noise.forEach((x, k) => r.record.forEach((step, i) => {
    const row = [num(x), String(step), num(r.recordTimes[i]), String(r.paths), String(r.collapsed[k][i]), String(r.diverged[k][i]),
      num(r.probability[k][i]), num(r.lower[k][i]), num(r.upper[k][i]), num(r.meanDistance[k][i]), num(r.meanLogDistance[k][i])];
    if (hasTheory) row.push(num(r.theory.points[k]?.probability?.[i]));
    lines.push(row.join(','));
  }));
  return lines.join('\n') + '\n';
}

/** Where each recorded step's probability first reaches 1/2 (linear interpolation), or undefined. */
function halfCrossing(r: CollapseResult, i: number): number | undefined {
  for (let k = 1; k < r.noise.length; k++) {
    const a = r.probability[k - 1][i];
    const b = r.probability[k][i];
    if (a < 0.5 && b >= 0.5) return r.noise[k - 1] + ((0.5 - a) / (b - a)) * (r.noise[k] - r.noise[k - 1]);
  }
  return undefined;
}

/** The first lines of a sweep's summary: the problem, the threshold, where P crosses 1/2. */
export async function resultLines(r: CollapseResult): Promise<string[]> {
  const { paramsText } = await import('../plot/collapse.js');
  const { fmt } = await import('../plot/render.js');
  const K = r.noise.length;
  const lines = [`collapse sweep: ${r.model}${paramsText(r) ? ` (${paramsText(r)})` : ''}, ${K} values of ${r.sweep} × ${r.paths} paths × ${r.steps} steps = ${human(K * r.paths * r.steps)} path-steps`];
  if (typeof r.theory.threshold === 'number') lines.push(`threshold: ${r.theory.thresholdLabel ?? r.sweep} ≈ ${fmt(r.theory.threshold)}`);
  const half = r.record.map((step, i) => {
    const x = halfCrossing(r, i);
    return x === undefined ? undefined : `${fmt(x, 3)} (step ${step})`;
  }).filter(Boolean);
  if (half.length > 0) lines.push(`P = 0.5 at: ${r.sweep} ≈ ${half.join(', ')}`);
  return lines;
}

export const wroteLine = (out: string) => `wrote:     ${join(out, 'result.json')}, result.csv, collapse.svg, collapse.png, run.json`;


/** Learning-rate schedules: constant, linear warm-up (PAPER.md §5.4), and step drops. */
import { invalidArgument } from '../errors.js';

export interface Schedule {
  /** Linear warm-up from 0 over this many steps (step t uses lr·t/warmup, as Composer's LinearWarmup). */
  readonly warmupSteps?: number;
  /** Steps at which the rate is multiplied by `gamma` (each drop applies from that step on). */
  readonly drops?: readonly number[];
  /** Factor of each drop (default 0.1). */
  readonly gamma?: number;
}

/** Checks a schedule; returns it with defaults filled in. */
export function checkSchedule(s: Schedule | undefined): Required<Schedule> {
  const warmupSteps = s?.warmupSteps ?? 0;
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw invalidArgument('schedule.warmupSteps', warmupSteps, 'a non-negative integer');
  const drops = [...(s?.drops ?? [])];
  drops.forEach((d, i) => { if (!Number.isInteger(d) || d < 1 || (i > 0 && d <= drops[i - 1])) throw invalidArgument(`schedule.drops[${i}]`, d, 'increasing positive integers (steps)'); });
  const gamma = s?.gamma ?? 0.1;
  if (!(Number.isFinite(gamma) && gamma > 0)) throw invalidArgument('schedule.gamma', gamma, 'a positive number');
  return { warmupSteps, drops, gamma };
}

/**
 * The learning rate of 0-based step `step`.
 * @example
 * learningRate(0.1, { warmupSteps: 10 }, 5); // 0.05
 */
export function learningRate(base: number, s: Required<Schedule>, step: number): number {
  let lr = base;
  if (step < s.warmupSteps) lr *= step / s.warmupSteps;
  for (const d of s.drops) if (step >= d) lr *= s.gamma;
  return lr;
}

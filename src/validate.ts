import { invalidArgument } from './errors.js';

/** Small predicates used at the library boundary; each throws a CollapseError('INVALID_ARGUMENT'). */

export function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(name, value, `an integer in [${min}, ${max}]`);
  }
  return value;
}

export function finiteNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidArgument(name, value, 'a finite number');
  return value;
}

export function positiveNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalidArgument(name, value, 'a finite number > 0');
  return value;
}

export function oneOf<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw invalidArgument(name, value, `one of ${choices.map((c) => `'${c}'`).join(', ')}`);
  }
  return value as T;
}

export function plainObject(name: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(name, value, 'an object');
  return value as Record<string, unknown>;
}

/** The largest seed/stream value: both are one 32-bit Philox key word. */
export const MAX_U32 = 0xffff_ffff;

/** The most threads the native backend runs (its pool's cap). */
export const MAX_THREADS = 256;

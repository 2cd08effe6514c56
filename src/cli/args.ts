import { parseArgs, type ParseArgsConfig } from 'node:util';
import { builtinModels } from '../sde/models/index.js';
import type { ModelDefinition } from '../sde/model.js';
import { sweepableParams } from '../sde/sweepable.js';

/** Bad command-line input: printed as `collapse: error: <message>` with a hint, exit code 2. */
export class UsageError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'UsageError';
    this.hint = hint;
  }
}

/** Largest grid accepted from a linspace or a list (the library's own limit). */
export const MAX_GRID = 1_000_000;

/**
 * node:util parseArgs in strict mode, its errors reworded as UsageErrors naming the command's help. Positional
 * arguments (files) are refused unless `positionals` is true.
 */
export function parseCommand<T extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: string[], options: T, positionals = false):
  ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: positionals, tokens: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    let message = error instanceof Error ? error.message : String(error);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const m = /Unknown option '([^']+)'/.exec(message);
      message = m ? `unknown option '${m[1]}' for 'collapse ${command}'` : message;
    } else if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const m = /Unexpected argument '([^']+)'/.exec(message);
      message = m ? `unexpected argument '${m[1]}' (options are written --name value)` : message;
    } else if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const ambiguous = /Option '(--[^ ']+)[^']*' argument is ambiguous/.exec(message);
      const missing = /Option '(--[^ ']+)[^']*' argument missing/.exec(message);
      if (ambiguous) message = `option '${ambiguous[1]}' is followed by something starting with '-': write a negative value as ${ambiguous[1]}=-1.5`;
      else if (missing) message = `option '${missing[1]}' needs a value`;
      else message = message.replace(/^Option /, 'option ');
    }
    throw new UsageError(message, `see 'collapse ${command} --help'`);
  }
  // An option given twice is refused rather than resolved by "last wins" (only --set may repeat).
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option' || options[token.name]?.multiple) continue;
    if (seen.has(token.name)) throw new UsageError(`option '--${token.name}' is given twice; give it once`, `see 'collapse ${command} --help'`);
    seen.add(token.name);
  }
  const { tokens: _tokens, ...rest } = parsed;
  return rest as ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>;
}

/** A number written by a person: decimal or exponent notation, finite. */
export function parseNumber(name: string, text: string): number {
  const t = text.trim();
  if (t === '' || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) throw new UsageError(`${name} must be a number; got '${text}'`);
  const v = Number(t);
  if (!Number.isFinite(v)) throw new UsageError(`${name} must be a finite number; got '${text}'`);
  return v;
}

/** An integer in [min, max] (accepts 1e6 and 80_000-free plain digits). */
export function parseInteger(name: string, text: string, min: number, max: number): number {
  const v = parseNumber(name, text);
  if (!Number.isInteger(v)) throw new UsageError(`${name} must be an integer; got '${text}'`);
  if (v < min || v > max) throw new UsageError(`${name} must be an integer in [${min}, ${max}]; got '${text}'`);
  return v;
}

export function parsePositive(name: string, text: string): number {
  const v = parseNumber(name, text);
  if (v <= 0) throw new UsageError(`${name} must be > 0; got '${text}'`);
  return v;
}

/**
 * A grid: `a:b:n` (n points from a to b, both included, like numpy.linspace) or a comma-separated list,
 * or a mix: `0:1:11,1.5,2`.
 */
export function parseGrid(name: string, text: string): number[] {
  const out: number[] = [];
  if (text.trim() === '') throw new UsageError(`${name} is empty; give a list like 0.5,1,2 or a linspace a:b:n like 0:3:100`);
  for (const part of text.split(',')) {
    const p = part.trim();
    if (p === '') throw new UsageError(`${name} has an empty entry in '${text}'; separate values with single commas`);
    if (p.includes(':')) {
      const bits = p.split(':');
      if (bits.length !== 3) throw new UsageError(`${name}: '${p}' is not a linspace; write a:b:n (from a to b, n points, both ends included), e.g. 0:3:100`);
      const a = parseNumber(`${name} linspace start`, bits[0]);
      const b = parseNumber(`${name} linspace end`, bits[1]);
      const n = parseInteger(`${name} linspace count (the n of a:b:n)`, bits[2], 1, MAX_GRID);
      if (n === 1 && a !== b) throw new UsageError(`${name}: '${p}' asks for 1 point between two different ends; use n ≥ 2 or a single value`);
      for (let i = 0; i < n; i++) out.push(n === 1 ? a : i === n - 1 ? b : a + ((b - a) * i) / (n - 1));
    } else {
      out.push(parseNumber(name, p));
    }
    if (out.length > MAX_GRID) throw new UsageError(`${name} has more than ${MAX_GRID} values`);
  }
  return out;
}

/** A comma-separated list of integers (e.g. recorded steps). */
export function parseIntegerList(name: string, text: string, min: number, max: number): number[] {
  if (text.trim() === '') throw new UsageError(`${name} is empty; give comma-separated integers like 10000,20000`);
  return text.split(',').map((p) => parseInteger(name, p, min, max));
}

export function findModel(name: string): ModelDefinition {
  const model = Object.hasOwn(builtinModels, name) ? builtinModels[name] : undefined;
  if (!model) throw new UsageError(`unknown model '${name}'; the models are ${Object.keys(builtinModels).join(', ')}`, `see 'collapse models'`);
  return model;
}

/** `--set name=value`, repeatable; names must be the model's parameters. */
export function parseSets(model: ModelDefinition, sets: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  const known = Object.keys(model.params);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set takes name=value (e.g. --set mu=1.5); got '${s}'`);
    const name = s.slice(0, eq).trim();
    if (!known.includes(name)) throw new UsageError(`model '${model.name}' has no parameter '${name}'; its parameters are ${known.join(', ')}`, `see 'collapse models'`);
    if (Object.hasOwn(out, name)) throw new UsageError(`--set ${name} is given twice; give each parameter once`);
    out[name] = parseNumber(`--set ${name}`, s.slice(eq + 1));
  }
  return out;
}

/**
 * `--sweep` and `--set` together: the swept parameter must be one the model can vary per grid point, and must
 * not also be fixed with --set (its values come from --noise).
 */
export function checkSweep(model: ModelDefinition, sweep: string | undefined, sets: Record<string, number>, seed: number): void {
  const name = sweep ?? model.noiseParam;
  if (sweep !== undefined && !Object.hasOwn(model.params, sweep)) {
    throw new UsageError(`--sweep: model '${model.name}' has no parameter '${sweep}'; its parameters are ${Object.keys(model.params).join(', ')}`, `see 'collapse models'`);
  }
  if (Object.hasOwn(sets, name)) {
    throw new UsageError(`--set ${name}=${sets[name]} conflicts with the sweep: '${name}' is the swept parameter and takes its values from --noise; drop --set ${name}, or sweep another parameter with --sweep`);
  }
  if (sweep !== undefined) {
    const values: Record<string, number> = {};
    for (const [k, spec] of Object.entries(model.params)) values[k] = sets[k] ?? spec.default;
    const ok = sweepableParams(model, values, seed);
    if (!ok.includes(sweep)) {
      throw new UsageError(`--sweep ${sweep}: model '${model.name}' cannot sweep '${sweep}': it is fixed when the model is built (e.g. the data it generates), so every grid point would use the same value; the sweepable parameters are ${ok.join(', ')}`,
        `run one sweep per value of ${sweep} with --set ${sweep}=VALUE; see 'collapse models'`);
    }
  }
}

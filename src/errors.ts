/**
 * Typed errors with stable codes. Every error the library throws on purpose is a `CollapseError`;
 * match on `error.code`, never on the message (messages may be reworded).
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'BACKEND_UNAVAILABLE'
  | 'DEVICE_LOST'
  | 'DEVICE_ERROR'
  | 'SHADER_COMPILE'
  | 'NATIVE_FAILURE'
  | 'ABORTED'
  | 'DIVERGED'
  | 'ENGINE_CLOSED';

export class CollapseError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts (the offending argument, the backend, the kernel...). */
  readonly details: Readonly<Record<string, unknown>>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CollapseError';
    this.code = code;
    this.details = details;
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return value.length > 8 ? `[${value.slice(0, 8).map(show).join(', ')}, ...]` : `[${value.map(show).join(', ')}]`;
  if (value instanceof Float32Array || value instanceof Float64Array || value instanceof Uint32Array) return `${value.constructor.name}(${value.length})`;
  return String(value);
}

/** The one message factory for bad arguments: what was wrong, what was given, what is expected. */
export function invalidArgument(name: string, value: unknown, expected: string): CollapseError {
  return new CollapseError('INVALID_ARGUMENT', `${name} must be ${expected}; got ${show(value)}`, { argument: name, value, expected });
}

export function backendUnavailable(backend: string, why: string, fix: string, cause?: unknown): CollapseError {
  return new CollapseError('BACKEND_UNAVAILABLE', `backend '${backend}' is unavailable: ${why}. ${fix}`, { backend }, { cause });
}

export function aborted(what: string, reason?: unknown): CollapseError {
  return new CollapseError('ABORTED', `${what} was aborted${reason instanceof Error ? `: ${reason.message}` : ''}`, {}, { cause: reason });
}

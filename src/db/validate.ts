// Runtime checks of repository inputs. TypeScript types vanish at run time and
// repository callers pass along API payloads, so every input is checked here
// and rejected with a ValidationError that names the field, before any SQL.
import semverPackage from 'semver';
import { DNS_LABEL } from '../domain/naming.ts';
import { SHARD_NAME_PATTERN } from '../domain/shard.ts';
import { ValidationError } from './errors.ts';
import type { JsonObject } from './schema.ts';

/** DNS-1123 label: template names and namespaces (also enforced by check constraints). */
export { DNS_LABEL };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// No control characters (NUL in particular is rejected by Postgres text).
// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;

/** Largest JSON document accepted for values / default values / schemas (serialised bytes). */
export const MAX_JSON_BYTES = 256 * 1024;

export function isUuid(value: unknown): boolean {
  return typeof value === 'string' && UUID.test(value);
}

export function uuid(field: string, value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw new ValidationError(field, 'must be a uuid');
  return value.toLowerCase();
}

export function text(field: string, value: unknown, opts: { max: number; min?: number; pattern?: RegExp; patternHint?: string }): string {
  if (typeof value !== 'string') throw new ValidationError(field, `must be a string, got ${typeName(value)}`);
  const min = opts.min ?? 1;
  if (value.length < min || value.length > opts.max) throw new ValidationError(field, `must be ${min}..${opts.max} characters, got ${value.length}`);
  if (!PRINTABLE.test(value)) throw new ValidationError(field, 'must not contain control characters');
  if (opts.pattern && !opts.pattern.test(value)) throw new ValidationError(field, opts.patternHint ?? `must match ${opts.pattern.source}`);
  return value;
}

export function optionalText(field: string, value: unknown, opts: Parameters<typeof text>[2]): string | null {
  return value === undefined || value === null ? null : text(field, value, opts);
}

export function dnsLabel(field: string, value: unknown): string {
  return text(field, value, { max: 63, pattern: DNS_LABEL, patternHint: 'must be a DNS label: lower-case letters, digits and "-", at most 63, starting and ending alphanumeric' });
}

export function shardName(value: unknown, field = 'shard'): string {
  return text(field, value, { max: 40, pattern: SHARD_NAME_PATTERN, patternHint: 'must be a shard name: lower-case letters, digits and "-", at most 40, starting and ending alphanumeric' });
}

/** A semantic version exactly as written (no leading "v", no coercion), checked by the `semver` package npm itself uses. */
export function semver(field: string, value: unknown): string {
  const v = text(field, value, { max: 128 });
  // semver also takes a leading "v" or "=": a version as stored starts with its major number.
  if (!/^\d\S*$/.test(v) || semverPackage.valid(v) === null) throw new ValidationError(field, 'must be a semantic version such as 1.2.3');
  return v;
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ValidationError(field, `must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function date(field: string, value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new ValidationError(field, 'must be a valid Date');
  return value;
}

export function optionalDate(field: string, value: unknown): Date | null {
  return value === undefined || value === null ? null : date(field, value);
}

export function nonNegativeInt(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new ValidationError(field, 'must be a non-negative 32-bit integer');
  }
  return value;
}

/** A plain JSON object of bounded size; returns it as parsed JSON (dropping prototypes, undefined, functions). */
export function jsonObject(field: string, value: unknown, maxBytes = MAX_JSON_BYTES): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, `must be a JSON object, got ${typeName(value)}`);
  }
  let serialised: string;
  try {
    serialised = JSON.stringify(value);
  } catch (err) {
    throw new ValidationError(field, `is not serialisable as JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const bytes = Buffer.byteLength(serialised, 'utf8');
  if (bytes > maxBytes) throw new ValidationError(field, `is ${bytes} bytes of JSON, more than the limit of ${maxBytes}`, { bytes, maxBytes });
  // Postgres jsonb rejects \u0000 in strings; say so here instead of a driver error.
  if (serialised.includes('\\u0000')) throw new ValidationError(field, 'must not contain NUL characters');
  return JSON.parse(serialised) as JsonObject;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

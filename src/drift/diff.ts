// What counts as drift, as pure functions: the fields a manifest object sets,
// compared between the server-side-apply dry-run of that object (what the
// API server would persist) and the live object. Defaults and fields of other
// managers are in both, so they cancel out; only our fields can differ.
import type { DriftIgnoreRule } from '../domain/instance.ts';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Pointers below `pointer` where `a` and `b` differ (leaf-most), for a report a user can act on. */
function differences(a: Json | undefined, b: Json | undefined, pointer: string, out: string[]): void {
  if (deepEqual(a, b)) return;
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) differences(a[k], b[k], `${pointer}/${escapePointer(k)}`, out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((v, i) => differences(v, b[i], `${pointer}/${i}`, out));
    return;
  }
  out.push(pointer);
}

// Never compared: server-owned bookkeeping. Labels and annotations the
// manifest sets are compared like any other field.
const METADATA_IGNORED = new Set(['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink']);

/**
 * JSON pointers of the fields `manifest` sets whose value differs between
 * `dryRun` and `live`. Walks the manifest: maps recurse; a list or scalar is
 * compared whole at its pointer (list items' defaults are in both sides).
 */
export function driftedPointers(manifest: Obj, dryRun: Obj, live: Obj, ignored: (pointer: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (m: Json, d: Json | undefined, l: Json | undefined, pointer: string): void => {
    if (ignored(pointer)) return;
    if (isObj(m) && Object.keys(m).length > 0) {
      for (const [k, v] of Object.entries(m)) {
        if (pointer === '' && k === 'status') continue;
        if (pointer === '/metadata' && METADATA_IGNORED.has(k)) continue;
        walk(v, isObj(d) ? d[k] : undefined, isObj(l) ? l[k] : undefined, `${pointer}/${escapePointer(k)}`);
      }
      return;
    }
    const found: string[] = [];
    differences(d, l, pointer, found);
    out.push(...found.filter((p) => !ignored(p)));
  };
  walk(manifest, dryRun, live, '');
  return out;
}

export interface ObjectIdentity {
  kind: string;
  name: string;
}

/** True if `pointer` is, or lies under, a path an ignore rule names for this object. */
export function ignoreMatcher(rules: readonly DriftIgnoreRule[], object: ObjectIdentity, extra: readonly string[] = []): (pointer: string) => boolean {
  const paths = [
    ...extra,
    ...rules
      .filter((r) => (!r.target?.kind || r.target.kind === object.kind) && (!r.target?.name || r.target.name === object.name))
      .flatMap((r) => r.paths),
  ];
  return (pointer) => paths.some((p) => pointer === p || pointer.startsWith(`${p}/`));
}

/**
 * Secrets: charts often write `stringData`, which the API server folds into
 * `data`; compare in the stored form so edits of `data` are seen.
 */
export function normalizeManifestObject(obj: Obj): Obj {
  if (obj['kind'] !== 'Secret' || obj['apiVersion'] !== 'v1' || !isObj(obj['stringData'])) return obj;
  const data: Obj = { ...(isObj(obj['data']) ? obj['data'] : {}) };
  for (const [k, v] of Object.entries(obj['stringData'])) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  const { stringData: _dropped, ...rest } = obj;
  return { ...rest, data };
}

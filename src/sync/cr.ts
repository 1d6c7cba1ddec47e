// CaelusInstances as the sync reads them: JSON from the API server (the
// informer's cache, a GET, an apply's answer), checked to have the shape the
// sync relies on instead of cast to it.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { CaelusInstance } from '../domain/instance.ts';

/** The parts of a CaelusInstance the sync reads exist: metadata.name and an object spec with userId. */
export function isCaelusInstance(obj: unknown): obj is CaelusInstance {
  if (typeof obj !== 'object' || obj === null) return false;
  const o = obj as { metadata?: { name?: unknown }; spec?: { userId?: unknown } | null };
  return typeof o.metadata?.name === 'string' && typeof o.spec === 'object' && o.spec !== null && typeof o.spec.userId === 'string';
}

/** `obj` as a CaelusInstance; throws when the API server returned something else (never expected). */
export function asCaelusInstance(obj: KubernetesObject): CaelusInstance {
  if (!isCaelusInstance(obj)) throw new TypeError(`not a CaelusInstance: ${obj.kind ?? 'object'} ${obj.metadata?.name ?? '(unnamed)'}`);
  return obj;
}

/** The CaelusInstances among `objs` (the informer's cache holds only those). */
export function caelusInstances(objs: readonly KubernetesObject[]): CaelusInstance[] {
  const out: CaelusInstance[] = [];
  for (const obj of objs) if (isCaelusInstance(obj)) out.push(obj);
  return out;
}

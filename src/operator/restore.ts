// Healing what Caelus itself owns in an instance namespace (guardrails and
// the tenant identity) while the instance is Ready. Their steps skip the
// apply when nothing they would write changed (digest, or already applied in
// this process), so a `kubectl delete networkpolicy caelus-default-deny`
// would stand until the next change. A drift watch reporting that such an
// object was edited or deleted, or the periodic full check, marks the
// instance here; the steps take the mark and re-apply although their input
// is unchanged. This file holds the rule of what counts and the marks.
import type { WatchedChange } from '../drift/watches.ts';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../domain/instance.ts';
import { tenantReservedObjects } from '../domain/tenant.ts';
import { LIMIT_RANGE_NAME, QUOTA_NAME } from '../domain/tiers.ts';
import type { OwnedPart, RestorePort } from './ports.ts';
import { NetworkPolicyName } from './steps/guardrails.ts';

const PARTS: readonly OwnedPart[] = ['tenant', 'guardrails'];

/** `Kind/name` of every object the two steps apply in each instance namespace, and which one applies it. */
const OWNED: ReadonlyMap<string, OwnedPart> = new Map<string, OwnedPart>([
  ...tenantReservedObjects().map(({ kind, name }) => [`${kind}/${name}`, 'tenant'] as const),
  [`ResourceQuota/${QUOTA_NAME}`, 'guardrails'],
  [`LimitRange/${LIMIT_RANGE_NAME}`, 'guardrails'],
  ...Object.values(NetworkPolicyName).map((name) => [`NetworkPolicy/${name}`, 'guardrails'] as const),
]);

/**
 * The step that must re-apply after `change`, or undefined when the change
 * needs no forced re-apply. Adds are skipped: they are the watch's initial
 * list and our own creates (a re-created object arrives as an add, so a
 * restore does not trigger another). An update or delete counts when the
 * object has one of our names and our managed-by label, and sits in the
 * instance's own namespace: the labels are writable by whoever can edit the
 * object, so a tenant copying them onto an object of its own at worst buys
 * its own instance an extra, unchanged re-apply, never another instance's.
 */
export function ownedPartChanged(change: Omit<WatchedChange, 'instance'>, instanceNamespace: string): OwnedPart | undefined {
  if (change.type === 'add') return undefined;
  if (change.namespace !== instanceNamespace) return undefined;
  if (change.labels[MANAGED_BY_LABEL] !== MANAGED_BY) return undefined;
  return OWNED.get(`${change.kind}/${change.name}`);
}

/** `NetworkPolicy/caelus-default-deny deleted`: what an Event and the log say was restored. */
export function describeChange(change: Pick<WatchedChange, 'type' | 'kind' | 'name'>): string {
  return `${change.kind}/${change.name} ${change.type === 'delete' ? 'deleted' : 'changed'}`;
}

/** Marks per instance and part; a part's mark is taken once by the step that re-applies it. */
export class RestoreRequests implements RestorePort {
  /** instance → part → what changed (empty: the periodic check, which cannot tell). */
  readonly #pending = new Map<string, Map<OwnedPart, Set<string>>>();

  /** Marks `part` (both when omitted) of `instance`, remembering `what` changed if known. */
  request(instance: string, part?: OwnedPart, what?: string): void {
    let parts = this.#pending.get(instance);
    if (!parts) this.#pending.set(instance, (parts = new Map()));
    for (const p of part ? [part] : PARTS) {
      let whats = parts.get(p);
      if (!whats) parts.set(p, (whats = new Set()));
      if (what) whats.add(what);
    }
  }

  take(instance: string, part: OwnedPart): string[] | undefined {
    const parts = this.#pending.get(instance);
    const whats = parts?.get(part);
    if (!parts || !whats) return undefined;
    parts.delete(part);
    if (parts.size === 0) this.#pending.delete(instance);
    return [...whats];
  }

  giveBack(instance: string, part: OwnedPart, whats: readonly string[]): void {
    this.request(instance, part);
    for (const what of whats) this.request(instance, part, what);
  }

  forget(instance: string): void {
    this.#pending.delete(instance);
  }

  get size(): number {
    return this.#pending.size;
  }
}

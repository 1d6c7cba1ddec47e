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
import type { OwnedPart, OwnWritesPort, Restore, RestorePort } from './ports.ts';
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
 * The kinds of each part that no drift watch follows (`watched`: the watched
 * kinds), which only the periodic full check can put back: by default the
 * ResourceQuota (its status changes with every pod, so it is not watched)
 * and the secrets Secret (Secrets are never watched). Everything else is
 * put back from its watch event, so the periodic check stays at one or two
 * applies per instance instead of a dozen.
 */
export function unwatchedKinds(watched: ReadonlySet<string>): Map<OwnedPart, ReadonlySet<string>> {
  const kinds = new Map<OwnedPart, Set<string>>(PARTS.map((p) => [p, new Set<string>()]));
  const owned: [string, OwnedPart][] = [...[...OWNED].map(([key, part]): [string, OwnedPart] => [key.slice(0, key.indexOf('/')), part]), ['Secret', 'guardrails']];
  for (const [kind, part] of owned) if (!watched.has(kind)) kinds.get(part)!.add(kind);
  return kinds;
}

/**
 * The step that must re-apply after `change`, or undefined when the change
 * needs no forced re-apply (drift watches report no adds: a re-created
 * object arrives as one, so a restore does not trigger another). An update
 * or delete counts when the
 * object has one of our names and our managed-by label, and sits in the
 * instance's own namespace: the labels are writable by whoever can edit the
 * object, so a tenant copying them onto an object of its own at worst buys
 * its own instance an extra, unchanged re-apply, never another instance's.
 */
export function ownedPartChanged(change: Omit<WatchedChange, 'instance'>, instanceNamespace: string): OwnedPart | undefined {
  if (change.namespace !== instanceNamespace) return undefined;
  if (change.labels[MANAGED_BY_LABEL] !== MANAGED_BY) return undefined;
  return OWNED.get(`${change.kind}/${change.name}`);
}

/** `NetworkPolicy/caelus-default-deny deleted`: what an Event and the log say was restored. */
export function describeChange(change: Pick<WatchedChange, 'type' | 'kind' | 'name'>): string {
  return `${change.kind}/${change.name} ${change.type === 'delete' ? 'deleted' : 'changed'}`;
}

/** The identity of a watched change, enough to describe it and to tell our own writes from others'. */
export type ChangeRef = Pick<WatchedChange, 'type' | 'kind' | 'name' | 'namespace' | 'resourceVersion'>;

interface Mark {
  /** Re-apply every object: a mark given back after a failed full re-apply. */
  all: boolean;
  /** Re-apply at least the objects of these kinds (the periodic check). */
  kinds: Set<string>;
  /** What was already found to need a re-apply (a mark given back). */
  known: Set<string>;
  /** Watched changes, judged only when taken: by then the reconcile that wrote them has seen its answers. */
  changes: ChangeRef[];
}

/** Changes kept per mark: a burst of edits between two reconciles needs only the latest few named. */
const MAX_CHANGES = 20;

/**
 * Marks per instance and part; a part's mark is taken once by the step that
 * re-applies it. Watched changes are judged when taken, not when they
 * arrive: the watch event of our own write often outruns the write's answer,
 * and only once that answer is in does `isOwn` know the write was ours.
 */
export class RestoreRequests implements RestorePort {
  readonly #pending = new Map<string, Map<OwnedPart, Mark>>();
  readonly #isOwn: (change: ChangeRef) => boolean;

  constructor(isOwn: (change: ChangeRef) => boolean = () => false) {
    this.#isOwn = isOwn;
  }

  /** Marks `part` of `instance` for a watched change of one of its objects. */
  changed(instance: string, part: OwnedPart, change: ChangeRef): void {
    const mark = this.#mark(instance, part);
    mark.changes = [...mark.changes, change].slice(-MAX_CHANGES);
  }

  /** Marks `part` of `instance` to re-apply its objects of `kinds` whatever happened (the periodic check). */
  kinds(instance: string, part: OwnedPart, kinds: ReadonlySet<string>): void {
    if (kinds.size === 0) return;
    const mark = this.#mark(instance, part);
    for (const kind of kinds) mark.kinds.add(kind);
  }

  take(instance: string, part: OwnedPart): Restore | undefined {
    const parts = this.#pending.get(instance);
    const mark = parts?.get(part);
    if (!parts || !mark) return undefined;
    parts.delete(part);
    if (parts.size === 0) this.#pending.delete(instance);
    const whats = [...new Set([...mark.known, ...mark.changes.filter((c) => !this.#isOwn(c)).map(describeChange)])];
    // Someone else changed an object of this part: all of it, the change may not be the only one.
    if (mark.all || whats.length > 0) return { whats };
    return mark.kinds.size > 0 ? { whats: [], kinds: mark.kinds } : undefined;
  }

  giveBack(instance: string, part: OwnedPart, restore: Restore): void {
    const mark = this.#mark(instance, part);
    if (restore.kinds) for (const kind of restore.kinds) mark.kinds.add(kind);
    else mark.all = true;
    for (const what of restore.whats) mark.known.add(what);
  }

  forget(instance: string): void {
    this.#pending.delete(instance);
  }

  get size(): number {
    return this.#pending.size;
  }

  #mark(instance: string, part: OwnedPart): Mark {
    let parts = this.#pending.get(instance);
    if (!parts) this.#pending.set(instance, (parts = new Map()));
    let mark = parts.get(part);
    if (!mark) parts.set(part, (mark = { all: false, kinds: new Set(), known: new Set(), changes: [] }));
    return mark;
  }
}

/**
 * The last write Caelus itself made to each of its objects, per namespace:
 * the watch event of that write (same resourceVersion, or the delete of an
 * object we deleted) is ours, not an edit to heal. Without this, every
 * change of our own (a new tier, new template rules, a relabel) would be
 * followed by a second, unchanged re-apply and a misleading Event.
 */
export class OwnWrites implements OwnWritesPort {
  /** namespace → `Kind/name` → the last few resourceVersions written ('' = deleted): an apply and the replace after it are two writes. */
  readonly #last = new Map<string, Map<string, string[]>>();

  wrote(ref: { kind: string; namespace?: string | undefined; name: string }, resourceVersion: string | undefined): void {
    if (ref.namespace && resourceVersion) this.#add(ref.namespace, `${ref.kind}/${ref.name}`, resourceVersion);
  }

  deleted(ref: { kind: string; namespace?: string | undefined; name: string }): void {
    if (ref.namespace) this.#add(ref.namespace, `${ref.kind}/${ref.name}`, '');
  }

  /** The change is the event of one of our own last writes to the object (forgotten once seen). */
  isOwn(change: ChangeRef): boolean {
    const objects = change.namespace === undefined ? undefined : this.#last.get(change.namespace);
    const key = `${change.kind}/${change.name}`;
    const written = objects?.get(key);
    const i = written?.indexOf(change.type === 'delete' ? '' : (change.resourceVersion ?? '-')) ?? -1;
    if (i < 0) return false;
    written!.splice(i, 1);
    if (written!.length === 0) objects!.delete(key);
    return true;
  }

  forgetNamespace(namespace: string): void {
    this.#last.delete(namespace);
  }

  get size(): number {
    return this.#last.size;
  }

  #add(namespace: string, key: string, value: string): void {
    let objects = this.#last.get(namespace);
    if (!objects) this.#last.set(namespace, (objects = new Map()));
    // A write whose event never comes (an unchanged apply answers the old version) must not pile up.
    objects.set(key, [...(objects.get(key) ?? []), value].slice(-4));
  }
}

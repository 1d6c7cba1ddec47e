// Sharding: which operator process owns an instance. The one rule for
// assigning a new instance to a shard, for reading a CaelusInstance's shard,
// for the label selector a shard watches and for the Lease its replicas
// compete for. Pure, so the operator, the sync and the API agree by
// construction (test/unit/domain/shard.test.ts).
import { createHash } from 'node:crypto';
import { INSTANCE_LABEL } from './instance.ts';

/** The label naming the shard that reconciles a CaelusInstance. */
export const SHARD_LABEL = 'caelus.io/shard';

/** A shard name is a label value and a Lease-name suffix: a lowercase DNS label, short enough for both. */
export const SHARD_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;

/** The configured shards, in order: the first is the default shard. */
export type ShardList = readonly [string, ...string[]];

/** The shard that owns CaelusInstances without a shard label (kubectl, GitOps, installs from before sharding): the first listed. */
export function defaultShard(shards: ShardList): string {
  return shards[0];
}

/**
 * The shard a new instance is assigned to: rendezvous (highest random
 * weight) hashing of `key` over the shard names. Deterministic, spreads keys
 * evenly, and a shard added to the list takes keys only from the others
 * (about 1/N of them), never shuffles the rest: the assignment of later
 * instances stays mostly where an operator of the shorter list would put it.
 */
export function assignShard(key: string, shards: ShardList): string {
  let best = shards[0];
  let bestWeight = '';
  for (const shard of shards) {
    const weight = createHash('sha256').update(shard).update('\0').update(key).digest('hex');
    if (weight > bestWeight) {
      best = shard;
      bestWeight = weight;
    }
  }
  return best;
}

/** Where a CaelusInstance belongs: its shard label, else the default shard; `known` is false when the label names no configured shard. */
export function shardOf(labels: Readonly<Record<string, string>> | undefined, shards: ShardList): { shard: string; known: boolean } {
  const label = labels?.[SHARD_LABEL];
  if (label === undefined || label === '') return { shard: defaultShard(shards), known: true };
  return { shard: label, known: shards.includes(label) };
}

/**
 * The label selector of the CaelusInstances shard `shard` watches. The
 * default shard watches every CR not labelled for another configured shard
 * (`notin` also matches CRs without the label), so unlabelled CRs and CRs
 * naming an unknown shard reach it: the first it reconciles, the second it
 * reports (never silently lost). Undefined: everything (a single shard).
 */
export function shardSelector(shard: string, shards: ShardList): string | undefined {
  if (shard !== defaultShard(shards)) return `${SHARD_LABEL}=${shard}`;
  const others = shards.slice(1);
  return others.length > 0 ? `${SHARD_LABEL} notin (${others.join(',')})` : undefined;
}

/**
 * The shard label of every object Caelus makes for an instance (its release's
 * objects, tenant identity, guardrails): the CR's own label, verbatim, when
 * sharded. The objects and their CR then carry the same label, so a shard's
 * drift watches select them with the same shardSelector as its CRs: an
 * unlabelled CR (kubectl, GitOps, from before sharding) gets unlabelled
 * objects, which the default shard's `notin` matches like the CR. Unsharded:
 * no label at all, so an operator that never had shards renders (and
 * digests) exactly what it always did.
 */
export function objectShardLabels(crLabels: Readonly<Record<string, string>> | undefined, shards: ShardList | undefined): Record<string, string> {
  const label = crLabels?.[SHARD_LABEL];
  return shards && label ? { [SHARD_LABEL]: label } : {};
}

/** The labels naming the owner of an object Caelus makes for `instance`: the instance label and objectShardLabels. */
export function ownerLabels(
  instance: { metadata: { name: string; labels?: Readonly<Record<string, string>> | undefined } },
  shards: ShardList | undefined,
): Record<string, string> {
  return { [INSTANCE_LABEL]: instance.metadata.name, ...objectShardLabels(instance.metadata.labels, shards) };
}

/**
 * The Lease the replicas of `shard` compete for. The default shard keeps the
 * unsharded name, so turning sharding on leaves the existing install's Lease
 * (and its holder) in place, and an old unsharded replica still running
 * during the upgrade never leads at the same time as the default shard.
 */
export function shardLeaseName(baseLeaseName: string, shard: string, shards: ShardList): string {
  return shard === defaultShard(shards) ? baseLeaseName : `${baseLeaseName}-${shard}`;
}

/** Whether a Lease read at `now` has a holder that renewed it within its duration (the shard is live). */
export function leaseIsFresh(lease: { holder: string | undefined; renewTime: Date | undefined; durationSeconds: number | undefined }, now: Date): boolean {
  if (!lease.holder || !lease.renewTime || lease.durationSeconds === undefined) return false;
  return lease.renewTime.getTime() + lease.durationSeconds * 1000 > now.getTime();
}

export interface LeaseRecord {
  holder: string | undefined;
  renewTime: Date | undefined;
  durationSeconds: number | undefined;
}

export interface ShardView {
  /** The shard's name; null without sharding (the one operator). */
  name: string | null;
  default: boolean;
  lease: string;
  holder: string | null;
  /** Its Lease is held and fresh; null when unknown (no cluster access). */
  live: boolean | null;
  instances: number;
}

export interface ShardOverview {
  sharded: boolean;
  shards: ShardView[];
  /** Instances assigned to shards that are not configured (CAELUS_SHARDS of the operators lacks them). */
  unknown: Array<{ name: string; instances: number }>;
  /** Instances no live shard owns: those of shards whose Lease is not fresh, and of unknown shards; null when liveness is unknown. */
  unowned: number | null;
}

/**
 * Instances per shard and who owns them now. `counts` are live instances by
 * assigned shard (null: unassigned, i.e. the default shard); `leases` is
 * undefined without cluster access, else the Lease of each lease name (absent: never taken).
 */
export function shardOverview(
  sharding: { shards: ShardList | undefined; baseLeaseName: string },
  counts: ReadonlyArray<{ shard: string | null; instances: number }>,
  leases: ReadonlyMap<string, LeaseRecord> | undefined,
  now: Date,
): ShardOverview {
  const { shards, baseLeaseName } = sharding;
  const perShard = new Map<string, number>();
  const unknown = new Map<string, number>();
  let unassigned = 0;
  for (const c of counts) {
    if (c.shard === null || !shards) unassigned += c.instances;
    else if (shards.includes(c.shard)) perShard.set(c.shard, (perShard.get(c.shard) ?? 0) + c.instances);
    else unknown.set(c.shard, (unknown.get(c.shard) ?? 0) + c.instances);
  }
  const view = (name: string | null, lease: string, instances: number, isDefault: boolean): ShardView => {
    const record = leases?.get(lease);
    return {
      name,
      default: isDefault,
      lease,
      holder: record?.holder || null,
      live: leases ? Boolean(record && leaseIsFresh(record, now)) : null,
      instances,
    };
  };
  const views = shards
    ? shards.map((s) => view(s, shardLeaseName(baseLeaseName, s, shards), (perShard.get(s) ?? 0) + (s === defaultShard(shards) ? unassigned : 0), s === defaultShard(shards)))
    : [view(null, baseLeaseName, unassigned, true)];
  const unknownList = [...unknown].map(([name, instances]) => ({ name, instances })).sort((a, b) => a.name.localeCompare(b.name));
  const unowned = leases ? views.filter((v) => !v.live).reduce((n, v) => n + v.instances, 0) + unknownList.reduce((n, u) => n + u.instances, 0) : null;
  return { sharded: Boolean(shards), shards: views, unknown: unknownList, unowned };
}

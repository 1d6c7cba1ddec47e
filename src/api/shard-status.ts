// GET /shards and caelus_shard_instances: instances per shard (from the
// database, where the API records each new instance's shard) and whether a
// live operator holds each shard's Lease (from the cluster, when the API has
// access to it).
import type { KubeConfig } from '@kubernetes/client-node';
import type { Kysely } from 'kysely';
import type { ShardingConfig } from '../config/shards.ts';
import { countInstancesByShard } from '../db/repositories/shards.ts';
import type { Database } from '../db/schema.ts';
import { shardOverview, type LeaseRecord, type ShardList, type ShardOverview } from '../domain/shard.ts';
import { readLeases } from '../k8s/leader-election.ts';

/** What the API knows of the install's sharding: the list new instances are assigned over, and where the Leases are. */
export interface ApiSharding {
  /** CAELUS_SHARDS; undefined: not sharded (one operator, one Lease). */
  shards: ShardList | undefined;
  leaseNamespace: string;
  baseLeaseName: string;
  /** Reads the Leases in leaseNamespace; undefined without cluster access (liveness then unknown). */
  leases?: (namespace: string) => Promise<ReadonlyMap<string, LeaseRecord>>;
}

export function apiSharding(config: ShardingConfig | undefined, defaults: { leaseNamespace: string; baseLeaseName: string }, kc: KubeConfig | undefined): ApiSharding {
  return {
    shards: config?.shards,
    leaseNamespace: config?.leaseNamespace ?? defaults.leaseNamespace,
    baseLeaseName: config?.baseLeaseName ?? defaults.baseLeaseName,
    ...(kc ? { leases: (ns: string) => readLeases(kc, ns) } : {}),
  };
}

export async function readShardOverview(db: Kysely<Database>, sharding: ApiSharding, now = new Date()): Promise<ShardOverview> {
  const [counts, leases] = await Promise.all([countInstancesByShard(db), sharding.leases?.(sharding.leaseNamespace)]);
  return shardOverview({ shards: sharding.shards, baseLeaseName: sharding.baseLeaseName }, counts, leases, now);
}

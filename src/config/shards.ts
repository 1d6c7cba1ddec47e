// Sharding settings shared by `caelus operator` (which shard this process
// runs) and `caelus api` (the list new instances are assigned over, and the
// Leases GET /shards reads). Validated once at start.
import { SHARD_NAME_PATTERN, type ShardList } from '../domain/shard.ts';
import { ConfigError } from './errors.ts';

type Env = Record<string, string | undefined>;

export const SHARDS_ENV = 'CAELUS_SHARDS';
export const SHARD_ENV = 'CAELUS_SHARD';
export const LEASE_NAMESPACE_ENV = 'CAELUS_LEASE_NAMESPACE';
export const LEASE_NAME_ENV = 'CAELUS_LEASE_NAME';
export const DEFAULT_LEASE_NAMESPACE = 'caelus-system';
export const DEFAULT_LEASE_NAME = 'caelus-operator';

export interface ShardingConfig {
  /** CAELUS_SHARDS, in order; the first is the default shard. */
  shards: ShardList;
  /** Where the shards' Leases live and the name they are derived from (CAELUS_LEASE_NAMESPACE / CAELUS_LEASE_NAME). */
  leaseNamespace: string;
  baseLeaseName: string;
}

/** CAELUS_SHARDS as a list; undefined when unset (no sharding: today's single operator). */
export function shardList(env: Env): ShardList | undefined {
  const raw = env[SHARDS_ENV]?.trim();
  if (!raw) return undefined;
  const names = raw.split(',').map((s) => s.trim());
  const seen = new Set<string>();
  for (const name of names) {
    if (!SHARD_NAME_PATTERN.test(name)) {
      throw new ConfigError(SHARDS_ENV, `"${name}" is not a shard name (lowercase letters, digits and '-', at most 40, starting and ending alphanumeric)`);
    }
    if (seen.has(name)) throw new ConfigError(SHARDS_ENV, `"${name}" is listed twice`);
    seen.add(name);
  }
  return names as unknown as ShardList;
}

/** The sharding of an install as the API sees it; undefined without CAELUS_SHARDS. */
export function shardingConfig(env: Env): ShardingConfig | undefined {
  const shards = shardList(env);
  if (!shards) return undefined;
  return {
    shards,
    leaseNamespace: env[LEASE_NAMESPACE_ENV]?.trim() || DEFAULT_LEASE_NAMESPACE,
    baseLeaseName: env[LEASE_NAME_ENV]?.trim() || DEFAULT_LEASE_NAME,
  };
}

/** Which shard this operator process runs: `--shard` / CAELUS_SHARD, one of CAELUS_SHARDS; undefined when neither is set. */
export function operatorShard(flag: string | undefined, env: Env): { shard: string; shards: ShardList } | undefined {
  const shard = (flag ?? env[SHARD_ENV])?.trim() || undefined;
  const shards = shardList(env);
  if (!shard && !shards) return undefined;
  if (!shards) throw new ConfigError(`--shard / ${SHARD_ENV}`, `names shard "${shard}", but ${SHARDS_ENV} (the list of all shards) is not set`);
  if (!shard) throw new ConfigError(`--shard / ${SHARD_ENV}`, `${SHARDS_ENV} is set, so this operator must be told which of them it runs (one of ${shards.join(', ')})`);
  if (!shards.includes(shard)) throw new ConfigError(`--shard / ${SHARD_ENV}`, `"${shard}" is not one of ${SHARDS_ENV} (${shards.join(', ')})`);
  return { shard, shards };
}

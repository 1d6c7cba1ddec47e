// `caelus operator` settings: flags win over environment variables, which win
// over defaults; validated once at start so a typo fails fast with its name.
import { hostname } from 'node:os';
import { shardLeaseName, type ShardList } from '../domain/shard.ts';
import { ConfigError } from './errors.ts';
import { guardrailsConfig, type GuardrailsConfig } from './guardrails.ts';
import { DEFAULT_LEASE_NAME, DEFAULT_LEASE_NAMESPACE, operatorShard } from './shards.ts';

export interface OperatorConfig {
  kubeconfig: string | undefined;
  /** Instances reconciled at once. */
  concurrency: number;
  leaderElection: boolean;
  leaseNamespace: string;
  /** The Lease this process's replicas compete for: CAELUS_LEASE_NAME, per shard derived from it (src/domain/shard.ts). */
  leaseName: string;
  /** The shard this process runs (`--shard` / CAELUS_SHARD) and all shards (CAELUS_SHARDS); undefined = not sharded. */
  shard: { name: string; shards: ShardList } | undefined;
  /** This replica's name in the Lease. */
  identity: string;
  /** YAML/JSON template catalog; without it the database is the catalog. */
  catalogFile: string | undefined;
  /** helm binary; default `helm` on PATH. */
  helmBin: string;
  helmTimeoutSeconds: number;
  /**
   * Helm 3 --atomic / Helm 4 --rollback-on-failure. Both make helm wait for
   * workloads to be ready, so a control plane without kubelets (caelus dev,
   * tests) turns it off.
   */
  helmRollbackOnFailure: boolean;
  leaseDurationSeconds: number;
  /** node-cron schedule of the full drift check (re-checks every object, even unchanged ones). */
  driftFullCheckSchedule: string;
  /** Kinds watched for event-driven drift detection (`apiVersion/Kind/plural`, comma-separated); default: see src/drift/watches.ts. */
  driftWatchedKinds: string | undefined;
  /** Every instance is reconciled at least this often. */
  resyncSeconds: number;
  /** First retry delay after a failed reconcile (doubles per failure). */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Port for /metrics, /healthz, /readyz; 0 picks a free one. */
  metricsPort: number;
  metricsHost: string;
  /** Tiers, network isolation, kinds allow-list, lifecycle schedule: environment only (src/config/guardrails.ts). */
  guardrails: GuardrailsConfig;
}

/** Settings that have a flag/env pair of their own. */
type SettingKey = Exclude<keyof OperatorConfig, 'guardrails' | 'shard'>;

export type OperatorFlags = Partial<Record<SettingKey, string | boolean | undefined>> & { shard?: string | undefined };
type Env = Record<string, string | undefined>;

const ENV: Record<SettingKey, string> = {
  kubeconfig: 'KUBECONFIG',
  concurrency: 'CAELUS_CONCURRENCY',
  leaderElection: 'CAELUS_LEADER_ELECTION',
  leaseNamespace: 'CAELUS_LEASE_NAMESPACE',
  leaseName: 'CAELUS_LEASE_NAME',
  identity: 'CAELUS_IDENTITY',
  catalogFile: 'CAELUS_CATALOG',
  helmBin: 'HELM_BIN',
  helmTimeoutSeconds: 'CAELUS_HELM_TIMEOUT_SECONDS',
  helmRollbackOnFailure: 'CAELUS_HELM_ROLLBACK_ON_FAILURE',
  leaseDurationSeconds: 'CAELUS_LEASE_DURATION_SECONDS',
  resyncSeconds: 'CAELUS_RESYNC_SECONDS',
  driftFullCheckSchedule: 'CAELUS_DRIFT_FULL_CHECK_SCHEDULE',
  driftWatchedKinds: 'CAELUS_DRIFT_WATCH_KINDS',
  backoffBaseMs: 'CAELUS_BACKOFF_BASE_MS',
  backoffMaxMs: 'CAELUS_BACKOFF_MAX_MS',
  metricsPort: 'CAELUS_METRICS_PORT',
  metricsHost: 'CAELUS_METRICS_HOST',
};

function pick(key: SettingKey, flags: OperatorFlags, env: Env): string | boolean | undefined {
  const flag = flags[key];
  if (flag !== undefined) return flag;
  const fromEnv = env[ENV[key]];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

function int(key: SettingKey, raw: string | boolean | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`--${kebab(key)} / ${ENV[key]}`, `must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function bool(key: SettingKey, raw: string | boolean | undefined, def: boolean): boolean {
  if (raw === undefined) return def;
  if (typeof raw === 'boolean') return raw;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(`--${kebab(key)} / ${ENV[key]}`, `must be true or false, got ${JSON.stringify(raw)}`);
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const text = (raw: string | boolean | undefined): string | undefined => (typeof raw === 'string' ? raw : undefined);

export function operatorConfig(flags: OperatorFlags = {}, env: Env = process.env): OperatorConfig {
  const p = (k: SettingKey) => pick(k, flags, env);
  const backoffBaseMs = int('backoffBaseMs', p('backoffBaseMs'), 1_000, 1, 600_000);
  const backoffMaxMs = int('backoffMaxMs', p('backoffMaxMs'), 300_000, 1, 3_600_000);
  if (backoffMaxMs < backoffBaseMs) throw new ConfigError('CAELUS_BACKOFF_MAX_MS', 'must not be below CAELUS_BACKOFF_BASE_MS');
  const sharding = operatorShard(flags.shard, env);
  const baseLeaseName = text(p('leaseName')) ?? DEFAULT_LEASE_NAME;
  return {
    kubeconfig: text(p('kubeconfig')),
    concurrency: int('concurrency', p('concurrency'), 8, 1, 256),
    leaderElection: bool('leaderElection', p('leaderElection'), true),
    leaseNamespace: text(p('leaseNamespace')) ?? DEFAULT_LEASE_NAMESPACE,
    leaseName: sharding ? shardLeaseName(baseLeaseName, sharding.shard, sharding.shards) : baseLeaseName,
    shard: sharding && { name: sharding.shard, shards: sharding.shards },
    identity: text(p('identity')) ?? `${hostname()}-${process.pid}`,
    catalogFile: text(p('catalogFile')),
    helmBin: text(p('helmBin')) ?? 'helm',
    helmTimeoutSeconds: int('helmTimeoutSeconds', p('helmTimeoutSeconds'), 300, 1, 3600),
    helmRollbackOnFailure: bool('helmRollbackOnFailure', p('helmRollbackOnFailure'), true),
    leaseDurationSeconds: int('leaseDurationSeconds', p('leaseDurationSeconds'), 15, 2, 300),
    driftFullCheckSchedule: text(p('driftFullCheckSchedule')) ?? '*/10 * * * *',
    driftWatchedKinds: text(p('driftWatchedKinds')),
    resyncSeconds: int('resyncSeconds', p('resyncSeconds'), 600, 1, 86_400),
    backoffBaseMs,
    backoffMaxMs,
    metricsPort: int('metricsPort', p('metricsPort'), 8080, 0, 65_535),
    metricsHost: text(p('metricsHost')) ?? '0.0.0.0',
    guardrails: guardrailsConfig(env),
  };
}

// What route handlers get: the database and the optional collaborators.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ChartChecker } from './chart-check.ts';
import type { LiveStatusReader } from './live-status.ts';
import type { InstanceClusterReader } from './cluster-insight.ts';
import type { ChangeFeed } from '../db/change-feed.ts';
import type { SecretBox } from '../db/secret-box.ts';
import type { ChartPinning } from '../charts/pin.ts';
import type { RateLimitSettings } from '../config/api.ts';
import type { ApiSharding } from './shard-status.ts';

export interface ApiDeps {
  db: Kysely<Database>;
  logger: Logger;
  metrics: Pick<Metrics, 'registry' | 'apiRequestDuration'>;
  /** Renders a new template version's chart before it is accepted. */
  chartChecker: ChartChecker;
  /** Default maximum of live instances per user (an admin can override it per user). */
  maxInstancesPerUser: number;
  /** Largest request body, bytes; default 256 KiB. */
  bodyLimitBytes?: number;
  /** With cluster access: conditions and drift read live from the CR. */
  liveStatus?: LiveStatusReader;
  /** With cluster access: an instance's Events, Helm history, release objects and quota use; without, those routes answer 503. */
  cluster?: InstanceClusterReader;
  /** LISTEN on `caelus_instance_events` (instanceEventFeed): drives GET /changes; without it that route answers 503. */
  changeFeed?: ChangeFeed;
  /** Keepalive (and token re-check) interval of change streams; default 15 s. */
  changeKeepaliveMs?: number;
  /**
   * Scheduled purge of expired Idempotency-Key rows while the server is open
   * (src/api/idempotency-purge.ts); default hourly, 24 h retention; false: none.
   */
  idempotencyPurge?: { schedule: string; retentionMs: number } | false;
  /** Seals instance secrets and chart credentials (CAELUS_ENCRYPTION_KEYS); without it those routes answer 503. */
  secretBox?: SecretBox;
  /** Pulls remote charts once at publish and pins them (src/charts); without it remote charts cannot be published. */
  charts?: ChartPinning;
  /** An Idempotency-Key claim without a response older than this was left by a dead request and is taken over; default 60 s. */
  idempotencyClaimTtlMs?: number;
  /** Domain suffixes tenants may use when a template version declares none (CAELUS_DOMAIN_SUFFIXES); default none. */
  domainSuffixes?: readonly string[];
  /**
   * Reverse-proxy hops whose X-Forwarded-For names the client (CAELUS_API_TRUST_PROXY_HOPS);
   * default 0. Behind an ingress, set it: otherwise every client shares the proxy's
   * address and so one failed-authentication budget.
   */
  trustProxyHops?: number;
  /** The built web console served at /ui/; default ui/dist of this checkout. */
  consoleDir?: string;
  /** Request limits (src/api/rate-limit.ts); default RATE_LIMIT_DEFAULTS; false: none. */
  rateLimit?: RateLimitSettings | false;
  /** CAELUS_SHARDS (new instances are assigned a shard) and the Leases GET /shards reads; default: not sharded. */
  sharding?: ApiSharding;
}

// What route handlers get: the database and the optional collaborators.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ChartChecker } from './chart-check.ts';
import type { LiveStatusReader } from './live-status.ts';
import type { SecretBox } from '../db/secret-box.ts';
import type { ChartPinning } from '../charts/pin.ts';

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
  /**
   * Scheduled purge of expired Idempotency-Key rows while the server is open
   * (src/api/idempotency-purge.ts); default hourly, 24 h retention; false: none.
   */
  idempotencyPurge?: { schedule: string; retentionMs: number } | false;
  /** Seals instance secrets and chart credentials (CAELUS_ENCRYPTION_KEYS); without it those routes answer 503. */
  secretBox?: SecretBox;
  /** Pulls remote charts once at publish and pins them (src/charts); without it remote charts cannot be published. */
  charts?: ChartPinning;
}

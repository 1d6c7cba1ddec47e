// Expired Idempotency-Key rows are deleted on a node-cron schedule in the API
// process. The API is the table's only reader and writer (the operator never
// touches it), and `caelus api` may run without an operator at all, so the
// purge lives where the keys are made. It needs no leader: every replica
// running the same age-based DELETE is harmless (a row is deleted once; the
// others find nothing).
import cron, { type ScheduledTask } from 'node-cron';
import type { Kysely } from 'kysely';
import { purgeIdempotencyKeys } from '../db/repositories/idempotency.ts';
import type { Database } from '../db/schema.ts';
import type { Logger } from '../observability/logger.ts';

export interface IdempotencyPurgeOptions {
  db: Kysely<Database>;
  /** node-cron expression (5 fields, or 6 with seconds). */
  schedule: string;
  /** Keys older than this are deleted; a retry within it still replays. */
  retentionMs: number;
  log: Logger;
}

/** One purge: deletes keys created more than `retentionMs` before `now`; returns how many. */
export async function purgeExpiredIdempotencyKeys(db: Kysely<Database>, retentionMs: number, now: Date = new Date()): Promise<number> {
  return purgeIdempotencyKeys(db, new Date(now.getTime() - retentionMs));
}

export function startIdempotencyPurge(opts: IdempotencyPurgeOptions): { task: ScheduledTask; stop(): Promise<void> } {
  const log = opts.log.child({ component: 'idempotency-purge' });
  const task = cron.schedule(
    opts.schedule,
    async () => {
      try {
        const purged = await purgeExpiredIdempotencyKeys(opts.db, opts.retentionMs);
        if (purged > 0) log.info({ purged, retentionMs: opts.retentionMs }, 'purged expired idempotency keys');
      } catch (err) {
        // The next run retries; a failed purge only leaves rows a little longer.
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'idempotency key purge failed');
      }
    },
    { name: 'caelus-idempotency-purge', noOverlap: true },
  );
  return {
    task,
    stop: async () => {
      await task.stop();
      await task.destroy();
    },
  };
}

// Expired Idempotency-Key rows are purged: the age-based DELETE itself, the
// node-cron job that runs it, and the API server that starts the job on
// listen and stops it on close. On PGlite and PostgreSQL.
import { sql } from 'kysely';
import { purgeExpiredIdempotencyKeys, startIdempotencyPurge } from '../../src/api/idempotency-purge.ts';
import { buildApiServer } from '../../src/api/server.ts';
import { claimIdempotencyKey, completeIdempotencyKey, requestHash } from '../../src/db/repositories/idempotency.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { eventually } from '../support/kube.ts';

const HOUR = 3600_000;
const hash = requestHash('POST', '/instances', { templateVersionId: 'webapp@1.0.0' });

async function claim(h: TestDatabase, actor: string, key: string, complete = true): Promise<void> {
  expect(await claimIdempotencyKey(h.db, { actor, key, requestHash: hash })).toEqual({ kind: 'claimed' });
  if (complete) await completeIdempotencyKey(h.db, { actor, key, response: { status: 201, body: { id: key } } });
}

/** Moves a key's creation time into the past (keys are only ever created "now"). */
async function age(h: TestDatabase, actor: string, key: string, ms: number): Promise<void> {
  await h.db
    .updateTable('idempotency_key')
    .set({ created_at: sql`now() - make_interval(secs => ${ms / 1000})` } as never)
    .where('actor', '=', actor)
    .where('key', '=', key)
    .execute();
}

async function keys(h: TestDatabase): Promise<string[]> {
  return (await h.db.selectFrom('idempotency_key').select(['actor', 'key']).orderBy('actor').orderBy('key').execute()).map((r) => `${r.actor}/${r.key}`);
}

describe.each(testDatabases())('idempotency key purge on $name', ({ create }) => {
  let h: TestDatabase;
  beforeAll(async () => {
    h = await create();
  });
  afterAll(async () => {
    await h?.destroy();
  });
  beforeEach(async () => {
    await h.db.deleteFrom('idempotency_key').execute();
  });

  test('deletes keys older than the retention (answered or stuck in progress), keeps younger ones; a purged key can be used again', async () => {
    await claim(h, 'token:a', 'old-done');
    await claim(h, 'token:a', 'old-stuck', false);
    await claim(h, 'token:b', 'young');
    await claim(h, 'token:b', 'edge');
    await age(h, 'token:a', 'old-done', 25 * HOUR);
    await age(h, 'token:a', 'old-stuck', 48 * HOUR);
    await age(h, 'token:b', 'edge', 23 * HOUR);

    expect(await purgeExpiredIdempotencyKeys(h.db, 24 * HOUR)).toBe(2);
    expect(await keys(h)).toEqual(['token:b/edge', 'token:b/young']);
    // Within the retention a retry still replays; after the purge the key is free for a new request.
    expect(await claimIdempotencyKey(h.db, { actor: 'token:b', key: 'young', requestHash: hash })).toMatchObject({ kind: 'replay' });
    expect(await claimIdempotencyKey(h.db, { actor: 'token:a', key: 'old-done', requestHash: hash })).toEqual({ kind: 'claimed' });
    expect(await purgeExpiredIdempotencyKeys(h.db, 24 * HOUR)).toBe(0);
  });

  test('the node-cron job purges on its schedule and stops when asked', async () => {
    await claim(h, 'token:c', 'expired');
    await claim(h, 'token:c', 'fresh');
    await age(h, 'token:c', 'expired', 2 * HOUR);
    const job = startIdempotencyPurge({ db: h.db, schedule: '* * * * * *', retentionMs: HOUR, log: silentLogger() });
    try {
      await eventually(async () => ((await keys(h)).includes('token:c/expired') ? undefined : true), 10_000, 100);
      expect(await keys(h)).toEqual(['token:c/fresh']);
    } finally {
      await job.stop();
    }
    await claim(h, 'token:c', 'after-stop');
    await age(h, 'token:c', 'after-stop', 2 * HOUR);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await keys(h)).toContain('token:c/after-stop');
  });

  test('the API server runs the purge while open and stops it on close', async () => {
    const app = await buildApiServer({
      db: h.db,
      logger: silentLogger(),
      metrics: createMetrics(),
      chartChecker: { check: async () => undefined },
      maxInstancesPerUser: 10,
      idempotencyPurge: { schedule: '* * * * * *', retentionMs: HOUR },
    });
    try {
      await claim(h, 'token:d', 'expired');
      await age(h, 'token:d', 'expired', 2 * HOUR);
      await eventually(async () => ((await keys(h)).length === 0 ? true : undefined), 10_000, 100);
    } finally {
      await app.close();
    }
    await claim(h, 'token:d', 'after-close');
    await age(h, 'token:d', 'after-close', 2 * HOUR);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await keys(h)).toEqual(['token:d/after-close']);
  });
});

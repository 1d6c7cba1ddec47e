// A short concurrent load on create/list/get over real HTTP, printing p50/p99
// per operation (DESIGN §8: figures are printed, never asserted as timings).
// Bounded: a fixed number of requests against 127.0.0.1 only.
import type { ChartChecker } from '../../src/api/chart-check.ts';
import { publishWebapp, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { runApiLoad } from '../../bench/lib/api-load.ts';
import { percentile } from '../../bench/lib/stats.ts';

const USERS = 10;
const CREATES_PER_USER = 10;
const CONCURRENCY = 16;
const acceptAll: ChartChecker = { check: async () => undefined };

describe.each(testDatabases())('API under concurrent load on $name', ({ name: dialect, create }) => {
  let h: TestDatabase;
  let api: ApiHarness;
  beforeAll(async () => {
    h = await create();
    api = await startApi(h, { chartChecker: acceptAll, maxInstancesPerUser: CREATES_PER_USER });
    await publishWebapp(api, 'webapp', ['1.0.0']);
  });
  afterAll(async () => {
    await api?.close();
    await h?.destroy();
  });

  test(`${USERS} users × ${CREATES_PER_USER} creates, then lists and gets, ${CONCURRENCY} requests in flight: all succeed; p50/p99 printed`, async () => {
    const tokens = await Promise.all(Array.from({ length: USERS }, (_, i) => api.userToken(`load-${i}`)));
    // The same load generator as `npm run bench -- api`; any non-2xx answer rejects.
    const load = await runApiLoad({ call: (method, path, o) => api.call(method, path, o), tokens, templateVersionId: 'webapp@1.0.0', createsPerUser: CREATES_PER_USER, concurrency: CONCURRENCY });

    expect(load.created).toBe(USERS * CREATES_PER_USER);
    for (const [op, xs] of Object.entries(load.latencyMs)) {
      console.log(`[figure] ${dialect}: API ${op} ×${xs.length} at concurrency ${CONCURRENCY}: p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms`);
    }
  });
});

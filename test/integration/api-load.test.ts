// A short concurrent load on create/list/get over real HTTP, printing p50/p99
// per operation (DESIGN §8: figures are printed, never asserted as timings).
// Bounded: a fixed number of requests against 127.0.0.1 only.
import type { ChartChecker } from '../../src/api/chart-check.ts';
import { publishWebapp, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';

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
    const lat: Record<'create' | 'list' | 'get', number[]> = { create: [], list: [], get: [] };
    const ids: Array<[string, string]> = [];
    const timed = async (op: keyof typeof lat, method: string, path: string, token: string, body?: unknown) => {
      const t0 = performance.now();
      const r = await api.call(method, path, { token, ...(body === undefined ? {} : { body }) });
      lat[op].push(performance.now() - t0);
      if (r.status >= 300) throw new Error(`${op} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r;
    };

    const creates = tokens.flatMap((token) => Array.from({ length: CREATES_PER_USER }, () => token));
    await pool(creates, CONCURRENCY, async (token) => {
      const r = await timed('create', 'POST', '/instances', token, { templateVersionId: 'webapp@1.0.0', values: { replicaCount: 1 } });
      ids.push([token, r.body.id]);
    });
    await pool(ids, CONCURRENCY, async ([token, id]) => {
      await timed('get', 'GET', `/instances/${id}`, token);
      await timed('list', 'GET', '/instances?limit=20', token);
    });

    expect(ids).toHaveLength(USERS * CREATES_PER_USER);
    for (const [op, xs] of Object.entries(lat)) {
      console.log(`[figure] ${dialect}: API ${op} ×${xs.length} at concurrency ${CONCURRENCY}: p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms`);
    }
  });
});

async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

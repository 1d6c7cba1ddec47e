// A concurrent create/list/get load on the REST API, shared by the API
// benchmark (bench/scenarios/api.ts, against `caelus api`) and the
// integration test test/integration/api-load.test.ts (in-process server).
import { pool } from './load.ts';

export type ApiCall = (method: string, path: string, opts: { token: string; body?: unknown }) => Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON bodies

export const ApiRoute = { Create: 'create', Get: 'get', List: 'list' } as const;
export type ApiRoute = (typeof ApiRoute)[keyof typeof ApiRoute];

export interface ApiLoadOptions {
  call: ApiCall;
  /** One user token per simulated tenant. */
  tokens: readonly string[];
  templateVersionId: string;
  createsPerUser: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** GET /instances/{id} and GET /instances per created instance. */
  readsPerInstance?: number;
}

export interface ApiLoadResult {
  /** Milliseconds per request, by route. */
  latencyMs: Record<ApiRoute, number[]>;
  /** Wall time of each phase (creates; then gets and lists mixed), ms. */
  phaseMs: { create: number; read: number };
  created: number;
}

/**
 * Creates `createsPerUser` instances for every token, then reads each one back
 * (get + list, `readsPerInstance` times). Any non-2xx answer fails the run with
 * the route and the problem body: figures from a run with errors mean nothing.
 */
export async function runApiLoad(o: ApiLoadOptions): Promise<ApiLoadResult> {
  const latencyMs: Record<ApiRoute, number[]> = { create: [], get: [], list: [] };
  const timed = async (route: ApiRoute, method: string, path: string, token: string, body?: unknown) => {
    const t0 = performance.now();
    const r = await o.call(method, path, { token, ...(body === undefined ? {} : { body }) });
    latencyMs[route].push(performance.now() - t0);
    if (r.status >= 300) throw new Error(`${route} ${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  };
  const ids: Array<[string, string]> = [];
  const creates = o.tokens.flatMap((token) => Array.from({ length: o.createsPerUser }, () => token));
  const t0 = performance.now();
  await pool(creates, o.concurrency, async (token) => {
    const r = await timed(ApiRoute.Create, 'POST', '/instances', token, { templateVersionId: o.templateVersionId, values: { replicaCount: 1 } });
    ids.push([token, String(r.body.id)]);
  });
  const t1 = performance.now();
  const reads = Array.from({ length: o.readsPerInstance ?? 1 }, () => ids).flat();
  await pool(reads, o.concurrency, async ([token, id]) => {
    await timed(ApiRoute.Get, 'GET', `/instances/${id}`, token);
    await timed(ApiRoute.List, 'GET', '/instances?limit=20', token);
  });
  return { latencyMs, phaseMs: { create: t1 - t0, read: performance.now() - t1 }, created: ids.length };
}

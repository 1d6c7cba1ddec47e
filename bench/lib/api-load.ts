// A concurrent create/list/get load on the REST API, shared by the API
// benchmark (bench/scenarios/api.ts, against `caelus api`) and the
// integration test test/integration/api-load.test.ts (in-process server).
import { pool } from './load.ts';
import { runOpenLoop, summarizeOpenLoop } from './open-loop.ts';

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

/** The open-loop mix of `npm run bench -- api --rate`: mostly reads, as a console and scripts produce. */
export type ApiMix = Record<ApiRoute, number>;
export const DEFAULT_API_MIX: ApiMix = { get: 70, list: 20, create: 10 };

/** `70,28,2` → get 70, list 28, create 2: whole weights, not all zero. */
export function parseApiMix(text: string): ApiMix {
  const parts = text.split(',').map((x) => (x.trim() === '' ? NaN : Number(x.trim())));
  if (parts.length !== 3 || parts.some((x) => !Number.isInteger(x) || x < 0) || parts.every((x) => x === 0)) {
    throw new Error(`--mix takes three whole weights, get,list,create (e.g. 70,20,10), not ${JSON.stringify(text)}`);
  }
  const [get, list, create] = parts as [number, number, number];
  return { get, list, create };
}

export interface ApiRateOptions {
  call: ApiCall;
  tokens: readonly string[];
  templateVersionId: string;
  /** Instances that exist before the run, with the token of their owner: what the gets read. */
  seeded: ReadonlyArray<readonly [token: string, id: string]>;
  rate: number;
  durationMs: number;
  mix?: Record<ApiRoute, number>;
}

/**
 * Requests at a fixed rate (bench/lib/open-loop.ts): gets of seeded instances
 * by their owner, first pages of a tenant's list, creates spread over the
 * tenants. Every request of kind k goes round the tenants, so the per-token
 * work is even. A non-2xx answer is an error of the run, not a latency.
 */
export async function runApiRateLoad(o: ApiRateOptions) {
  const mix = o.mix ?? DEFAULT_API_MIX;
  if (o.seeded.length === 0) throw new Error('the rate load reads seeded instances: seed at least one');
  const ok = (r: { status: number; body: unknown }, what: string) => (r.status < 300 ? ({ ok: true } as const) : ({ ok: false, error: `${what}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}` } as const));
  const samples = await runOpenLoop<ApiRoute>({
    rate: o.rate,
    durationMs: o.durationMs,
    mix,
    send: async (kind, i) => {
      const token = o.tokens[i % o.tokens.length]!;
      switch (kind) {
        case ApiRoute.Get: {
          const [owner, id] = o.seeded[i % o.seeded.length]!;
          return ok(await o.call('GET', `/instances/${id}`, { token: owner }), 'GET /instances/{id}');
        }
        case ApiRoute.List:
          return ok(await o.call('GET', '/instances?limit=20', { token }), 'GET /instances');
        case ApiRoute.Create:
          return ok(await o.call('POST', '/instances', { token, body: { templateVersionId: o.templateVersionId, values: { replicaCount: 1 } } }), 'POST /instances');
      }
    },
  });
  return { mix, report: summarizeOpenLoop(samples, Object.keys(mix) as ApiRoute[]) };
}

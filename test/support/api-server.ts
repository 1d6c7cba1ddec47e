// Runs the real REST API in-process on 127.0.0.1:0 over a test database, and
// talks to it with real HTTP (fetch). Templates point at charts/webapp and
// the chart check runs the real helm.
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { HelmChartChecker, type ChartChecker } from '../../src/api/chart-check.ts';
import type { LiveStatusReader } from '../../src/api/live-status.ts';
import type { InstanceClusterReader } from '../../src/api/cluster-insight.ts';
import { instanceEventFeed } from '../../src/db/change-feed.ts';
import type { RateLimitSettings } from '../../src/config/api.ts';
import { buildApiServer } from '../../src/api/server.ts';
import { createApiToken } from '../../src/db/repositories/tokens.ts';
import { HelmClient } from '../../src/helm/index.ts';
import { silentLogger, createLogger, type Logger } from '../../src/observability/logger.ts';
import { createMetrics, type Metrics } from '../../src/observability/metrics.ts';
import type { TestDatabase } from './database.ts';
import type { SecretBox } from '../../src/db/secret-box.ts';
import type { ChartPinning } from '../../src/charts/pin.ts';
import type { ApiSharding } from '../../src/api/shard-status.ts';
import { helmBin, helmEnv } from './kube.ts';

export const WEBAPP_CHART = fileURLToPath(new URL('../../charts/webapp', import.meta.url));

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, else the text. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests poke into arbitrary JSON
}

export interface CallOptions {
  token?: string | undefined;
  /** JSON-encoded unless `raw` is given. */
  body?: unknown;
  /** Sent as is with content-type application/json (malformed JSON tests). */
  raw?: string;
  headers?: Record<string, string>;
}

export interface ApiHarness {
  url: string;
  app: FastifyInstance;
  metrics: Metrics;
  /** An admin token (no user). */
  admin: string;
  /** A user token acting for `userId` (one per user, cached). */
  userToken(userId: string): Promise<string>;
  call(method: string, path: string, opts?: CallOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

let sharedChecker: ChartChecker | undefined;
export function realChartChecker(): ChartChecker {
  sharedChecker ??= new HelmChartChecker(
    new HelmClient({
      binary: helmBin(),
      env: helmEnv(),
    }),
  );
  return sharedChecker;
}

export async function startApi(
  h: TestDatabase,
  opts: {
    maxInstancesPerUser?: number;
    chartChecker?: ChartChecker;
    liveStatus?: LiveStatusReader;
    /** Platform default domain suffixes; tests default to *.example.com. */
    domainSuffixes?: string[];
    rateLimit?: RateLimitSettings | false;
    trustProxyHops?: number;
    secretBox?: SecretBox;
    charts?: ChartPinning;
    logger?: Logger;
    sharding?: ApiSharding;
    /** The built console to serve at /ui/ (default ui/dist). */
    consoleDir?: string;
    /** Cluster reads for the console routes (events, history, objects, quota). */
    cluster?: InstanceClusterReader;
    /** Serve GET /changes from the test database's notifications; keepalive interval in ms. */
    changes?: { keepaliveMs?: number };
  } = {},
): Promise<ApiHarness> {
  const metrics = createMetrics();
  const app = await buildApiServer({
    db: h.db,
    logger: opts.logger ?? (process.env['CAELUS_TEST_LOGS'] ? createLogger({ level: 'debug' }) : silentLogger()),
    metrics,
    chartChecker: opts.chartChecker ?? realChartChecker(),
    maxInstancesPerUser: opts.maxInstancesPerUser ?? 10,
    ...(opts.liveStatus ? { liveStatus: opts.liveStatus } : {}),
    ...(opts.secretBox ? { secretBox: opts.secretBox } : {}),
    ...(opts.charts ? { charts: opts.charts } : {}),
    domainSuffixes: opts.domainSuffixes ?? ['*.example.com'],
    ...(opts.rateLimit === undefined ? {} : { rateLimit: opts.rateLimit }),
    ...(opts.trustProxyHops === undefined ? {} : { trustProxyHops: opts.trustProxyHops }),
    ...(opts.sharding ? { sharding: opts.sharding } : {}),
    ...(opts.consoleDir ? { consoleDir: opts.consoleDir } : {}),
    ...(opts.cluster ? { cluster: opts.cluster } : {}),
    ...(opts.changes
      ? { changeFeed: instanceEventFeed(h, h.url, silentLogger()), ...(opts.changes.keepaliveMs ? { changeKeepaliveMs: opts.changes.keepaliveMs } : {}) }
      : {}),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const admin = (await createApiToken(h.db, { name: 'test-admin', role: 'admin' }, { actor: 'test' })).token;
  const tokens = new Map<string, Promise<string>>();
  const call = async (method: string, path: string, o: CallOptions = {}): Promise<ApiResponse> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers['authorization'] = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(url + path, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed };
  };
  return {
    url,
    app,
    metrics,
    admin,
    userToken: (userId) => {
      let t = tokens.get(userId);
      if (!t) {
        t = createApiToken(h.db, { name: `test-${userId}`, role: 'user', userId }, { actor: 'test' }).then((r) => r.token);
        tokens.set(userId, t);
      }
      return t;
    },
    call,
    close: () => app.close(),
  };
}

/** Creates template `name` with version(s) on charts/webapp through the API (admin). */
export async function publishWebapp(api: ApiHarness, name: string, versions: string[], valuesSchema?: Record<string, unknown>): Promise<{ templateId: string; versionIds: Record<string, string> }> {
  const t = await api.call('POST', '/templates', { token: api.admin, body: { name, description: 'test web app' } });
  if (t.status !== 201) throw new Error(`create template: ${t.status} ${JSON.stringify(t.body)}`);
  const versionIds: Record<string, string> = {};
  for (const version of versions) {
    const v = await api.call('POST', `/templates/${t.body.id}/versions`, {
      token: api.admin,
      body: { version, chart: { kind: 'local', path: WEBAPP_CHART }, defaultValues: { message: `v${version}` }, ...(valuesSchema ? { valuesSchema } : {}) },
    });
    if (v.status !== 201) throw new Error(`create version ${version}: ${v.status} ${JSON.stringify(v.body)}`);
    versionIds[version] = v.body.id;
  }
  return { templateId: t.body.id, versionIds };
}

export const PROBLEM_JSON = /^application\/problem\+json/;

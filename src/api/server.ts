// The REST API as a Fastify instance. buildApiServer wires the cross-cutting
// parts (request ids, auth, problem+json errors, metrics, OpenAPI) and the
// route modules; it does not listen, so tests run it in-process on port 0 and
// `caelus api` on its configured port.
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_IDEMPOTENCY_PURGE_SCHEDULE, DEFAULT_IDEMPOTENCY_RETENTION_HOURS, RATE_LIMIT_DEFAULTS } from '../config/api.ts';
import { authenticate, TokenCache } from './auth.ts';
import type { ApiDeps } from './context.ts';
import { toProblem } from './error-mapping.ts';
import { startIdempotencyPurge } from './idempotency-purge.ts';
import { ApiProblem, PROBLEM_CONTENT_TYPE, ProblemType, problemBody } from './problems.ts';
import { healthRoutes } from './routes/health.ts';
import { instanceRoutes } from './routes/instances.ts';
import { lifecycleRoutes } from './routes/lifecycle.ts';
import { meRoutes } from './routes/me.ts';
import { changeRoutes } from './routes/changes.ts';
import { instanceInsightRoutes } from './routes/instance-insight.ts';
import { quotaRoutes } from './routes/quotas.ts';
import { rolloutRoutes } from './routes/rollouts.ts';
import { templateRoutes } from './routes/templates.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { secretRoutes } from './routes/secrets.ts';
import { chartCredentialRoutes } from './routes/chart-credentials.ts';
import { shardRoutes } from './routes/shards.ts';
import { requestLimits } from './rate-limit.ts';
import { validatorCompiler } from './validation.ts';
import { CONSOLE_PREFIX, consoleRoutes } from './console-static.ts';

/** Routes anyone may call: probes, metrics and the API's own description. */
const PUBLIC_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);
// The console's files are public (they hold no data); its API calls carry the token.
const isPublic = (route: string | undefined): boolean =>
  route === undefined || PUBLIC_ROUTES.has(route) || route === '/docs' || route.startsWith('/docs/') || route === '/' || route === '/ui' || route.startsWith(CONSOLE_PREFIX);

// Accept a caller's request id only if it is short and log-safe; else mint one.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApiServer(deps: ApiDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the app's type the default one the route modules take.
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // While closing, new requests get 503 and keep-alive connections are told to go.
    return503OnClosing: true,
    // request.ip (the failed-authentication budget's key) from X-Forwarded-For only through trusted hops.
    trustProxy: (_address: string, hop: number) => hop < (deps.trustProxyHops ?? 0),
    forceCloseConnections: 'idle',
  });
  app.setValidatorCompiler(validatorCompiler);
  // Security headers on every answer (JSON API, /docs, /ui/): helmet's defaults,
  // whose CSP allows only same-origin scripts and styles (/ui/ sets a stricter one).
  await app.register(helmet, { global: true });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Caelus API',
        version: '1',
        description: 'Product templates and tenant instances. Errors are application/problem+json (RFC 9457).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token from `caelus token create`' } } },
      security: [{ bearer: [] }],
    },
  });
  // staticCSP: the UI's own Content-Security-Policy (hashes of its inline script and style) replaces helmet's on /docs.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  await app.register(rateLimit, { global: false });
  const limits = deps.rateLimit === false ? undefined : requestLimits(app, deps.rateLimit ?? RATE_LIMIT_DEFAULTS);
  const tokens = new TokenCache(deps.db);

  app.addHook('onRequest', async (request) => {
    if (isPublic(request.routeOptions.url)) return;
    await limits?.beforeAuth(request);
    try {
      await authenticate(tokens, request);
    } catch (err) {
      if (err instanceof ApiProblem && err.status === 401) await limits?.authFailed(request);
      throw err;
    }
    await limits?.authenticated(request);
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.apiRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler(async (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toProblem(err);
    if (problem.status >= 500) request.log.error({ err, problemType: problem.type }, 'request failed');
    else request.log.info({ status: problem.status, problemType: problem.type, detail: problem.message }, 'request refused');
    return sendProblem(reply, problem, request);
  });
  app.setNotFoundHandler(async (request, reply) =>
    sendProblem(reply, new ApiProblem(404, ProblemType.NotFound, `no route for ${request.method} ${request.url.split('?')[0]}`), request),
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // Route modules are plugins; they inherit the hooks, validator and error handler set above.
  await app.register(tokenRoutes, { deps, tokens });
  for (const routes of [healthRoutes, templateRoutes, instanceRoutes, lifecycleRoutes, quotaRoutes, secretRoutes, chartCredentialRoutes, rolloutRoutes, meRoutes, instanceInsightRoutes, changeRoutes, shardRoutes]) await app.register(routes, { deps });
  await app.register(consoleRoutes, deps.consoleDir ? { dir: deps.consoleDir } : {});
  // The live-status reader may hold a watch open; it ends with the server.
  const closeLiveStatus = deps.liveStatus?.close?.bind(deps.liveStatus);
  if (closeLiveStatus) app.addHook('onClose', async () => closeLiveStatus());
  if (deps.idempotencyPurge !== false) {
    // Bound to the server's life: `caelus api` and `caelus dev` both get it, app.close() stops it.
    const purge = startIdempotencyPurge({
      db: deps.db,
      schedule: deps.idempotencyPurge?.schedule ?? DEFAULT_IDEMPOTENCY_PURGE_SCHEDULE,
      retentionMs: deps.idempotencyPurge?.retentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_HOURS * 3600_000,
      log: deps.logger,
    });
    app.addHook('onClose', async () => purge.stop());
  }
  await app.ready();
  return app;
}

export function sendProblem(reply: FastifyReply, problem: ApiProblem, request: FastifyRequest): FastifyReply {
  // Serialised here: fastify would otherwise run the route's response schema for this status.
  if (problem.status === 401) reply.header('www-authenticate', 'Bearer realm="caelus"');
  if (problem.retryAfterSeconds !== undefined) reply.header('retry-after', String(problem.retryAfterSeconds));
  return reply
    .code(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problemBody(problem, request.id)));
}

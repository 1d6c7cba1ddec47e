// Request limits with @fastify/rate-limit (its in-memory store, per process).
// Two budgets, so a flood of guesses and a busy client never share one:
// - failed authentications per client IP: once over the limit, that address
//   gets 429 without its tokens being looked up at all (no database work for
//   a brute force), until the window passes;
// - requests per authenticated token, so one tenant's script cannot starve
//   the others.
// Probes, metrics and the API description are not limited (see server.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RateLimitSettings } from '../config/api.ts';
import { principalOf } from './auth.ts';
import { ApiProblem, ProblemType } from './problems.ts';


type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

export interface RequestLimits {
  /** Throws 429 when the caller's IP is already over its failed-authentication budget. */
  beforeAuth(request: FastifyRequest): Promise<void>;
  /** Counts a failed authentication of the caller's IP; throws 429 once it is over the budget. */
  authFailed(request: FastifyRequest): Promise<void>;
  /** Counts a request of the authenticated token; throws 429 once it is over the budget. */
  authenticated(request: FastifyRequest): Promise<void>;
}

/** Needs @fastify/rate-limit registered on `app` (with `global: false`). */
export function requestLimits(app: FastifyInstance, s: RateLimitSettings): RequestLimits {
  const byIp: Limiter = app.createRateLimit({ max: s.authFailuresPerIp, timeWindow: s.windowMs, keyGenerator: (req) => `auth-failure:${req.ip}` });
  const byToken: Limiter = app.createRateLimit({ max: s.perToken, timeWindow: s.windowMs, keyGenerator: (req) => `token:${principalOf(req).tokenId}` });
  const check = async (limiter: Limiter, request: FastifyRequest, increment: boolean, what: string): Promise<void> => {
    const r = await limiter(request, { increment });
    if (r.isAllowed || !r.isExceeded) return;
    throw new ApiProblem(429, ProblemType.RateLimited, `${what}; retry in ${r.ttlInSeconds} s`, {
      retryAfterSeconds: r.ttlInSeconds,
      extensions: { limit: r.max, windowSeconds: Math.round(r.timeWindow / 1000) },
    });
  };
  return {
    beforeAuth: (request) => check(byIp, request, false, `too many failed authentications from ${request.ip}`),
    authFailed: (request) => check(byIp, request, true, `too many failed authentications from ${request.ip}`),
    authenticated: (request) => check(byToken, request, true, 'too many requests with this token'),
  };
}

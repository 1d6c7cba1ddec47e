// Bearer-token authentication and the two roles. Tokens are checked against
// their stored sha256 (src/db/repositories/tokens.ts), through a short-lived
// per-process cache (TokenCache) so that a busy client does not cost a
// database round trip per request. The principal of a request lives in a
// WeakMap rather than on the request object, so nothing else can forge or
// overwrite it.
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { findLiveTokenByHash, presentedTokenHash, touchApiToken, type ApiToken } from '../db/repositories/tokens.ts';
import type { OwnerScope } from '../db/repositories/tenant-instances.ts';
import type { Database, TokenRole } from '../db/schema.ts';
import { ApiProblem, ProblemType, forbidden } from './problems.ts';

export interface Principal {
  tokenId: string;
  role: TokenRole;
  /** The tenant a user token acts for; an admin token may have none. */
  userId: string | null;
  /** Written to audit rows: `token:<id>`. */
  actor: string;
  /** The token's label and expiry, for GET /me. */
  tokenName: string;
  expiresAt: Date | null;
}

const principals = new WeakMap<FastifyRequest, Principal>();

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * How long a token found live is trusted without asking the database again.
 * This bounds how long a token revoked through *another* process (a second
 * API replica) keeps working; a revoke through this process's API takes
 * effect at once (TokenCache.forget). Expiry is checked on every request.
 */
export const TOKEN_CACHE_TTL_MS = 2_000;
/** Entries kept at most; the oldest go first. Only tokens that authenticated are cached, so guesses cannot fill it. */
const TOKEN_CACHE_MAX = 10_000;

/** Live tokens by their hash, each trusted for TOKEN_CACHE_TTL_MS; unknown, revoked and expired tokens are never cached. */
export class TokenCache {
  readonly #db: Kysely<Database>;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { token: ApiToken; until: number }>();
  /** Bumped by forget(): a lookup that started before a revoke must not cache what it read. */
  #generation = 0;

  constructor(db: Kysely<Database>, ttlMs = TOKEN_CACHE_TTL_MS) {
    this.#db = db;
    this.#ttlMs = ttlMs;
  }

  /** The live token record for a presented token, or undefined (unknown, revoked, expired or malformed). */
  async lookup(presented: string): Promise<ApiToken | undefined> {
    const hash = presentedTokenHash(presented);
    if (hash === undefined) return undefined;
    const now = Date.now();
    const hit = this.#entries.get(hash);
    let token: ApiToken | undefined;
    if (hit && hit.until > now && (hit.token.expiresAt === null || hit.token.expiresAt.getTime() > now)) {
      token = hit.token;
    } else {
      this.#entries.delete(hash);
      const generation = this.#generation;
      token = await findLiveTokenByHash(this.#db, hash);
      if (token && generation === this.#generation) {
        if (this.#entries.size >= TOKEN_CACHE_MAX) this.#entries.delete(this.#entries.keys().next().value!);
        this.#entries.set(hash, { token, until: now + this.#ttlMs });
      }
    }
    if (token) await touchApiToken(this.#db, token, new Date(now));
    return token;
  }

  /** Drops a token (revoked here): its next request asks the database. */
  forget(tokenId: string): void {
    this.#generation++;
    for (const [hash, e] of this.#entries) if (e.token.id === tokenId) this.#entries.delete(hash);
  }
}

export async function authenticate(tokens: TokenCache, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? BEARER.exec(header) : null;
  if (!match?.[1]) throw unauthorized('send Authorization: Bearer <token> (create one with `caelus token create`)');
  const token = await tokens.lookup(match[1]);
  if (!token) throw unauthorized('the token is unknown, malformed, revoked or expired');
  const principal: Principal = { tokenId: token.id, role: token.role, userId: token.userId, actor: `token:${token.id}`, tokenName: token.name, expiresAt: token.expiresAt };
  principals.set(request, principal);
  return principal;
}

function unauthorized(detail: string): ApiProblem {
  return new ApiProblem(401, ProblemType.Unauthorized, detail);
}

/** The authenticated caller; routes run only after the auth hook, so a missing one is a wiring bug. */
export function principalOf(request: FastifyRequest): Principal {
  const p = principals.get(request);
  if (!p) throw new Error(`no principal for ${request.method} ${request.url}: the route is not behind the auth hook`);
  return p;
}

export function requireAdmin(p: Principal): void {
  if (p.role !== 'admin') throw forbidden('this operation needs an admin token');
}

/** Which instances the caller may see; a user token without a user id sees nothing. */
export function ownerScope(p: Principal): OwnerScope {
  if (p.role === 'admin') return { kind: 'all' };
  // The api_token check constraint makes userId non-null for role user.
  return { kind: 'user', userId: p.userId ?? '' };
}

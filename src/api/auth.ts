// Bearer-token authentication and the two roles. Tokens are checked against
// their stored sha256 (src/db/repositories/tokens.ts). The principal of a
// request lives in a WeakMap rather than on the request object, so nothing
// else can forge or overwrite it.
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { authenticateApiToken } from '../db/repositories/tokens.ts';
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

export async function authenticate(db: Kysely<Database>, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? BEARER.exec(header) : null;
  if (!match?.[1]) throw unauthorized('send Authorization: Bearer <token> (create one with `caelus token create`)');
  const token = await authenticateApiToken(db, match[1]);
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

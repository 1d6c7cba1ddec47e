// api_token. A token is 32 random bytes (256 bits), shown once at creation;
// the table keeps only its sha256. A slow password hash (bcrypt, scrypt)
// exists to make guessing low-entropy passwords expensive; guessing a 256-bit
// random value is infeasible at any hash speed, and a fast hash lets every
// API request be authenticated by one indexed lookup.
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { NotFoundError, ValidationError } from '../errors.ts';
import { translateErrors } from '../map-error.ts';
import { TOKEN_ROLES, type ApiTokenRow, type Database, type TokenRole } from '../schema.ts';
import { oneOf, optionalDate, optionalText, text, uuid } from '../validate.ts';
import { recordAudit } from './audit.ts';

/** Recognisable prefix: secret scanners and humans can tell what leaked. */
export const TOKEN_PREFIX = 'caelus_';
const TOKEN_FORMAT = /^caelus_[A-Za-z0-9_-]{43}$/;

export interface ApiToken {
  id: string;
  name: string;
  role: TokenRole;
  userId: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** null: never expires. */
  expiresAt: Date | null;
}

export interface NewApiToken {
  name: string;
  role: TokenRole;
  /** Required for role `user`: the tenant the token acts for. */
  userId?: string | null;
  /** After this the token authenticates nothing; null/absent: never. */
  expiresAt?: Date | null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Creates a token; the returned `token` is the only time it exists in clear. */
export async function createApiToken(db: Kysely<Database>, input: NewApiToken, opts: { actor: string }): Promise<{ token: string; record: ApiToken }> {
  const name = text('name', input?.name, { max: 128 });
  const role = oneOf('role', input.role, TOKEN_ROLES);
  const userId = optionalText('userId', input.userId, { max: 256 });
  if (role === 'user' && userId === null) throw new ValidationError('userId', 'is required for a user token');
  const expiresAt = optionalDate('expiresAt', input.expiresAt);
  if (expiresAt && expiresAt.getTime() <= Date.now()) throw new ValidationError('expiresAt', 'must be in the future');
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('api_token')
        .values({ name, role, user_id: userId, token_hash: hashToken(token), expires_at: expiresAt })
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordAudit(trx, { actor: opts.actor, action: 'token.create', detail: { tokenId: row.id, name, role, userId, expiresAt: expiresAt?.toISOString() ?? null } });
      return { token, record: toToken(row) };
    }),
  );
}

/** Of these token ids, those still live (not revoked, not expired): long-lived streams re-check their token with it. */
export async function liveTokenIds(db: Kysely<Database>, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  return translateErrors(async () => {
    const rows = await db
      .selectFrom('api_token')
      .select('id')
      .where('id', 'in', ids.map((id) => uuid('tokenId', id)))
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
      .execute();
    return new Set(rows.map((r) => r.id));
  });
}

/** The stored hash of a presented token, or undefined when it cannot be one of ours (wrong shape). */
export function presentedTokenHash(token: unknown): string | undefined {
  return typeof token === 'string' && TOKEN_FORMAT.test(token) ? hashToken(token) : undefined;
}

/** last_used_at is written at most this often per token, so a busy client does not turn every request into a write. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * The live token record for a presented token, or undefined (unknown, revoked,
 * expired or malformed). Records last_used_at at most once a minute per token.
 */
export async function authenticateApiToken(db: Kysely<Database>, token: unknown): Promise<ApiToken | undefined> {
  const hash = presentedTokenHash(token);
  if (hash === undefined) return undefined;
  const found = await findLiveTokenByHash(db, hash);
  if (found) await touchApiToken(db, found);
  return found;
}

/** The live (not revoked, not expired) token with this hash. */
export async function findLiveTokenByHash(db: Kysely<Database>, hash: string): Promise<ApiToken | undefined> {
  return translateErrors(async () => {
    const row = await db.selectFrom('api_token').selectAll().where('token_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
      .executeTakeFirst();
    return row && toToken(row);
  });
}

/** Records a use of the token unless one was recorded within the last minute; updates `token.lastUsedAt` to match. */
export async function touchApiToken(db: Kysely<Database>, token: ApiToken, now = new Date()): Promise<void> {
  if (token.lastUsedAt !== null && now.getTime() - token.lastUsedAt.getTime() <= LAST_USED_RESOLUTION_MS) return;
  await translateErrors(() => db.updateTable('api_token').set({ last_used_at: now }).where('id', '=', uuid('tokenId', token.id)).execute());
  token.lastUsedAt = now;
}

export async function revokeApiToken(db: Kysely<Database>, id: string, opts: { actor: string }): Promise<ApiToken> {
  const key = uuid('id', id);
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('api_token')
        .set({ revoked_at: new Date() })
        .where('id', '=', key)
        .where('revoked_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new NotFoundError('live api token', { id: key });
      await recordAudit(trx, { actor: opts.actor, action: 'token.revoke', detail: { tokenId: key } });
      return toToken(row);
    }),
  );
}

export async function listApiTokens(db: Kysely<Database>): Promise<ApiToken[]> {
  return translateErrors(async () => (await db.selectFrom('api_token').selectAll().orderBy('created_at').execute()).map(toToken));
}

function toToken(row: ApiTokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    userId: row.user_id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    expiresAt: row.expires_at,
  };
}

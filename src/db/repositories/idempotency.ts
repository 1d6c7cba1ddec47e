// idempotency_key: a POST carrying an Idempotency-Key is processed once; a
// retry with the same key and the same request gets the stored response, a
// retry with a different request under the same key is refused.
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { IdempotencyInProgressError, IdempotencyKeyReusedError } from '../errors.ts';
import { jsonb } from '../json.ts';
import { translateErrors } from '../map-error.ts';
import type { Database, JsonValue } from '../schema.ts';
import { jsonObject, text } from '../validate.ts';
import { actorName } from './audit.ts';

export type IdempotencyClaim = { kind: 'claimed' } | { kind: 'replay'; response: JsonValue };

function keyText(value: unknown): string {
  return text('idempotencyKey', value, { max: 255, pattern: /^[\x21-\x7e]+$/, patternHint: 'must be printable ASCII without spaces' });
}

/** sha256 over method, path and body (JSON): what "the same request" means. */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(JSON.stringify([method.toUpperCase(), path, body ?? null])).digest('hex');
}

/** A claim not completed within this long was left by a request that died (crash, lost connection): it may be taken over. */
export const DEFAULT_CLAIM_TTL_MS = 60_000;

/**
 * Claims `key` for this request. `claimed`: go ahead, then `completeIdempotencyKey`
 * (or `releaseIdempotencyKey` on failure). `replay`: return the stored response.
 * A claim older than `claimTtlMs` without a response is taken over, so a crash
 * between claim and completion blocks the key for a minute, not until the purge.
 */
export async function claimIdempotencyKey(
  db: Kysely<Database>,
  input: { actor: string; key: string; requestHash: string; claimTtlMs?: number },
): Promise<IdempotencyClaim> {
  const actor = actorName(input?.actor);
  const key = keyText(input.key);
  const hash = text('requestHash', input.requestHash, { max: 64, pattern: /^[0-9a-f]{64}$/ });
  const ttlMs = input.claimTtlMs ?? DEFAULT_CLAIM_TTL_MS;
  return translateErrors(async () => {
    const inserted = await db
      .insertInto('idempotency_key')
      .values({ actor, key, request_hash: hash, response: null })
      .onConflict((oc) => oc.columns(['actor', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (inserted) return { kind: 'claimed' };
    const existing = await db.selectFrom('idempotency_key').select(['request_hash', 'response']).where('actor', '=', actor).where('key', '=', key).executeTakeFirstOrThrow();
    if (existing.request_hash !== hash) throw new IdempotencyKeyReusedError('this Idempotency-Key was used for a different request', { key });
    if (existing.response !== null) return { kind: 'replay', response: existing.response };
    // Take over an abandoned claim; the conditional update lets exactly one of several retries win.
    const takenOver = await db
      .updateTable('idempotency_key')
      .set({ created_at: sql<Date>`now()` })
      .where('actor', '=', actor)
      .where('key', '=', key)
      .where('response', 'is', null)
      .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${ttlMs / 1000})`)
      .returning('key')
      .executeTakeFirst();
    if (takenOver) return { kind: 'claimed' };
    throw new IdempotencyInProgressError('a request with this Idempotency-Key is still being processed', { key });
  });
}

export async function completeIdempotencyKey(db: Kysely<Database>, input: { actor: string; key: string; response: Record<string, unknown> }): Promise<void> {
  const actor = actorName(input?.actor);
  const key = keyText(input.key);
  const response = jsonObject('response', input.response);
  await translateErrors(() => db.updateTable('idempotency_key').set({ response: jsonb(response) }).where('actor', '=', actor).where('key', '=', key).execute());
}

/** Frees a claimed key whose request failed, so a retry can run it again. */
export async function releaseIdempotencyKey(db: Kysely<Database>, input: { actor: string; key: string }): Promise<void> {
  const actor = actorName(input?.actor);
  const key = keyText(input.key);
  await translateErrors(() => db.deleteFrom('idempotency_key').where('actor', '=', actor).where('key', '=', key).where('response', 'is', null).execute());
}

/** Deletes keys older than `before`; returns how many. */
export async function purgeIdempotencyKeys(db: Kysely<Database>, before: Date): Promise<number> {
  return translateErrors(async () => {
    const res = await db.deleteFrom('idempotency_key').where('created_at', '<', before).executeTakeFirst();
    return Number(res.numDeletedRows);
  });
}

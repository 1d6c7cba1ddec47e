// idempotency_key: a POST carrying an Idempotency-Key is processed once; a
// retry with the same key and the same request gets the stored response, a
// retry with a different request under the same key is refused.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ConflictError } from '../errors.ts';
import { jsonb } from '../json.ts';
import { translateErrors } from '../map-error.ts';
import type { Database, JsonValue } from '../schema.ts';
import { jsonObject, text } from '../validate.ts';
import { actorName } from './audit.ts';

export type IdempotencyClaim = { kind: 'claimed' } | { kind: 'replay'; response: JsonValue };

export class IdempotencyKeyReusedError extends ConflictError {}
export class IdempotencyInProgressError extends ConflictError {}

function keyText(value: unknown): string {
  return text('idempotencyKey', value, { max: 255, pattern: /^[\x21-\x7e]+$/, patternHint: 'must be printable ASCII without spaces' });
}

/** sha256 over method, path and body (JSON): what "the same request" means. */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(JSON.stringify([method.toUpperCase(), path, body ?? null])).digest('hex');
}

/**
 * Claims `key` for this request. `claimed`: go ahead, then `completeIdempotencyKey`
 * (or `releaseIdempotencyKey` on failure). `replay`: return the stored response.
 */
export async function claimIdempotencyKey(db: Kysely<Database>, input: { actor: string; key: string; requestHash: string }): Promise<IdempotencyClaim> {
  const actor = actorName(input?.actor);
  const key = keyText(input.key);
  const hash = text('requestHash', input.requestHash, { max: 64, pattern: /^[0-9a-f]{64}$/ });
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
    if (existing.response === null) throw new IdempotencyInProgressError('a request with this Idempotency-Key is still being processed', { key });
    return { kind: 'replay', response: existing.response };
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

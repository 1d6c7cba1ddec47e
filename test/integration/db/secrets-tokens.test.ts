// Secrets at rest, key rotation, API tokens and idempotency keys, on both dialects.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import {
  ConflictError,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  SecretDecryptionError,
  UnknownInstanceError,
  UnknownKeyError,
} from '../../../src/db/errors.ts';
import { createInstance } from '../../../src/db/repositories/instances.ts';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
  requestHash,
} from '../../../src/db/repositories/idempotency.ts';
import { deleteSecret, getSecret, getSecrets, putSecret, rotateSecrets } from '../../../src/db/repositories/secrets.ts';
import { authenticateApiToken, createApiToken, listApiTokens, revokeApiToken } from '../../../src/db/repositories/tokens.ts';
import { SecretBox } from '../../../src/db/secret-box.ts';
import { testDatabases, type TestDatabase } from '../../support/database.ts';
import { ACTOR, seedVersion } from '../../support/db-fixtures.ts';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
let ns = 0;

describe.each(testDatabases())('secrets and tokens on $name', ({ create }) => {
  let h: TestDatabase;
  let versionId: string;
  const instance = async () =>
    (await createInstance(h.db, { userId: 'u', productTemplateVersionId: versionId, namespace: `sec-${process.pid}-${++ns}` }, ACTOR)).id;
  const stored = (instanceId: string, name: string) =>
    h.db.selectFrom('instance_secret').selectAll().where('instance_id', '=', instanceId).where('name', '=', name).executeTakeFirstOrThrow();

  beforeAll(async () => {
    h = await create();
    versionId = (await seedVersion(h.db)).version.id;
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('a secret round-trips; equal plaintexts give different ciphertexts', async () => {
    const box = new SecretBox([k1]);
    const id = await instance();
    await putSecret(h.db, box, { instanceId: id, name: 'db-password', value: 'hunter2-ü' }, ACTOR);
    await putSecret(h.db, box, { instanceId: id, name: 'other', value: 'hunter2-ü' }, ACTOR);
    expect(await getSecret(h.db, box, id, 'db-password')).toBe('hunter2-ü');
    expect(await getSecrets(h.db, box, id)).toEqual({ 'db-password': 'hunter2-ü', other: 'hunter2-ü' });
    const [a, b] = [await stored(id, 'db-password'), await stored(id, 'other')];
    expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false);
    expect(Buffer.from(a.nonce).equals(Buffer.from(b.nonce))).toBe(false);
    expect(a.key_id).toBe('k1');
    expect(await getSecret(h.db, box, id, 'missing')).toBeUndefined();
    expect(await deleteSecret(h.db, id, 'other', ACTOR)).toBe(true);
    expect(await getSecrets(h.db, box, id)).toEqual({ 'db-password': 'hunter2-ü' });
  });

  test('a tampered ciphertext fails to decrypt with a clear error', async () => {
    const box = new SecretBox([k1]);
    const id = await instance();
    await putSecret(h.db, box, { instanceId: id, name: 'token', value: 'abc' }, ACTOR);
    const row = await stored(id, 'token');
    const flipped = Buffer.from(row.ciphertext);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await h.db.updateTable('instance_secret').set({ ciphertext: flipped }).where('instance_id', '=', id).where('name', '=', 'token').execute();
    const err = await getSecret(h.db, box, id, 'token').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretDecryptionError);
    expect((err as Error).message).toMatch(/failed authentication with key "k1": the ciphertext was tampered with/);
  });

  test('a ciphertext moved to another instance does not open there', async () => {
    const box = new SecretBox([k1]);
    const [a, b] = [await instance(), await instance()];
    await putSecret(h.db, box, { instanceId: a, name: 'x', value: 'for-a-only' }, ACTOR);
    const row = await stored(a, 'x');
    await h.db.insertInto('instance_secret').values({ instance_id: b, name: 'x', ciphertext: row.ciphertext, nonce: row.nonce, key_id: row.key_id }).execute();
    await expect(getSecret(h.db, box, b, 'x')).rejects.toBeInstanceOf(SecretDecryptionError);
  });

  test('a secret for an unknown instance → UnknownInstanceError', async () => {
    await expect(
      putSecret(h.db, new SecretBox([k1]), { instanceId: '00000000-0000-4000-8000-000000000000', name: 'x', value: 'v' }, ACTOR),
    ).rejects.toBeInstanceOf(UnknownInstanceError);
  });

  test('rotation: old rows stay readable with the new ring, rotate re-encrypts them under the newest key', async () => {
    const id = await instance();
    await putSecret(h.db, new SecretBox([k1]), { instanceId: id, name: 'old', value: 'sealed-with-k1' }, ACTOR);
    const ring = new SecretBox([k2, k1]);
    await putSecret(h.db, ring, { instanceId: id, name: 'new', value: 'sealed-with-k2' }, ACTOR);
    expect((await stored(id, 'old')).key_id).toBe('k1');
    expect((await stored(id, 'new')).key_id).toBe('k2');
    expect(await getSecrets(h.db, ring, id)).toEqual({ old: 'sealed-with-k1', new: 'sealed-with-k2' });

    const report = await rotateSecrets(h.db, ring, { batchSize: 2 });
    expect(report.keyId).toBe('k2');
    expect(report.reencrypted).toBeGreaterThanOrEqual(1);
    // Rows that cannot be opened (the tampered and the moved ones of earlier tests) are reported, not rotated, and do not stop the rest.
    expect(report.failed.every((f) => f.error instanceof SecretDecryptionError)).toBe(true);
    expect(report.failed.map((f) => f.name).sort()).toEqual(['token', 'x']);
    const left = await h.db.selectFrom('instance_secret').select('name').where('key_id', '<>', 'k2').orderBy('name').execute();
    expect(left.map((r) => r.name)).toEqual(['token', 'x']);
    // k1 can now be dropped from the ring.
    expect(await getSecrets(h.db, new SecretBox([k2]), id)).toEqual({ old: 'sealed-with-k1', new: 'sealed-with-k2' });
    expect((await rotateSecrets(h.db, ring)).reencrypted).toBe(0);
    expect((await stored(id, 'old')).key_id).toBe('k2');
    // Without k2 in the ring the rows cannot be read, and the error says which key is missing.
    const err = await getSecret(h.db, new SecretBox([k1]), id, 'old').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownKeyError);
    expect((err as Error).message).toMatch(/"k2" is not in the key ring/);
  });

  test('tokens: created once, authenticated by value, revoked', async () => {
    const { token, record } = await createApiToken(h.db, { name: 'ci', role: 'user', userId: 'alice' }, ACTOR);
    expect(token).toMatch(/^caelus_[A-Za-z0-9_-]{43}$/);
    const auth = await authenticateApiToken(h.db, token);
    expect(auth).toMatchObject({ id: record.id, role: 'user', userId: 'alice' });
    expect(auth?.lastUsedAt).toBeInstanceOf(Date);
    expect(await authenticateApiToken(h.db, token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(await authenticateApiToken(h.db, "caelus_' or 1=1 --")).toBeUndefined();
    expect(await authenticateApiToken(h.db, 42)).toBeUndefined();
    await revokeApiToken(h.db, record.id, ACTOR);
    expect(await authenticateApiToken(h.db, token)).toBeUndefined();
    expect((await listApiTokens(h.db)).find((t) => t.id === record.id)?.revokedAt).toBeInstanceOf(Date);
  });

  test('a dump of every table contains no plaintext secret and no raw token', async () => {
    const box = new SecretBox([k1]);
    const id = await instance();
    const plaintext = `plaintext-${randomBytes(8).toString('hex')}`;
    await putSecret(h.db, box, { instanceId: id, name: 'dump-check', value: plaintext }, ACTOR);
    const { token } = await createApiToken(h.db, { name: 'dump', role: 'admin' }, ACTOR);
    const tables = ['product_template', 'product_template_version', 'deployment_instance', 'instance_secret', 'api_token', 'audit_event', 'idempotency_key'] as const;
    let dump = '';
    for (const t of tables) {
      // row_to_json renders bytea as hex; decode it as text too, in case a value were stored raw.
      const rows = await sql<{ row: unknown }>`select row_to_json(t) as row from ${sql.table(t)} t`.execute(h.db);
      dump += JSON.stringify(rows.rows);
    }
    const bytes = await h.db.selectFrom('instance_secret').select(['ciphertext', 'nonce']).execute();
    dump += bytes.map((r) => Buffer.from(r.ciphertext).toString('latin1') + Buffer.from(r.nonce).toString('latin1')).join('');
    expect(dump.length).toBeGreaterThan(1000);
    expect(dump).not.toContain(plaintext);
    expect(dump).not.toContain(Buffer.from(plaintext).toString('hex'));
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.slice('caelus_'.length));
  });

  test('idempotency keys: claim, replay, reuse with another request, in progress, release', async () => {
    const actor = 'user:alice';
    const h1 = requestHash('POST', '/instances', { a: 1 });
    expect(await claimIdempotencyKey(h.db, { actor, key: 'k-1', requestHash: h1 })).toEqual({ kind: 'claimed' });
    await expect(claimIdempotencyKey(h.db, { actor, key: 'k-1', requestHash: h1 })).rejects.toBeInstanceOf(IdempotencyInProgressError);
    await completeIdempotencyKey(h.db, { actor, key: 'k-1', response: { status: 201, body: { id: 'x' } } });
    expect(await claimIdempotencyKey(h.db, { actor, key: 'k-1', requestHash: h1 })).toEqual({ kind: 'replay', response: { status: 201, body: { id: 'x' } } });
    const other = requestHash('POST', '/instances', { a: 2 });
    const err = await claimIdempotencyKey(h.db, { actor, key: 'k-1', requestHash: other }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(err).toBeInstanceOf(ConflictError);
    // Keys are per actor.
    expect(await claimIdempotencyKey(h.db, { actor: 'user:bob', key: 'k-1', requestHash: other })).toEqual({ kind: 'claimed' });
    await releaseIdempotencyKey(h.db, { actor: 'user:bob', key: 'k-1' });
    expect(await claimIdempotencyKey(h.db, { actor: 'user:bob', key: 'k-1', requestHash: other })).toEqual({ kind: 'claimed' });
  });

  test('a claim left by a request that died is taken over after the claim TTL, by exactly one retry', async () => {
    const actor = 'user:carol';
    const hash = requestHash('POST', '/instances', { a: 3 });
    expect(await claimIdempotencyKey(h.db, { actor, key: 'crashed', requestHash: hash })).toEqual({ kind: 'claimed' });
    // The process died here: no complete, no release. Within the TTL the key is still in progress…
    await expect(claimIdempotencyKey(h.db, { actor, key: 'crashed', requestHash: hash })).rejects.toBeInstanceOf(IdempotencyInProgressError);
    // …and once the claim is older than the TTL, a retry takes it over (once), not only after the 24 h purge.
    await sql`update idempotency_key set created_at = now() - interval '2 minutes' where actor = ${actor} and key = 'crashed'`.execute(h.db);
    const retries = await Promise.allSettled([1, 2, 3].map(() => claimIdempotencyKey(h.db, { actor, key: 'crashed', requestHash: hash, claimTtlMs: 60_000 })));
    expect(retries.filter((r) => r.status === 'fulfilled').map((r) => r.value)).toEqual([{ kind: 'claimed' }]);
    expect(retries.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof IdempotencyInProgressError)).toBe(true);
  });
});

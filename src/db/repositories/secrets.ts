// instance_secret: values are sealed with the SecretBox before they reach SQL
// and opened after; the table holds only ciphertext, nonce and key id.
import type { Kysely } from 'kysely';
import { translateErrors } from '../map-error.ts';
import type { Database } from '../schema.ts';
import type { SecretBox } from '../secret-box.ts';
import { text, uuid } from '../validate.ts';
import { recordAudit } from './audit.ts';
import { generateSecretValue, isGenerated, MAX_SECRET_BYTES, MAX_SECRET_NAME, SECRET_NAME, SECRET_NAME_HINT, type DeclaredSecret } from '../../domain/declared-secrets.ts';
import { ValidationError } from '../errors.ts';

export { MAX_SECRET_BYTES };

function secretName(value: unknown): string {
  return text('name', value, { max: MAX_SECRET_NAME, pattern: SECRET_NAME, patternHint: SECRET_NAME_HINT });
}

function secretValue(value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError('value', 'must be a string');
  if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_BYTES) throw new ValidationError('value', `must be at most ${MAX_SECRET_BYTES} bytes (UTF-8)`);
  // eslint-disable-next-line no-control-regex -- Postgres text cannot hold NUL, and the value is sealed as UTF-8 text
  if (/\u0000/.test(value)) throw new ValidationError('value', 'must not contain NUL characters');
  return value;
}

export interface SecretMeta {
  name: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** Binds a ciphertext to its row: moving it to another instance or name makes it fail authentication. */
function aad(instanceId: string, name: string): string {
  return `instance_secret/${instanceId}/${name}`;
}

/** Creates or replaces a secret; audited by name, never by value. */
export async function putSecret(
  db: Kysely<Database>,
  box: SecretBox,
  input: { instanceId: string; name: string; value: string },
  opts: { actor: string },
): Promise<SecretMeta> {
  const instanceId = uuid('instanceId', input?.instanceId);
  const name = secretName(input.name);
  const value = secretValue(input.value);
  const sealed = box.seal(value, aad(instanceId, name));
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('instance_secret')
        .values({ instance_id: instanceId, name, ciphertext: sealed.ciphertext, nonce: sealed.nonce, key_id: sealed.keyId })
        .onConflict((oc) =>
          oc.columns(['instance_id', 'name']).doUpdateSet((eb) => ({
            ciphertext: sealed.ciphertext,
            nonce: sealed.nonce,
            key_id: sealed.keyId,
            version: eb('instance_secret.version', '+', 1),
            updated_at: new Date(),
          })),
        )
        .returning(['name', 'version', 'created_at', 'updated_at'])
        .executeTakeFirstOrThrow();
      await recordAudit(trx, { actor: opts.actor, action: 'secret.put', instanceId, detail: { name, version: row.version } });
      return { name: row.name, version: row.version, createdAt: row.created_at, updatedAt: row.updated_at };
    }),
  );
}

/** Names, versions and times of an instance's secrets; never a value, and nothing is decrypted. */
export async function listSecretMeta(db: Kysely<Database>, instanceId: string): Promise<SecretMeta[]> {
  const id = uuid('instanceId', instanceId);
  const rows = await translateErrors(() =>
    db.selectFrom('instance_secret').select(['name', 'version', 'created_at', 'updated_at']).where('instance_id', '=', id).orderBy('name').execute(),
  );
  return rows.map((r) => ({ name: r.name, version: r.version, createdAt: r.created_at, updatedAt: r.updated_at }));
}

/**
 * Creates each declared generated secret the instance does not have yet, with
 * a fresh crypto-random value; an existing one (an earlier reconcile, another
 * replica, a template upgrade that still declares it, or a value the user set)
 * is kept as it is. Returns the names it created. Audited by name only.
 */
export async function ensureGeneratedSecrets(
  db: Kysely<Database>,
  box: SecretBox,
  instanceId: string,
  declared: readonly DeclaredSecret[],
  opts: { actor: string },
): Promise<string[]> {
  const id = uuid('instanceId', instanceId);
  const generated = declared.filter(isGenerated);
  if (generated.length === 0) return [];
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const created: string[] = [];
      for (const spec of generated) {
        const sealed = box.seal(generateSecretValue(spec.generate), aad(id, spec.name));
        const res = await trx
          .insertInto('instance_secret')
          .values({ instance_id: id, name: spec.name, ciphertext: sealed.ciphertext, nonce: sealed.nonce, key_id: sealed.keyId })
          .onConflict((oc) => oc.columns(['instance_id', 'name']).doNothing())
          .returning('name')
          .executeTakeFirst();
        if (res) created.push(spec.name);
      }
      if (created.length > 0) await recordAudit(trx, { actor: opts.actor, action: 'secret.generate', instanceId: id, detail: { names: created } });
      return created;
    }),
  );
}

/** The plaintext, or undefined when there is no such secret. */
export async function getSecret(db: Kysely<Database>, box: SecretBox, instanceId: string, name: string): Promise<string | undefined> {
  const id = uuid('instanceId', instanceId);
  const n = secretName(name);
  const row = await translateErrors(() =>
    db.selectFrom('instance_secret').select(['ciphertext', 'nonce', 'key_id']).where('instance_id', '=', id).where('name', '=', n).executeTakeFirst(),
  );
  return row && box.open({ ciphertext: row.ciphertext, nonce: row.nonce, keyId: row.key_id }, aad(id, n));
}

/** All secrets of an instance, decrypted (for the instance's Kubernetes Secret). */
export async function getSecrets(db: Kysely<Database>, box: SecretBox, instanceId: string): Promise<Record<string, string>> {
  const id = uuid('instanceId', instanceId);
  const rows = await translateErrors(() =>
    db.selectFrom('instance_secret').select(['name', 'ciphertext', 'nonce', 'key_id']).where('instance_id', '=', id).orderBy('name').execute(),
  );
  return Object.fromEntries(rows.map((r) => [r.name, box.open({ ciphertext: r.ciphertext, nonce: r.nonce, keyId: r.key_id }, aad(id, r.name))]));
}

export async function deleteSecret(db: Kysely<Database>, instanceId: string, name: string, opts: { actor: string }): Promise<boolean> {
  const id = uuid('instanceId', instanceId);
  const n = secretName(name);
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom('instance_secret').where('instance_id', '=', id).where('name', '=', n).executeTakeFirst();
      const deleted = result.numDeletedRows > 0n;
      if (deleted) await recordAudit(trx, { actor: opts.actor, action: 'secret.delete', instanceId: id, detail: { name: n } });
      return deleted;
    }),
  );
}

export interface RotationReport {
  reencrypted: number;
  /** The key every rotated row is now sealed with. */
  keyId: string;
  /** Rows that could not be opened (tampered, or sealed with a key missing from the ring); left unchanged. */
  failed: Array<{ instanceId: string; name: string; error: Error }>;
}

/**
 * Re-encrypts every secret not sealed with the newest key, in batches, each
 * batch in its own transaction. A row changed meanwhile (a concurrent put) is
 * left alone: the guard on (key_id, nonce) skips it, and it already carries
 * the newest key. A row that cannot be opened does not stop the others: it is
 * reported in `failed` (the CLI exits non-zero) and keeps its old key.
 */
export async function rotateSecrets(db: Kysely<Database>, box: SecretBox, opts: { batchSize?: number } = {}): Promise<RotationReport> {
  const batchSize = opts.batchSize ?? 200;
  const keyId = box.currentKeyId;
  const report: RotationReport = { reencrypted: 0, keyId, failed: [] };
  // Keyset cursor over (instance_id, name), so rows that fail are passed, not fetched again.
  let after: { instanceId: string; name: string } | undefined;
  for (;;) {
    const batch = await translateErrors(() =>
      db.transaction().execute(async (trx) => {
        let q = trx
          .selectFrom('instance_secret')
          .select(['instance_id', 'name', 'ciphertext', 'nonce', 'key_id'])
          .where('key_id', '<>', keyId)
          .orderBy('instance_id')
          .orderBy('name')
          .limit(batchSize)
          .forUpdate();
        if (after) {
          const c = after;
          q = q.where((eb) => eb.or([eb('instance_id', '>', c.instanceId), eb.and([eb('instance_id', '=', c.instanceId), eb('name', '>', c.name)])]));
        }
        const rows = await q.execute();
        for (const r of rows) {
          let plaintext: string;
          try {
            plaintext = box.open({ ciphertext: r.ciphertext, nonce: r.nonce, keyId: r.key_id }, aad(r.instance_id, r.name));
          } catch (err) {
            report.failed.push({ instanceId: r.instance_id, name: r.name, error: err as Error });
            continue;
          }
          const sealed = box.seal(plaintext, aad(r.instance_id, r.name));
          const res = await trx
            .updateTable('instance_secret')
            .set({ ciphertext: sealed.ciphertext, nonce: sealed.nonce, key_id: sealed.keyId })
            .where('instance_id', '=', r.instance_id)
            .where('name', '=', r.name)
            .where('key_id', '=', r.key_id)
            .where('nonce', '=', r.nonce)
            .executeTakeFirst();
          report.reencrypted += Number(res.numUpdatedRows);
        }
        return rows;
      }),
    );
    const last = batch[batch.length - 1];
    if (!last || batch.length < batchSize) return report;
    after = { instanceId: last.instance_id, name: last.name };
  }
}

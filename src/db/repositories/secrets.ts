// instance_secret: values are sealed with the SecretBox before they reach SQL
// and opened after; the table holds only ciphertext, nonce and key id.
import type { Kysely } from 'kysely';
import { translateErrors } from '../map-error.ts';
import type { Database } from '../schema.ts';
import type { SecretBox } from '../secret-box.ts';
import { text, uuid } from '../validate.ts';
import { recordAudit } from './audit.ts';

/** Kubernetes Secret data key rules, since these become keys of the instance's Secret. */
const SECRET_NAME = /^[-._a-zA-Z0-9]+$/;
export const MAX_SECRET_BYTES = 64 * 1024;

function secretName(value: unknown): string {
  return text('name', value, { max: 253, pattern: SECRET_NAME, patternHint: 'must consist of letters, digits, "-", "_" or "."' });
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
): Promise<void> {
  const instanceId = uuid('instanceId', input?.instanceId);
  const name = secretName(input.name);
  const value = text('value', input.value, { min: 0, max: MAX_SECRET_BYTES });
  const sealed = box.seal(value, aad(instanceId, name));
  await translateErrors(() =>
    db.transaction().execute(async (trx) => {
      await trx
        .insertInto('instance_secret')
        .values({ instance_id: instanceId, name, ciphertext: sealed.ciphertext, nonce: sealed.nonce, key_id: sealed.keyId })
        .onConflict((oc) =>
          oc.columns(['instance_id', 'name']).doUpdateSet({ ciphertext: sealed.ciphertext, nonce: sealed.nonce, key_id: sealed.keyId }),
        )
        .execute();
      await recordAudit(trx, { actor: opts.actor, action: 'secret.put', instanceId, detail: { name } });
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

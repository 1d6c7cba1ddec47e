// The operator's SecretSource (src/operator/steps/guardrails.ts) backed by
// instance_secret: decrypted only when the fingerprint says something changed.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { translateErrors } from './map-error.ts';
import type { DeclaredSecret } from '../domain/declared-secrets.ts';
import { ensureGeneratedSecrets, getSecrets, listSecretMeta } from './repositories/secrets.ts';
import type { Database } from './schema.ts';
import type { SecretBox } from './secret-box.ts';
import { uuid } from './validate.ts';

export class DbSecretSource {
  readonly #db: Kysely<Database>;
  readonly #box: SecretBox;

  constructor(db: Kysely<Database>, box: SecretBox) {
    this.#db = db;
    this.#box = box;
  }

  fingerprint(instanceId: string): Promise<string> {
    return secretsFingerprint(this.#db, instanceId);
  }

  read(instanceId: string): Promise<Record<string, string>> {
    return getSecrets(this.#db, this.#box, instanceId);
  }

  ensureGenerated(instanceId: string, declared: readonly DeclaredSecret[]): Promise<string[]> {
    return ensureGeneratedSecrets(this.#db, this.#box, instanceId, declared, { actor: 'operator' });
  }

  async names(instanceId: string): Promise<Set<string>> {
    return new Set((await listSecretMeta(this.#db, instanceId)).map((s) => s.name));
  }
}

function fingerprintOf(rows: ReadonlyArray<{ name: string; key_id: string; nonce: Uint8Array }>): string {
  const hash = createHash('sha256');
  for (const r of rows) hash.update(`${r.name}\0${r.key_id}\0${Buffer.from(r.nonce).toString('hex')}\n`);
  return `sha256:${hash.digest('hex')}`;
}

/** The fingerprint of an instance without secrets. */
export const EMPTY_SECRETS_FINGERPRINT = fingerprintOf([]);

/**
 * sha256 over (name, key id, nonce) of every secret row of the instance:
 * every put or rotation draws a fresh random nonce, so any change shows, and
 * nothing about the plaintext is in it. No decryption, so the sync can
 * compare it on every pass.
 */
export async function secretsFingerprint(db: Kysely<Database>, instanceId: string): Promise<string> {
  const id = uuid('instanceId', instanceId);
  const rows = await translateErrors(() =>
    db.selectFrom('instance_secret').select(['name', 'key_id', 'nonce']).where('instance_id', '=', id).orderBy('name').execute(),
  );
  return fingerprintOf(rows);
}

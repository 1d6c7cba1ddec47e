// The operator's SecretSource (src/operator/steps/guardrails.ts) backed by
// instance_secret: decrypted only when the fingerprint says something changed,
// and only for a CR bound to the instance's row (the same rule the sync
// applies: bindingMismatch in repositories/instance-sync.ts).
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { CaelusInstance } from '../domain/instance.ts';
import { translateErrors } from './map-error.ts';
import { boundInstance } from './repositories/instance-sync.ts';
import { getSecrets } from './repositories/secrets.ts';
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

  /** Undefined when `instance` is not bound to a live row: it then has no secrets to read. */
  async fingerprint(instance: CaelusInstance): Promise<string | undefined> {
    const row = await boundInstance(this.#db, instance);
    return row && secretsFingerprint(this.#db, row.id);
  }

  /** The decrypted secrets of the row `instance` is bound to; undefined when it is bound to none. */
  async read(instance: CaelusInstance): Promise<Record<string, string> | undefined> {
    const row = await boundInstance(this.#db, instance);
    return row && getSecrets(this.#db, this.#box, row.id);
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

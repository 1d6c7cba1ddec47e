// chart_credential: how to reach a private chart repository or registry.
// Username and password are sealed together (AES-256-GCM, the instance-secret
// key ring, AAD naming the row); the CA certificate is public and kept as text.
// Nothing here returns a password except openChartCredential, which the chart
// puller calls right before `helm pull`.
import type { Kysely } from 'kysely';
import { translateErrors } from '../map-error.ts';
import type { Database } from '../schema.ts';
import type { SecretBox } from '../secret-box.ts';
import { optionalText, text, uuid, isUuid } from '../validate.ts';
import { ValidationError } from '../errors.ts';
import { recordAudit } from './audit.ts';

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PEM = /^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/;

export interface ChartCredential {
  id: string;
  name: string;
  /** Known only when created (the list does not decrypt). */
  hasUsername?: boolean;
  caCert: string | null;
  createdAt: Date;
}

export interface OpenedChartCredential {
  username?: string;
  password?: string;
  caCert?: string;
}

const aad = (id: string): string => `chart_credential/${id}`;

export async function createChartCredential(
  db: Kysely<Database>,
  box: SecretBox,
  input: { name: string; username?: string | null; password?: string | null; caCert?: string | null },
  opts: { actor: string },
): Promise<ChartCredential> {
  const name = text('name', input?.name, { max: 63, pattern: NAME, patternHint: 'must be a DNS label such as acme-charts' });
  const username = optionalText('username', input.username, { max: 256 });
  const password = optionalText('password', input.password, { max: 4096, min: 0 });
  if ((username === null) !== (password === null)) throw new ValidationError(username === null ? 'username' : 'password', 'username and password go together');
  // PEM spans lines, so not `text()` (which refuses control characters): checked by shape and size instead.
  const caCert = input.caCert ?? null;
  if (caCert !== null && (typeof caCert !== 'string' || caCert.length > 64 * 1024 || !PEM.test(caCert.trim()))) {
    throw new ValidationError('caCert', 'must be PEM certificates (-----BEGIN CERTIFICATE----- …), at most 64 KiB');
  }
  const payload = JSON.stringify(username === null ? {} : { username, password });
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      // The id is chosen first: the AAD names the row, so the ciphertext cannot be moved to another.
      const { id } = await trx.selectNoFrom((eb) => eb.fn<string>('gen_random_uuid').as('id')).executeTakeFirstOrThrow();
      const sealed = box.seal(payload, aad(id));
      const row = await trx
        .insertInto('chart_credential')
        .values({ id, name, ciphertext: sealed.ciphertext, nonce: sealed.nonce, key_id: sealed.keyId, ca_cert: caCert })
        .returning(['id', 'name', 'ca_cert', 'created_at'])
        .executeTakeFirstOrThrow();
      await recordAudit(trx, { actor: opts.actor, action: 'chart-credential.create', detail: { id, name } });
      return { id: row.id, name: row.name, hasUsername: username !== null, caCert: row.ca_cert, createdAt: row.created_at };
    }),
  );
}

/** By id or name; undefined when there is none. */
export async function findChartCredentialId(db: Kysely<Database>, idOrName: string): Promise<string | undefined> {
  const key = text('chartCredentials', idOrName, { max: 63 });
  const row = await translateErrors(() =>
    db.selectFrom('chart_credential').select('id').where(isUuid(key) ? 'id' : 'name', '=', isUuid(key) ? key.toLowerCase() : key).executeTakeFirst(),
  );
  return row?.id;
}

export async function listChartCredentials(db: Kysely<Database>): Promise<ChartCredential[]> {
  const rows = await translateErrors(() => db.selectFrom('chart_credential').select(['id', 'name', 'ca_cert', 'created_at']).orderBy('name').execute());
  return rows.map((r) => ({ id: r.id, name: r.name, caCert: r.ca_cert, createdAt: r.created_at }));
}

/** The decrypted credential for a pull. Never log the result. */
export async function openChartCredential(db: Kysely<Database>, box: SecretBox, id: string): Promise<OpenedChartCredential | undefined> {
  const key = uuid('chartCredentialId', id);
  const row = await translateErrors(() =>
    db.selectFrom('chart_credential').select(['ciphertext', 'nonce', 'key_id', 'ca_cert']).where('id', '=', key).executeTakeFirst(),
  );
  if (!row) return undefined;
  const secret = JSON.parse(box.open({ ciphertext: row.ciphertext, nonce: row.nonce, keyId: row.key_id }, aad(key))) as { username?: string; password?: string };
  return { ...secret, ...(row.ca_cert === null ? {} : { caCert: row.ca_cert }) };
}

// `caelus secrets set|list|delete` for platform operators: straight to the
// database (like `secrets rotate`), audited as actor `cli`. The value of
// `set` is read from stdin (or a file), never from argv, so it does not show
// in `ps` or the shell history.
import { readFile } from 'node:fs/promises';
import { parseEncryptionKeys } from '../config/encryption-keys.ts';
import { withDatabase } from './commands.ts';
import { NotFoundError } from './errors.ts';
import { getInstance } from './repositories/instances.ts';
import { deleteSecret, listSecretMeta, putSecret } from './repositories/secrets.ts';
import { SecretBox } from './secret-box.ts';

type Out = (line: string) => void;
const stdout: Out = (l) => process.stdout.write(`${l}\n`);

async function readStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

export async function setSecretCommand(
  instanceId: string,
  name: string,
  opts: { fromFile?: string; keepTrailingNewline?: boolean; stdin?: NodeJS.ReadableStream },
  out: Out = stdout,
): Promise<void> {
  const box = new SecretBox(parseEncryptionKeys(process.env['CAELUS_ENCRYPTION_KEYS']));
  let value = opts.fromFile ? await readFile(opts.fromFile, 'utf8') : await readStdin(opts.stdin);
  // `echo secret | caelus secrets set …` must not store the newline echo adds.
  if (!opts.keepTrailingNewline) value = value.replace(/\r?\n$/, '');
  await withDatabase(async ({ db }) => {
    await requireInstance(db, instanceId);
    const meta = await putSecret(db, box, { instanceId, name, value }, { actor: 'cli' });
    out(`secret ${meta.name} of instance ${instanceId} set (version ${meta.version})`);
  });
}

export async function listSecretsCommand(instanceId: string, out: Out = stdout): Promise<void> {
  await withDatabase(async ({ db }) => {
    await requireInstance(db, instanceId);
    const items = await listSecretMeta(db, instanceId);
    if (items.length === 0) out(`instance ${instanceId} has no secrets`);
    for (const s of items) out(`${s.name}\tversion ${s.version}\tupdated ${s.updatedAt.toISOString()}`);
  });
}

export async function deleteSecretCommand(instanceId: string, name: string, out: Out = stdout): Promise<void> {
  await withDatabase(async ({ db }) => {
    await requireInstance(db, instanceId);
    if (!(await deleteSecret(db, instanceId, name, { actor: 'cli' }))) throw new NotFoundError('secret', { instanceId, name });
    out(`secret ${name} of instance ${instanceId} deleted`);
  });
}

async function requireInstance(db: Parameters<typeof getInstance>[0], instanceId: string): Promise<void> {
  const instance = await getInstance(db, instanceId);
  if (!instance) throw new NotFoundError('instance', { id: instanceId });
}

// What the `caelus migrate`, `caelus secrets` and `caelus token` subcommands
// do; src/cli.ts only wires arguments to these.
import { databaseConfigFromEnv, type DatabaseConfig } from '../config/database.ts';
import { parseEncryptionKeys } from '../config/encryption-keys.ts';
import { expiryOf } from '../domain/duration.ts';
import { openDatabase, type DatabaseHandle } from './connect.ts';
import { ValidationError } from './errors.ts';
import { migrateDown, migrateUp, migrationStatus } from './migrator.ts';
import { rotateSecrets } from './repositories/secrets.ts';
import { createApiToken } from './repositories/tokens.ts';
import type { TokenRole } from './schema.ts';
import { SecretBox } from './secret-box.ts';

type Out = (line: string) => void;
const stdout: Out = (l) => process.stdout.write(`${l}\n`);

async function withDatabase<T>(fn: (h: DatabaseHandle) => Promise<T>, config: DatabaseConfig = databaseConfigFromEnv()): Promise<T> {
  const handle = await openDatabase(config);
  try {
    return await fn(handle);
  } finally {
    await handle.destroy();
  }
}

function where(config: DatabaseConfig): string {
  return config.kind === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.dataDir}`;
}

export async function migrateCommand(action: 'up' | 'down' | 'status', out: Out = stdout): Promise<void> {
  const config = databaseConfigFromEnv();
  await withDatabase(async ({ db }) => {
    if (action === 'status') {
      for (const m of await migrationStatus(db)) out(`${m.executedAt ? `applied ${m.executedAt.toISOString()}` : 'pending                      '}  ${m.name}`);
      return;
    }
    const run = action === 'up' ? await migrateUp(db) : await migrateDown(db);
    for (const name of run.names) out(`${action === 'up' ? 'applied' : 'reverted'} ${name}`);
    out(`${where(config)}: ${run.names.length} migration(s) ${action === 'up' ? 'applied' : 'reverted'} in ${run.millis} ms`);
  }, config);
}

/** Opens the configured database and brings it to the latest schema (used by `caelus dev`). */
export async function openMigratedDatabase(out: Out = stdout): Promise<DatabaseHandle> {
  const config = databaseConfigFromEnv();
  const handle = await openDatabase(config);
  try {
    const run = await migrateUp(handle.db);
    out(`database: ${where(config)}, ${run.names.length} migration(s) applied in ${run.millis} ms`);
    return handle;
  } catch (err) {
    await handle.destroy();
    throw err;
  }
}

export async function rotateSecretsCommand(out: Out = stdout): Promise<void> {
  const box = new SecretBox(parseEncryptionKeys(process.env['CAELUS_ENCRYPTION_KEYS']));
  await withDatabase(async ({ db }) => {
    const report = await rotateSecrets(db, box);
    out(`re-encrypted ${report.reencrypted} secret(s) with key "${report.keyId}"`);
    for (const f of report.failed) out(`FAILED instance ${f.instanceId} secret ${f.name}: ${f.error.message}`);
    if (report.failed.length > 0) {
      throw new Error(`${report.failed.length} secret(s) could not be re-encrypted and keep their old key; fix or delete them, then run rotate again`);
    }
  });
}

export async function createTokenCommand(opts: { role: TokenRole; user?: string; name?: string; expires?: string }, out: Out = stdout): Promise<void> {
  let expiresAt: Date | null = null;
  if (opts.expires !== undefined) {
    expiresAt = expiryOf(opts.expires) ?? null;
    if (!expiresAt) throw new ValidationError('--expires', `"${opts.expires}" is neither a lifetime such as 90d, 12h or 1h30m nor a future RFC 3339 date-time`);
  }
  await withDatabase(async ({ db }) => {
    const { token, record } = await createApiToken(
      db,
      { name: opts.name ?? `${opts.role}${opts.user ? `-${opts.user}` : ''}`, role: opts.role, userId: opts.user ?? null, expiresAt },
      { actor: 'cli' },
    );
    const expiry = record.expiresAt ? `, expires ${record.expiresAt.toISOString()}` : '';
    out(`token ${record.id} (${record.role}${record.userId ? `, user ${record.userId}` : ''}${expiry}) created; it is shown only this once:`);
    out(token);
  });
}

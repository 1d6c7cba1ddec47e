// chart_package: pulled chart packages by sha256. Written once at publish;
// read by operator replicas whose local cache lacks a package.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { translateErrors } from '../map-error.ts';
import type { Database } from '../schema.ts';

export const CHART_DIGEST = /^sha256:[0-9a-f]{64}$/;

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Stores the package under its own digest (idempotent: the same bytes are the same row). */
export async function putChartPackage(db: Kysely<Database>, content: Uint8Array): Promise<string> {
  const digest = sha256Digest(content);
  await translateErrors(() =>
    db
      .insertInto('chart_package')
      .values({ digest, content: Buffer.from(content), size: content.byteLength })
      .onConflict((oc) => oc.column('digest').doNothing())
      .execute(),
  );
  return digest;
}

/** The stored bytes (not verified here: the caller checks them against the digest it trusts). */
export async function getChartPackage(db: Kysely<Database>, digest: string): Promise<Uint8Array | undefined> {
  if (!CHART_DIGEST.test(digest)) return undefined;
  const row = await translateErrors(() => db.selectFrom('chart_package').select('content').where('digest', '=', digest).executeTakeFirst());
  return row?.content;
}

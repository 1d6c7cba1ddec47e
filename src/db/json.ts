import { sql, type RawBuilder } from 'kysely';
import type { JsonValue } from './schema.ts';

/**
 * A bound jsonb parameter. The JSON text is bound as `text` and cast on the
 * server, because the two drivers serialise parameters differently: pg turns
 * JS arrays into Postgres array literals, PGlite JSON-encodes strings bound to
 * a jsonb parameter a second time. Text in, jsonb out behaves the same on both.
 */
export function jsonb(value: unknown): RawBuilder<JsonValue> {
  return sql<JsonValue>`cast(cast(${JSON.stringify(value)} as text) as jsonb)`;
}

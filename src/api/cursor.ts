// Opaque list cursors: base64url of the last row's position. Opaque so that
// clients cannot build one and the ordering can change without an API break;
// checked on decode so a tampered cursor is a 400, not a SQL error.
import { badRequest } from './problems.ts';

export interface Position {
  createdAt: string;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Postgres' text form of timestamptz, e.g. 2026-05-01 10:00:00.123456+00
const PG_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.createdAt, p.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): Position {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('/query/cursor', 'is not a cursor returned by this API');
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw badRequest('/query/cursor', 'is not a cursor returned by this API');
  const [createdAt, id] = parsed as unknown[];
  if (typeof createdAt !== 'string' || !PG_TIMESTAMP.test(createdAt) || typeof id !== 'string' || !UUID.test(id)) {
    throw badRequest('/query/cursor', 'is not a cursor returned by this API');
  }
  return { createdAt, id };
}

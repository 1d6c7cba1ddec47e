// Opaque list cursors: base64url of the sort and the last row's position in
// it. Opaque so that clients cannot build one and the ordering can change
// without an API break; checked on decode so a tampered cursor, or one from a
// list in another order, is a 400, not a SQL error or a wrong page.
import type { InstanceSortField, ListPosition } from '../db/repositories/tenant-instances.ts';
import { badRequest } from './problems.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Postgres' text form of timestamptz, e.g. 2026-05-01 10:00:00.123456+00
const PG_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;
const VALUE: Record<InstanceSortField, RegExp> = {
  createdAt: PG_TIMESTAMP,
  updatedAt: PG_TIMESTAMP,
  namespace: /^[a-z0-9-]{1,63}$/,
  status: /^[A-Za-z]{1,32}$/,
};

/** `sort` is the list's sort parameter as given (e.g. `-createdAt`): a cursor only continues the same order. */
export function encodeCursor(sort: string, p: ListPosition): string {
  return Buffer.from(JSON.stringify([sort, p.value, p.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, sort: string, field: InstanceSortField): ListPosition {
  const invalid = () => badRequest('/query/cursor', 'is not a cursor returned by this API');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw invalid();
  const [cursorSort, value, id] = parsed as unknown[];
  if (typeof cursorSort !== 'string' || typeof value !== 'string' || typeof id !== 'string' || !UUID.test(id)) throw invalid();
  if (cursorSort !== sort) throw badRequest('/query/cursor', `belongs to a list sorted by ${cursorSort.slice(0, 16)}, not ${sort}: start again without a cursor`);
  if (!VALUE[field].test(value)) throw invalid();
  return { value, id };
}

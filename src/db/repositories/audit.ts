// audit_event: an append-only record of who changed what. Written in the same
// transaction as the change it describes, so neither exists without the other.
import type { Kysely } from 'kysely';
import { jsonb } from '../json.ts';
import { translateErrors } from '../map-error.ts';
import type { Database, JsonValue } from '../schema.ts';
import { text, uuid } from '../validate.ts';

export interface AuditEvent {
  id: string;
  at: Date;
  actor: string;
  action: string;
  instanceId: string | null;
  detail: JsonValue;
}

export interface NewAudit {
  /** Who: `token:<id>`, `user:<id>`, `cli`, or a field manager for imported CR edits. */
  actor: string;
  /** What, dotted: `instance.create`, `instance.spec`, `secret.put`, … */
  action: string;
  instanceId?: string | null;
  detail?: Record<string, unknown>;
}

export function actorName(value: unknown): string {
  return text('actor', value, { max: 256 });
}

/** Inserts one audit row; pass the transaction of the change it records. */
export async function recordAudit(db: Kysely<Database>, event: NewAudit): Promise<void> {
  await db
    .insertInto('audit_event')
    .values({
      actor: actorName(event.actor),
      action: text('action', event.action, { max: 128 }),
      instance_id: event.instanceId == null ? null : uuid('instanceId', event.instanceId),
      detail: jsonb(event.detail ?? {}),
    })
    .execute();
}

export async function listAuditEvents(db: Kysely<Database>, filter: { instanceId?: string; limit?: number } = {}): Promise<AuditEvent[]> {
  return translateErrors(async () => {
    let q = db.selectFrom('audit_event').selectAll().orderBy('at', 'desc').orderBy('id').limit(Math.min(filter.limit ?? 100, 1000));
    if (filter.instanceId !== undefined) q = q.where('instance_id', '=', uuid('instanceId', filter.instanceId));
    const rows = await q.execute();
    return rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, instanceId: r.instance_id, detail: r.detail }));
  });
}

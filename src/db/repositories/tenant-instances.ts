// Instance queries for a caller acting for a tenant (the REST API). Every
// lookup takes an owner scope that goes INTO the query (`where user_id = …`),
// so a row of another tenant is simply not found: there is no fetch-then-check
// step that a forgotten `if` could turn into a leak.
import { sql, type Kysely } from 'kysely';
import { NotFoundError } from '../errors.ts';
import { translateErrors } from '../map-error.ts';
import type { Database, DeploymentInstanceRow } from '../schema.ts';
import { nonNegativeInt, text, uuid } from '../validate.ts';
import { recordAudit } from './audit.ts';
import { quotaUsage, toInstance, type Instance } from './instances.ts';

/** Whose instances a caller may see: everyone's (admin) or one user's. */
export type OwnerScope = { kind: 'all' } | { kind: 'user'; userId: string };

export interface TenantInstance extends Instance {
  lastActivityAt: Date | null;
  /** The template the pinned version belongs to. */
  templateId: string;
  templateName: string;
  templateVersion: string;
}

/** The live instance `id` if the scope may see it; undefined otherwise (absent and foreign look the same). */
export async function getScopedInstance(db: Kysely<Database>, id: string, scope: OwnerScope): Promise<TenantInstance | undefined> {
  const key = uuid('id', id);
  return translateErrors(async () => {
    let q = joined(db).where('i.id', '=', key).where('i.deleted_at', 'is', null);
    if (scope.kind === 'user') q = q.where('i.user_id', '=', scope.userId);
    const row = await q.executeTakeFirst();
    return row && toTenantInstance(row);
  });
}

export interface ScopedListFilter {
  /** Only with an `all` scope; a user scope already fixes the owner. */
  userId?: string;
  templateId?: string;
  status?: string;
  /** 1..500. */
  limit: number;
  /** Resume after this position (decoded cursor). */
  after?: { createdAt: string; id: string };
}

export interface ScopedListPage {
  items: TenantInstance[];
  /** Position of the last item when more may follow. */
  next?: { createdAt: string; id: string };
}

/**
 * Live instances in creation order. Keyset pagination on (created_at, id):
 * stable while rows are inserted or deleted, unlike OFFSET. created_at is
 * carried as Postgres text, because a JS Date would drop its microseconds and
 * make the next page repeat or skip rows created in the same millisecond.
 */
export async function listScopedInstances(db: Kysely<Database>, scope: OwnerScope, filter: ScopedListFilter): Promise<ScopedListPage> {
  const limit = nonNegativeInt('limit', filter.limit);
  return translateErrors(async () => {
    let q = joined(db)
      .select(sql<string>`i.created_at::text`.as('created_at_text'))
      .where('i.deleted_at', 'is', null)
      .orderBy('i.created_at')
      .orderBy('i.id')
      .limit(limit + 1);
    if (scope.kind === 'user') q = q.where('i.user_id', '=', scope.userId);
    if (filter.userId !== undefined) q = q.where('i.user_id', '=', text('userId', filter.userId, { max: 256 }));
    if (filter.templateId !== undefined) q = q.where('v.template_id', '=', uuid('templateId', filter.templateId));
    if (filter.status !== undefined) q = q.where('i.status', '=', text('status', filter.status, { max: 32 }));
    if (filter.after) {
      const after = filter.after;
      q = q.where((eb) =>
        eb.or([
          eb('i.created_at', '>', sql<Date>`cast(${after.createdAt} as timestamptz)`),
          eb.and([eb('i.created_at', '=', sql<Date>`cast(${after.createdAt} as timestamptz)`), eb('i.id', '>', uuid('cursor', after.id))]),
        ]),
      );
    }
    const rows = await q.execute();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toTenantInstance),
      ...(rows.length > limit && last ? { next: { createdAt: last.created_at_text, id: last.id } } : {}),
    };
  });
}

/**
 * Records that the instance was in use now (idle tracking). Not a spec change:
 * spec_version stays, so the sync has nothing to re-apply; audited like every
 * API write.
 */
export async function recordInstanceActivity(db: Kysely<Database>, id: string, opts: { actor: string; at?: Date }): Promise<TenantInstance> {
  const key = uuid('id', id);
  const at = opts.at ?? new Date();
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('deployment_instance')
        .set({ last_activity_at: at })
        .where('id', '=', key)
        .where('deleted_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (!updated) throw new NotFoundError('instance', { id: key });
      await recordAudit(trx, { actor: opts.actor, action: 'instance.activity', instanceId: key, detail: { at: at.toISOString() } });
      return toTenantInstance(await joined(trx).where('i.id', '=', key).executeTakeFirstOrThrow());
    }),
  );
}

/** The quota of `userId`: its override, else the default; `used` counts live instances and retained namespaces. */
export async function userQuota(
  db: Kysely<Database>,
  userId: string,
  defaultMaxInstances: number,
): Promise<{ limit: number; overridden: boolean; used: number; retained: number }> {
  const user = text('userId', userId, { max: 256 });
  return translateErrors(async () => {
    const override = await db.selectFrom('user_quota').select('max_instances').where('user_id', '=', user).executeTakeFirst();
    const used = await quotaUsage(db, user);
    return { limit: override?.max_instances ?? defaultMaxInstances, overridden: override !== undefined, used: used.live + used.retained, retained: used.retained };
  });
}

/** Sets (or with null, removes) the per-user override; audited. */
export async function setUserQuota(db: Kysely<Database>, userId: string, maxInstances: number | null, opts: { actor: string }): Promise<void> {
  const user = text('userId', userId, { max: 256 });
  const max = maxInstances === null ? null : nonNegativeInt('maxInstances', maxInstances);
  await translateErrors(() =>
    db.transaction().execute(async (trx) => {
      if (max === null) await trx.deleteFrom('user_quota').where('user_id', '=', user).execute();
      else {
        await trx
          .insertInto('user_quota')
          .values({ user_id: user, max_instances: max })
          .onConflict((oc) => oc.column('user_id').doUpdateSet({ max_instances: max, updated_at: new Date() }))
          .execute();
      }
      await recordAudit(trx, { actor: opts.actor, action: 'quota.set', detail: { userId: user, maxInstances: max } });
    }),
  );
}

function joined(db: Kysely<Database>) {
  return db
    .selectFrom('deployment_instance as i')
    .innerJoin('product_template_version as v', 'v.id', 'i.product_template_version_id')
    .innerJoin('product_template as t', 't.id', 'v.template_id')
    .selectAll('i')
    .select(['v.template_id as template_id', 't.name as template_name', 'v.version as template_version']);
}

function toTenantInstance(row: DeploymentInstanceRow & { template_id: string; template_name: string; template_version: string }): TenantInstance {
  return {
    ...toInstance(row),
    lastActivityAt: row.last_activity_at,
    templateId: row.template_id,
    templateName: row.template_name,
    templateVersion: row.template_version,
  };
}

// Instance queries for a caller acting for a tenant (the REST API). Every
// lookup takes an owner scope that goes INTO the query (`where user_id = …`),
// so a row of another tenant is simply not found: there is no fetch-then-check
// step that a forgotten `if` could turn into a leak.
import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool } from 'kysely';
import { newestVersions } from '../../domain/newest-version.ts';
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

export type InstanceSortField = 'createdAt' | 'updatedAt' | 'namespace' | 'status';
export interface InstanceSort {
  field: InstanceSortField;
  descending: boolean;
}

/** Where a page ends: the sort key of its last row as Postgres text, and its id (the tie-break). */
export interface ListPosition {
  value: string;
  id: string;
}

export interface ScopedListFilter {
  /** Only with an `all` scope; a user scope already fixes the owner. */
  userId?: string;
  templateId?: string;
  templateVersionId?: string;
  status?: string;
  /** Pinned to one of these versions (`in`: true) or to none of them (false): the newest versions, for the outdated filter. */
  versionIds?: { in: boolean; ids: readonly string[] };
  /** Case-insensitive substring of the namespace, the domain name or the template name. */
  search?: string;
}

export interface ScopedListQuery extends ScopedListFilter {
  /** Default: creation, oldest first. */
  sort?: InstanceSort;
  /** 1..500. */
  limit: number;
  /** Resume after this position (decoded cursor) in the same sort. */
  after?: ListPosition;
}

export interface ScopedListPage {
  items: TenantInstance[];
  /** Position of the last item when more may follow. */
  next?: ListPosition;
}

const SORT_COLUMNS = { createdAt: 'i.created_at', updatedAt: 'i.updated_at', namespace: 'i.namespace', status: 'i.status' } as const;
const TIME_SORTS = new Set<InstanceSortField>(['createdAt', 'updatedAt']);

/**
 * Live instances in the requested order. Keyset pagination on (sort key, id):
 * stable while rows are inserted or deleted, unlike OFFSET, and served by the
 * indexes of migration 0030. Timestamps are carried as Postgres text, because
 * a JS Date would drop their microseconds and make the next page repeat or
 * skip rows created in the same millisecond.
 */
export async function listScopedInstances(db: Kysely<Database>, scope: OwnerScope, query: ScopedListQuery): Promise<ScopedListPage> {
  const limit = nonNegativeInt('limit', query.limit);
  const sort = query.sort ?? { field: 'createdAt', descending: false };
  const column = sql.ref(SORT_COLUMNS[sort.field]);
  const direction = sort.descending ? 'desc' : 'asc';
  const conditions = filterConditions(scope, query);
  return translateErrors(async () => {
    let q = joined(db)
      .select(sql<string>`${column}::text`.as('sort_key'))
      .where(conditions)
      .orderBy(SORT_COLUMNS[sort.field], direction)
      .orderBy('i.id', direction)
      .limit(limit + 1);
    if (query.after) {
      const value = TIME_SORTS.has(sort.field) ? sql`cast(${query.after.value} as timestamptz)` : sql`${text('cursor', query.after.value, { max: 256 })}`;
      const id = uuid('cursor', query.after.id);
      // A row comparison: one index range scan, in either direction.
      q = q.where(sql<boolean>`(${column}, i.id) ${sql.raw(sort.descending ? '<' : '>')} (${value}, cast(${id} as uuid))`);
    }
    const rows = await q.execute();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toTenantInstance),
      ...(rows.length > limit && last ? { next: { value: last.sort_key, id: last.id } } : {}),
    };
  });
}

/** How many live instances match the filter (the list's `total`). */
export async function countScopedInstances(db: Kysely<Database>, scope: OwnerScope, filter: ScopedListFilter): Promise<number> {
  const conditions = filterConditions(scope, filter);
  return translateErrors(async () => {
    const row = await from(db).select(sql<string>`count(*)`.as('n')).where(conditions).executeTakeFirstOrThrow();
    return Number(row.n);
  });
}

function filterConditions(scope: OwnerScope, f: ScopedListFilter) {
  const userId = f.userId === undefined ? undefined : text('userId', f.userId, { max: 256 });
  const templateId = f.templateId === undefined ? undefined : uuid('templateId', f.templateId);
  const templateVersionId = f.templateVersionId === undefined ? undefined : uuid('templateVersionId', f.templateVersionId);
  const status = f.status === undefined ? undefined : text('status', f.status, { max: 32 });
  const versionIds = f.versionIds && { in: f.versionIds.in, ids: f.versionIds.ids.map((id) => uuid('versionIds', id)) };
  const pattern = f.search === undefined ? undefined : `%${text('search', f.search, { max: 100 }).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return (eb: ExpressionBuilder<Joined, 'i' | 'v' | 't'>) => {
    const all: Expression<SqlBool>[] = [eb('i.deleted_at', 'is', null)];
    if (scope.kind === 'user') all.push(eb('i.user_id', '=', scope.userId));
    if (userId !== undefined) all.push(eb('i.user_id', '=', userId));
    if (templateId !== undefined) all.push(eb('v.template_id', '=', templateId));
    if (templateVersionId !== undefined) all.push(eb('i.product_template_version_id', '=', templateVersionId));
    if (status !== undefined) all.push(eb('i.status', '=', status));
    if (versionIds) {
      if (versionIds.ids.length > 0) all.push(eb('i.product_template_version_id', versionIds.in ? 'in' : 'not in', versionIds.ids));
      else if (versionIds.in) all.push(sql<boolean>`false`);
    }
    if (pattern !== undefined) all.push(eb.or([eb('i.namespace', 'ilike', pattern), eb('i.domain_name', 'ilike', pattern), eb('t.name', 'ilike', pattern)]));
    return eb.and(all);
  };
}

/** The newest version of every template (GET /instances: latestVersion, outdated). */
export async function newestTemplateVersions(db: Kysely<Database>): Promise<Map<string, { id: string; templateId: string; version: string }>> {
  return translateErrors(async () => {
    const rows = await db.selectFrom('product_template_version').select(['id', 'template_id as templateId', 'version']).execute();
    return newestVersions(rows);
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

type Joined = Database & { i: Database['deployment_instance']; v: Database['product_template_version']; t: Database['product_template'] };

function from(db: Kysely<Database>) {
  return db
    .selectFrom('deployment_instance as i')
    .innerJoin('product_template_version as v', 'v.id', 'i.product_template_version_id')
    .innerJoin('product_template as t', 't.id', 'v.template_id');
}

function joined(db: Kysely<Database>) {
  return from(db)
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

export interface UserUsage {
  userId: string;
  /** Live instances. */
  instances: number;
  quota: { limit: number; used: number; retained: number; overridden: boolean };
}

/**
 * Every user the platform knows of (an owner of live instances or retained
 * namespaces, a quota override, or an unrevoked user token) with their usage,
 * by user id: the admin's quota page. Same rule as userQuota, in four
 * grouped queries instead of one per user.
 */
export async function listUserUsage(db: Kysely<Database>, defaultMaxInstances: number): Promise<UserUsage[]> {
  return translateErrors(async () => {
    const [live, retained, overrides, tokens] = await Promise.all([
      db.selectFrom('deployment_instance').select(['user_id', (eb) => eb.fn.countAll<string>().as('n')]).where('deleted_at', 'is', null).groupBy('user_id').execute(),
      db.selectFrom('retained_namespace').select(['user_id', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('user_id').execute(),
      db.selectFrom('user_quota').select(['user_id', 'max_instances']).execute(),
      db.selectFrom('api_token').select('user_id').distinct().where('user_id', 'is not', null).where('revoked_at', 'is', null).execute(),
    ]);
    const liveBy = new Map(live.map((r) => [r.user_id, Number(r.n)]));
    const retainedBy = new Map(retained.map((r) => [r.user_id, Number(r.n)]));
    const overrideBy = new Map(overrides.map((r) => [r.user_id, r.max_instances]));
    const users = new Set([...liveBy.keys(), ...retainedBy.keys(), ...overrideBy.keys(), ...tokens.flatMap((t) => (t.user_id === null ? [] : [t.user_id]))]);
    return [...users].sort().map((userId) => {
      const instances = liveBy.get(userId) ?? 0;
      const kept = retainedBy.get(userId) ?? 0;
      const override = overrideBy.get(userId);
      return {
        userId,
        instances,
        quota: { limit: override ?? defaultMaxInstances, used: instances + kept, retained: kept, overridden: override !== undefined },
      };
    });
  });
}

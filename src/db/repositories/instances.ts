// deployment_instance. Every spec change bumps spec_version and writes an
// audit row in the same transaction; status updates from the operator do
// neither (they are observations, not changes of intent).
import { sql, type Kysely, type Transaction } from 'kysely';
import { DOMAIN } from '../../domain/naming.ts';
import { validateValues } from '../../domain/values-schema.ts';
import { ConflictError, InvalidValuesError, NotFoundError, QuotaExceededError, RetainedNamespaceError, UnknownTemplateVersionError } from '../errors.ts';
import { jsonb } from '../json.ts';
import { translateErrors } from '../map-error.ts';
import {
  DELETION_POLICIES,
  INSTANCE_SOURCES,
  INSTANCE_STATES,
  type Database,
  type DeletionPolicy,
  type DeploymentInstanceRow,
  type InstanceSource,
  type InstanceState,
  type JsonObject,
} from '../schema.ts';
import { dnsLabel, jsonObject, nonNegativeInt, oneOf, optionalDate, optionalText, shardName, text, uuid } from '../validate.ts';
import { recordAudit } from './audit.ts';

export interface Instance {
  id: string;
  userId: string;
  productTemplateVersionId: string;
  namespace: string;
  domainName: string | null;
  values: JsonObject;
  state: InstanceState;
  status: string;
  statusMessage: string | null;
  specVersion: number;
  observedSpecVersion: number | null;
  helmRevision: number | null;
  source: InstanceSource;
  lastReconcileAt: Date | null;
  expiresAt: Date | null;
  /** What deleting the instance does to its namespace (Delete | Retain). */
  deletionPolicy: DeletionPolicy;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface NewInstance {
  userId: string;
  productTemplateVersionId: string;
  namespace: string;
  domainName?: string | null;
  values?: Record<string, unknown>;
  state?: InstanceState;
  /** `cluster` when adopting a CR created outside the API (GitOps). */
  source?: InstanceSource;
  expiresAt?: Date | null;
  /** Default Delete. */
  deletionPolicy?: DeletionPolicy;
  /** The shard the instance is assigned to (src/domain/shard.ts); default none = the default shard. */
  shard?: string | null;
}

export interface SpecPatch {
  productTemplateVersionId?: string;
  domainName?: string | null;
  values?: Record<string, unknown>;
  state?: InstanceState;
  expiresAt?: Date | null;
  deletionPolicy?: DeletionPolicy;
}

export interface SpecWriteOptions {
  actor: string;
  /** Refuse the change unless the row is still at this spec_version (optimistic concurrency). */
  expectedSpecVersion?: number;
  /**
   * The change comes from the cluster (an imported CR edit). Without it, spec
   * changes to instances whose source is `cluster` are refused: git is their
   * source of truth (DESIGN §5).
   */
  fromCluster?: boolean;
}

export interface StatusUpdate {
  status: string;
  statusMessage?: string | null;
  observedSpecVersion?: number | null;
  helmRevision?: number | null;
  reconciledAt?: Date;
}

const PHASE = /^[A-Z][A-Za-z]{0,31}$/;

function userId(value: unknown): string {
  return text('userId', value, { max: 256 });
}
function domainName(value: unknown): string | null {
  return optionalText('domainName', value, { max: 253, pattern: DOMAIN, patternHint: 'must be a lower-case DNS name' });
}

export interface QuotaLimits {
  /** Applies unless user_quota has a row for the user. */
  defaultMaxInstances: number;
}

export interface CreateOptions {
  actor: string;
  /**
   * Enforce the owner's instance quota (API creates). Live instances and
   * namespaces retained from deleted ones count. Race-safe: a
   * transaction-scoped advisory lock keyed by the user serialises concurrent
   * creates of one user on PostgreSQL (count and insert happen under it),
   * while different users never wait for each other; PGlite is serial anyway.
   */
  quota?: QuotaLimits;
}

/**
 * The one way an instance row is created (API, adoption of GitOps CRs, dev
 * registration): inputs checked, overrides validated against the version's
 * values schema once, quota when asked, audit row, one transaction.
 */
export async function createInstance(db: Kysely<Database>, input: NewInstance, opts: CreateOptions): Promise<Instance> {
  const row = {
    user_id: userId(input?.userId),
    product_template_version_id: uuid('productTemplateVersionId', input.productTemplateVersionId),
    namespace: dnsLabel('namespace', input.namespace),
    domain_name: domainName(input.domainName),
    values: jsonObject('values', input.values ?? {}),
    state: input.state === undefined ? 'Running' : oneOf('state', input.state, INSTANCE_STATES),
    source: input.source === undefined ? 'api' : oneOf('source', input.source, INSTANCE_SOURCES),
    expires_at: optionalDate('expiresAt', input.expiresAt),
    deletion_policy: input.deletionPolicy === undefined ? 'Delete' : oneOf('deletionPolicy', input.deletionPolicy, DELETION_POLICIES),
    shard: input.shard == null ? null : shardName(input.shard),
  } as const;
  const defaultMax = opts.quota && nonNegativeInt('defaultMaxInstances', opts.quota.defaultMaxInstances);
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const version = await checkRoom(trx, row.user_id, row.namespace, defaultMax, row.product_template_version_id);
      checkValues(row.product_template_version_id, version, row.values);
      const created = await trx
        .insertInto('deployment_instance')
        .values({ ...row, values: jsonb(row.values), status: 'Pending' })
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordAudit(trx, {
        actor: opts.actor,
        action: 'instance.create',
        instanceId: created.id,
        detail: { namespace: row.namespace, productTemplateVersionId: row.product_template_version_id, userId: row.user_id, source: row.source },
      });
      return toInstance(created);
    }),
  );
}

/** What counts toward a user's quota: live instances and retained namespaces. */
export async function quotaUsage(db: Kysely<Database>, user: string): Promise<{ live: number; retained: number }> {
  const [live, retained] = await Promise.all([
    db.selectFrom('deployment_instance').select((eb) => eb.fn.countAll<string>().as('n')).where('user_id', '=', user).where('deleted_at', 'is', null).executeTakeFirstOrThrow(),
    db.selectFrom('retained_namespace').select((eb) => eb.fn.countAll<string>().as('n')).where('user_id', '=', user).executeTakeFirstOrThrow(),
  ]);
  return { live: Number(live.n), retained: Number(retained.n) };
}

/**
 * The namespace is not retained and, with a quota, the user has room; returns
 * the pinned version's values schema (undefined: no such version) from the
 * same round trip. The quota lock is its own statement: a statement's
 * snapshot is taken when it starts, so counts in the locking statement could
 * miss a create that held the lock meanwhile. Everything else is one round
 * trip, which also keeps the lock held briefly.
 */
async function checkRoom(
  trx: Transaction<Database>,
  user: string,
  namespace: string,
  defaultMax: number | undefined,
  versionId: string,
): Promise<{ valuesSchema: JsonObject | null } | undefined> {
  if (defaultMax !== undefined) await sql`select pg_advisory_xact_lock(hashtextextended(${`caelus.instance-quota:${user}`}, 0))`.execute(trx);
  const found = await trx
    .selectNoFrom((eb) => [
      eb.exists(eb.selectFrom('retained_namespace').select('namespace').where('namespace', '=', namespace)).as('retained_here'),
      eb.selectFrom('user_quota').select('max_instances').where('user_id', '=', user).as('override'),
      eb.selectFrom('deployment_instance').select((e) => e.fn.countAll<string>().as('n')).where('user_id', '=', user).where('deleted_at', 'is', null).as('live'),
      eb.selectFrom('retained_namespace').select((e) => e.fn.countAll<string>().as('n')).where('user_id', '=', user).as('retained'),
      eb.exists(eb.selectFrom('product_template_version').select('id').where('id', '=', versionId)).as('version_exists'),
      eb.selectFrom('product_template_version').select('values_schema').where('id', '=', versionId).as('values_schema'),
    ])
    .executeTakeFirstOrThrow();
  if (found.retained_here) throw new RetainedNamespaceError(namespace);
  if (defaultMax !== undefined) {
    const limit = found.override ?? defaultMax;
    const [live, retained] = [Number(found.live), Number(found.retained)];
    if (live + retained >= limit) throw new QuotaExceededError(user, limit, live + retained, retained);
  }
  return found.version_exists ? { valuesSchema: (found.values_schema as JsonObject | null) ?? null } : undefined;
}

export async function getInstance(db: Kysely<Database>, id: string, opts: { includeDeleted?: boolean } = {}): Promise<Instance | undefined> {
  const key = uuid('id', id);
  return translateErrors(async () => {
    let q = db.selectFrom('deployment_instance').selectAll().where('id', '=', key);
    if (!opts.includeDeleted) q = q.where('deleted_at', 'is', null);
    const row = await q.executeTakeFirst();
    return row && toInstance(row);
  });
}

/** The live instance in `namespace`. */
export async function getInstanceByNamespace(db: Kysely<Database>, namespace: string): Promise<Instance | undefined> {
  const ns = dnsLabel('namespace', namespace);
  return translateErrors(async () => {
    const row = await db.selectFrom('deployment_instance').selectAll().where('namespace', '=', ns).where('deleted_at', 'is', null).executeTakeFirst();
    return row && toInstance(row);
  });
}

export interface InstanceFilter {
  userId?: string;
  status?: string;
  includeDeleted?: boolean;
  /** Default 100, at most 1000. */
  limit?: number;
}

/** Live instances, least recently updated first. */
export async function listInstances(db: Kysely<Database>, filter: InstanceFilter = {}): Promise<Instance[]> {
  const limit = filter.limit === undefined ? 100 : Math.min(nonNegativeInt('limit', filter.limit), 1000);
  return translateErrors(async () => {
    let q = db.selectFrom('deployment_instance').selectAll().orderBy('updated_at').orderBy('id').limit(limit);
    if (!filter.includeDeleted) q = q.where('deleted_at', 'is', null);
    if (filter.userId !== undefined) q = q.where('user_id', '=', userId(filter.userId));
    if (filter.status !== undefined) q = q.where('status', '=', text('status', filter.status, { max: 32, pattern: PHASE }));
    return (await q.execute()).map(toInstance);
  });
}

/** Changes the spec: bumps spec_version, records an audit row naming the changed fields. */
export async function updateInstanceSpec(db: Kysely<Database>, id: string, patch: SpecPatch, opts: SpecWriteOptions): Promise<Instance> {
  const key = uuid('id', id);
  const changes: {
    product_template_version_id?: string;
    domain_name?: string | null;
    values?: JsonObject;
    state?: InstanceState;
    expires_at?: Date | null;
    deletion_policy?: DeletionPolicy;
  } = {};
  if (patch?.productTemplateVersionId !== undefined) changes.product_template_version_id = uuid('productTemplateVersionId', patch.productTemplateVersionId);
  if (patch.domainName !== undefined) changes.domain_name = domainName(patch.domainName);
  if (patch.values !== undefined) changes.values = jsonObject('values', patch.values);
  if (patch.state !== undefined) changes.state = oneOf('state', patch.state, INSTANCE_STATES);
  if (patch.expiresAt !== undefined) changes.expires_at = optionalDate('expiresAt', patch.expiresAt);
  if (patch.deletionPolicy !== undefined) changes.deletion_policy = oneOf('deletionPolicy', patch.deletionPolicy, DELETION_POLICIES);
  const expected = opts.expectedSpecVersion === undefined ? undefined : nonNegativeInt('expectedSpecVersion', opts.expectedSpecVersion);

  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      // Row lock: concurrent spec changes serialise, each sees the other's bump.
      const current = await trx.selectFrom('deployment_instance').selectAll().where('id', '=', key).where('deleted_at', 'is', null).forUpdate().executeTakeFirst();
      if (!current) throw new NotFoundError('instance', { id: key });
      if (current.source === 'cluster' && !opts.fromCluster) {
        throw new ConflictError('the instance is managed from the cluster (GitOps); change its CaelusInstance instead', { id: key });
      }
      if (expected !== undefined && current.spec_version !== expected) {
        throw new ConflictError(`spec_version is ${current.spec_version}, expected ${expected}`, { id: key, specVersion: current.spec_version, expected });
      }
      if (changes.values !== undefined || changes.product_template_version_id !== undefined) {
        await checkValuesAgainstVersion(
          trx,
          changes.product_template_version_id ?? current.product_template_version_id,
          changes.values ?? (current.values as JsonObject),
        );
      }
      const { values, ...rest } = changes;
      const updated = await trx
        .updateTable('deployment_instance')
        .set((eb) => ({
          ...rest,
          ...(values === undefined ? {} : { values: jsonb(values) }),
          spec_version: eb('spec_version', '+', 1),
          updated_at: new Date(),
        }))
        .where('id', '=', key)
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordAudit(trx, {
        actor: opts.actor,
        action: 'instance.spec',
        instanceId: key,
        detail: { fields: Object.keys(changes), specVersion: updated.spec_version, fromCluster: opts.fromCluster === true },
      });
      return toInstance(updated);
    }),
  );
}

/** Copies the observed status (from the CR) to the row. Not audited, does not touch spec_version. */
export async function recordInstanceStatus(db: Kysely<Database>, id: string, update: StatusUpdate): Promise<Instance> {
  const key = uuid('id', id);
  const set = {
    status: text('status', update?.status, { max: 32, pattern: PHASE, patternHint: 'must be a phase name such as Running' }),
    status_message: optionalText('statusMessage', update.statusMessage, { min: 0, max: 4096 }),
    ...(update.observedSpecVersion === undefined
      ? {}
      : { observed_spec_version: update.observedSpecVersion === null ? null : nonNegativeInt('observedSpecVersion', update.observedSpecVersion) }),
    ...(update.helmRevision === undefined ? {} : { helm_revision: update.helmRevision === null ? null : nonNegativeInt('helmRevision', update.helmRevision) }),
    last_reconcile_at: optionalDate('reconciledAt', update.reconciledAt) ?? new Date(),
    updated_at: new Date(),
  };
  return translateErrors(async () => {
    const row = await db.updateTable('deployment_instance').set(set).where('id', '=', key).returningAll().executeTakeFirst();
    if (!row) throw new NotFoundError('instance', { id: key });
    return toInstance(row);
  });
}

/** Soft-deletes: the row stays for the record, its namespace becomes free for a new instance. */
export async function markInstanceDeleted(db: Kysely<Database>, id: string, opts: { actor: string }): Promise<Instance> {
  const key = uuid('id', id);
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('deployment_instance')
        .set({ deleted_at: new Date(), updated_at: new Date() })
        .where('id', '=', key)
        .where('deleted_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new NotFoundError('instance', { id: key });
      // A retained namespace keeps the tenant's volumes: it stays on the owner's quota until released.
      if (row.deletion_policy === 'Retain') {
        await trx
          .insertInto('retained_namespace')
          .values({ namespace: row.namespace, user_id: row.user_id, instance_id: row.id })
          .onConflict((oc) => oc.column('namespace').doNothing())
          .execute();
      }
      await recordAudit(trx, { actor: opts.actor, action: 'instance.delete', instanceId: key, detail: { namespace: row.namespace, deletionPolicy: row.deletion_policy } });
      return toInstance(row);
    }),
  );
}

export interface RetainedNamespace {
  namespace: string;
  userId: string;
  instanceId: string;
  retainedAt: Date;
}

/** Namespaces kept by Retain deletions, optionally of one user, oldest first. */
export async function listRetainedNamespaces(db: Kysely<Database>, filter: { userId?: string } = {}): Promise<RetainedNamespace[]> {
  return translateErrors(async () => {
    let q = db.selectFrom('retained_namespace').selectAll().orderBy('retained_at').orderBy('namespace');
    if (filter.userId !== undefined) q = q.where('user_id', '=', userId(filter.userId));
    return (await q.execute()).map((r) => ({ namespace: r.namespace, userId: r.user_id, instanceId: r.instance_id, retainedAt: r.retained_at }));
  });
}

/** Releases a retained namespace (its owner's quota and its name become free); audited. */
export async function releaseRetainedNamespace(db: Kysely<Database>, namespace: string, opts: { actor: string }): Promise<RetainedNamespace> {
  const ns = dnsLabel('namespace', namespace);
  return translateErrors(() =>
    db.transaction().execute(async (trx) => {
      const r = await trx.deleteFrom('retained_namespace').where('namespace', '=', ns).returningAll().executeTakeFirst();
      if (!r) throw new NotFoundError('retained namespace', { namespace: ns });
      await recordAudit(trx, { actor: opts.actor, action: 'namespace.release', instanceId: r.instance_id, detail: { namespace: ns, userId: r.user_id } });
      return { namespace: r.namespace, userId: r.user_id, instanceId: r.instance_id, retainedAt: r.retained_at };
    }),
  );
}

async function checkValuesAgainstVersion(trx: Transaction<Database>, versionId: string, values: JsonObject): Promise<void> {
  const version = await trx.selectFrom('product_template_version').select('values_schema').where('id', '=', versionId).executeTakeFirst();
  checkValues(versionId, version && { valuesSchema: version.values_schema as JsonObject | null }, values);
}

/** The version exists and, if it declares a values schema, the overrides satisfy it. */
function checkValues(versionId: string, version: { valuesSchema: JsonObject | null } | undefined, values: JsonObject): void {
  if (!version) throw new UnknownTemplateVersionError(`unknown product template version ${versionId}`, { productTemplateVersionId: versionId });
  if (version.valuesSchema === null) return;
  const result = validateValues(version.valuesSchema, values);
  if (!result.ok) throw new InvalidValuesError(result.violations);
}

export function toInstance(row: DeploymentInstanceRow): Instance {
  return {
    id: row.id,
    userId: row.user_id,
    productTemplateVersionId: row.product_template_version_id,
    namespace: row.namespace,
    domainName: row.domain_name,
    values: row.values as JsonObject,
    state: row.state,
    status: row.status,
    statusMessage: row.status_message,
    specVersion: row.spec_version,
    observedSpecVersion: row.observed_spec_version,
    helmRevision: row.helm_revision,
    source: row.source,
    lastReconcileAt: row.last_reconcile_at,
    expiresAt: row.expires_at,
    deletionPolicy: row.deletion_policy,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  };
}

// TypeBox schemas of the fleet rollout routes (src/api/routes/rollouts.ts):
// fastify validates requests with them, the route types are derived from them
// (@fastify/type-provider-typebox) and the OpenAPI document publishes them.
// Ranges of the strategy knobs live here, once; what only makes sense across
// fields is checked by resolveStrategy (src/domain/rollout.ts).
import { Type, type Static } from 'typebox';
import { ROLLOUT_INSTANCE_STATES, ROLLOUT_STATES } from '../domain/rollout.ts';

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const VERSION_REF = `^((${UUID.slice(1, -1)})|([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?@[0-9A-Za-z.+-]{1,128}))$`;
const DNS_LABEL_63 = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const PRINTABLE = '^[^\\u0000-\\u001f\\u007f]*$';

const uuid = Type.String({ pattern: UUID, description: 'a UUID' });
const dateTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const stringEnum = <T extends readonly string[]>(values: T, description?: string) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });

export const strategySchema = Type.Object(
  {
    canary: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'instances in the first wave (default 1)' })),
    growth: Type.Optional(Type.Number({ minimum: 1, maximum: 100, description: 'each later wave is this many times the previous one (default 2)' })),
    maxWaveSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'largest wave (default 50)' })),
    maxConcurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'instances upgrading at once (default 4)' })),
    maxFailures: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'the run stops once this many instances failed (default 1)' })),
    maxFailurePercent: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 100 }), Type.Null()], { description: '...or once this percentage of waved instances failed (default none)' })),
    bakeSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400, description: 'Ready=True must hold this long after the proven upgrade, per wave (default 60)' })),
    progressDeadlineSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400, description: 'from writing the target version to proof, per instance (default 600)' })),
    approval: Type.Optional(stringEnum(['auto', 'manual'] as const, 'manual: wait for POST /rollouts/{id}/approve after the canary wave (default auto)')),
    onFailure: Type.Optional(stringEnum(['pause', 'rollback'] as const, 'when the failure budget is spent: stop the run (Failed) or roll back every upgraded instance (default pause)')),
  },
  { additionalProperties: false },
);
export type StrategyInput = Static<typeof strategySchema>;

export const createRolloutBody = Type.Object(
  {
    templateVersionId: Type.String({ maxLength: 200, pattern: VERSION_REF, description: 'the target: a template version UUID or <template name>@<version>' }),
    selector: Type.Optional(
      Type.Object(
        {
          fromVersions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: PRINTABLE }), { maxItems: 100 })),
          userIds: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256, pattern: PRINTABLE }), { maxItems: 10_000 })),
          instanceIds: Type.Optional(Type.Array(uuid, { maxItems: 100_000 })),
        },
        { additionalProperties: false, description: 'default: every instance of the target template (those at or above the target are listed as Skipped)' },
      ),
    ),
    strategyName: Type.Optional(Type.String({ maxLength: 63, pattern: DNS_LABEL_63, description: 'a saved strategy (/rollout-strategies); `strategy` fields override it' })),
    strategy: Type.Optional(strategySchema),
    includeHibernated: Type.Optional(Type.Boolean({ default: false, description: 'upgrade hibernated instances now instead of deferring them until they wake' })),
  },
  { additionalProperties: false },
);

export const rolloutParams = Type.Object({ id: uuid }, { additionalProperties: false });
export const strategyParams = Type.Object({ name: Type.String({ maxLength: 63, pattern: DNS_LABEL_63 }) }, { additionalProperties: false });
export const listRolloutsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) }, { additionalProperties: false });

const counts = Type.Object(Object.fromEntries(ROLLOUT_INSTANCE_STATES.map((s) => [s, Type.Integer()])), { additionalProperties: true });

export const rolloutSchema = Type.Object(
  {
    id: Type.String(),
    template: Type.Object({ id: Type.String(), name: Type.String() }),
    targetVersion: Type.Object({ id: Type.String(), version: Type.String() }),
    state: stringEnum(ROLLOUT_STATES),
    strategy: Type.Object({}, { additionalProperties: true }),
    strategyName: Type.Union([Type.String(), Type.Null()]),
    selector: Type.Object({}, { additionalProperties: true }),
    includeHibernated: Type.Boolean(),
    currentWave: Type.Integer(),
    waveCount: Type.Integer(),
    counts,
    total: Type.Integer(),
    message: Type.Union([Type.String(), Type.Null()]),
    createdBy: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    startedAt: dateTime,
    finishedAt: dateTime,
    approvedAt: dateTime,
    rollbackRequestedAt: dateTime,
  },
  { additionalProperties: true },
);

export const rolloutInstanceSchema = Type.Object(
  {
    instanceId: Type.String(),
    namespace: Type.String(),
    userId: Type.String(),
    wave: Type.Union([Type.Integer(), Type.Null()]),
    sourceVersion: Type.Object({ id: Type.String(), version: Type.String() }),
    state: stringEnum(ROLLOUT_INSTANCE_STATES),
    reason: Type.Union([Type.String(), Type.Null()]),
    beforeRevision: Type.Union([Type.Integer(), Type.Null()]),
    startedAt: dateTime,
    bakingSince: dateTime,
    finishedAt: dateTime,
    rollbackStartedAt: dateTime,
  },
  { additionalProperties: true },
);

export const rolloutDetailSchema = Type.Object(
  { ...rolloutSchema.properties, waves: Type.Array(Type.Integer(), { description: 'planned wave sizes' }), instances: Type.Array(rolloutInstanceSchema) },
  { additionalProperties: true },
);
export const rolloutListSchema = Type.Object({ items: Type.Array(rolloutSchema) });

export const strategyViewSchema = Type.Object(
  { name: Type.String(), strategy: Type.Object({}, { additionalProperties: true }), resolved: Type.Object({}, { additionalProperties: true }), createdAt: Type.String(), updatedAt: Type.String() },
  { additionalProperties: true },
);
export const strategyListSchema = Type.Object({ items: Type.Array(strategyViewSchema) });

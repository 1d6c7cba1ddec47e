// Schemas of the routes the web console needs beyond the instance CRUD
// (issue 16; docs/console-api.md): who am I, users and their quotas, an
// instance's Events, Helm history, release objects, namespace quota, values
// preview and the change stream. Same conventions as schemas.ts.
import { Type, type Static } from 'typebox';
import { freeObject, nullable, responseObject, stringEnum, versionRef } from './schemas.ts';

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const dateTime = Type.String({ format: 'date-time' });

export const meSchema = responseObject({
  role: stringEnum(['admin', 'user']),
  userId: nullable(Type.String()),
  tokenName: Type.String(),
  expiresAt: { ...nullable(dateTime), description: 'null: the token never expires' },
});

export const userListSchema = responseObject({
  items: Type.Array(
    responseObject({
      userId: Type.String(),
      instances: Type.Integer({ description: 'live instances' }),
      quota: responseObject({
        limit: Type.Integer(),
        used: Type.Integer({ description: 'live instances plus retained namespaces' }),
        retained: Type.Integer(),
        overridden: Type.Boolean(),
      }),
    }),
  ),
});

export const eventsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) }, { additionalProperties: false });

export const eventListSchema = responseObject({
  items: Type.Array(
    responseObject({
      type: Type.String({ description: 'Normal or Warning' }),
      reason: Type.String(),
      message: Type.String(),
      object: responseObject({ kind: Type.String(), name: Type.String(), namespace: nullable(Type.String()) }),
      count: Type.Integer(),
      firstSeen: nullable(dateTime),
      lastSeen: nullable(dateTime),
      source: Type.String(),
    }),
  ),
});
export type InstanceEvent = Static<typeof eventListSchema>['items'][number];

export const historySchema = responseObject({
  items: Type.Array(
    responseObject({
      revision: Type.Integer(),
      status: Type.String(),
      chart: nullable(Type.String()),
      chartVersion: nullable(Type.String()),
      appVersion: nullable(Type.String()),
      updatedAt: nullable(Type.String()),
      description: Type.String(),
      trusted: Type.Boolean({ description: 'false: the record failed basic checks (shown as stored, never acted on)' }),
      problem: nullable(Type.String({ description: 'why the record is not trusted' })),
    }),
  ),
});
export type HistoryEntry = Static<typeof historySchema>['items'][number];

export const objectsSchema = responseObject({
  revision: nullable(Type.Integer({ description: 'the deployed revision whose manifest lists the objects' })),
  items: Type.Array(
    responseObject({
      apiVersion: Type.String(),
      kind: Type.String(),
      name: Type.String(),
      namespace: nullable(Type.String()),
      present: Type.Boolean(),
      ready: Type.Unsafe<boolean | null>({ type: ['boolean', 'null'], description: 'null: the kind has no readiness notion (or the object is absent)' }),
      summary: Type.String(),
    }),
  ),
});
export type ReleaseObjects = Static<typeof objectsSchema>;
export type ReleaseObject = ReleaseObjects['items'][number];

export const namespaceQuotaSchema = responseObject({
  items: Type.Array(responseObject({ quota: Type.String(), resource: Type.String(), hard: Type.String(), used: Type.String() })),
});
export type QuotaUse = Static<typeof namespaceQuotaSchema>['items'][number];

export const valuesPreviewQuery = Type.Object(
  { templateVersionId: Type.Optional(Type.String({ maxLength: 200, description: 'a template version UUID or <template name>@<version>; default: the current one' })) },
  { additionalProperties: false },
);

export const valuesPreviewBody = Type.Object(
  {
    templateVersionId: Type.Optional({ ...versionRef, description: 'a template version UUID or <template name>@<version> (default: the current one)' }),
    values: Type.Optional(freeObject),
  },
  { additionalProperties: false },
);

export const valuesPreviewSchema = responseObject({
  current: freeObject,
  proposed: freeObject,
  proposedVersion: responseObject({ id: Type.String(), version: Type.String() }),
});

export const changesQuery = Type.Object({ instanceId: Type.Optional(Type.String({ pattern: UUID, description: 'only this instance' })) }, { additionalProperties: false });

/**
 * The data of an `event: instance` message on GET /changes. The stream is
 * hijacked, so fastify never serialises it: the schema is the type the hub
 * writes and the console reads.
 */
export const instanceChangeSchema = responseObject({
  id: Type.String(),
  status: Type.String(),
  state: Type.String(),
  specVersion: Type.Integer(),
  observedSpecVersion: nullable(Type.Integer()),
  helmRevision: nullable(Type.Integer()),
  updatedAt: dateTime,
  deleted: Type.Boolean(),
});
export type InstanceChange = Static<typeof instanceChangeSchema>;

// JSON Schemas of every request and response, written with TypeBox: fastify
// validates requests with them (src/api/validation.ts), @fastify/swagger
// publishes them as the OpenAPI document, and the route handlers' request
// types are derived from them (@fastify/type-provider-typebox), so the
// document, the check and the types cannot drift apart.
// Requests are strict (`additionalProperties: false`); responses list their
// fields but allow more, so adding a field never breaks serialisation.
// Routes added by other modules write their schemas the same way, in a
// schema module of their own.
import { Type, type Static, type TProperties, type TObject, type TSchema } from 'typebox';
import { LIFETIME_PATTERN } from '../domain/duration.ts';
import { DeletionPolicy, InstanceState } from '../domain/instance.ts';
import { DNS_LABEL_SOURCE, DOMAIN_SOURCE, DOMAIN_SUFFIX_PATTERN, MAX_DOMAIN, MAX_INSTANCE_NAME } from '../domain/naming.ts';
import { VERSION_REF_SOURCE } from '../domain/version-ref.ts';

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const DNS_LABEL_63 = `^${DNS_LABEL_SOURCE}$`;
const SEMVER =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$';
const PHASE = '^[A-Z][A-Za-z]{0,31}$';
// No control characters (NUL in particular is rejected by Postgres text).
const PRINTABLE = '^[^\\u0000-\\u001f\\u007f]*$';

// ---- building blocks ---------------------------------------------------------

/** A string enum as `{type: string, enum: [...]}` (one clear ajv error, unlike a union of consts). */
export function stringEnum<const T extends readonly string[]>(values: T, options: { description?: string; default?: T[number] } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** `{type: [T, 'null']}`: the schema's own type or null, reported as one error. */
export function nullable<T extends TSchema & { type: string }>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });
}

/** A JSON object with any content (values, default values, JSON Schemas). */
export const freeObject = Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true });

/**
 * A response object: every field listed, none required, more allowed.
 * The JSON Schema requires nothing (a field a handler leaves out is omitted,
 * never a 500 from the serialiser), but the TypeScript type keeps the fields
 * as given: it is the one definition of what this server sends (handlers'
 * return values are checked against it, the console reads it), so a field is
 * optional there only where it is wrapped in Type.Optional.
 */
export function responseObject<P extends TProperties>(properties: P, options: { description?: string } = {}): TObject<P> {
  const optional = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, Type.Optional(v)]));
  return Type.Object(optional, { additionalProperties: true, ...options }) as unknown as TObject<P>;
}

const uuid = Type.String({ pattern: UUID, description: 'a UUID' });
const dnsName = Type.String({ maxLength: MAX_DOMAIN, pattern: `^${DOMAIN_SOURCE}$`, description: 'a lower-case DNS name such as app.example.com' });
export const versionRef = Type.String({ maxLength: 200, pattern: `^(${VERSION_REF_SOURCE})$`, description: 'a template version UUID or <template name>@<version>' });
const dateTime = Type.String({ format: 'date-time' });
const nullableDateTime = nullable(dateTime);
const userIdText = Type.String({ minLength: 1, maxLength: 256, pattern: PRINTABLE });
const DELETION_POLICY_HELP =
  'what deleting the instance does to its namespace: Delete removes it with its PVCs; Retain keeps both (the release is uninstalled either way; admin only)';
const deletionPolicy = stringEnum(Object.values(DeletionPolicy), { description: DELETION_POLICY_HELP });
const instanceState = stringEnum(Object.values(InstanceState));

// ---- parameters ---------------------------------------------------------------

export const idParams = Type.Object({ id: uuid }, { additionalProperties: false });

export const templateParams = Type.Object(
  { id: Type.String({ maxLength: 63, pattern: `^((${UUID.slice(1, -1)})|(${DNS_LABEL_SOURCE}))$`, description: 'template UUID or name' }) },
  { additionalProperties: false },
);

export const idempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$', description: 'printable ASCII without spaces' })),
});

export const DEFAULT_PAGE_SIZE = 50;
export const INSTANCE_SORTS = ['createdAt', '-createdAt', 'namespace', '-namespace', 'status', '-status', 'updatedAt', '-updatedAt'] as const;

export const listInstancesQuery = Type.Object(
  {
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: PRINTABLE, description: 'admin only' })),
    templateId: Type.Optional(uuid),
    templateVersionId: Type.Optional(uuid),
    status: Type.Optional(Type.String({ pattern: PHASE, description: 'a phase such as Running' })),
    outdated: Type.Optional(Type.Boolean({ description: "true: only instances not on their template's newest version; false: only those on it" })),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: PRINTABLE, description: 'case-insensitive substring of the namespace, the domain name or the template name' })),
    sort: Type.Optional(stringEnum(INSTANCE_SORTS, { default: '-createdAt', description: 'a field, newest/highest first with a leading "-"; ties by id' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: DEFAULT_PAGE_SIZE })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'nextCursor of the previous page (same sort)' })),
  },
  { additionalProperties: false },
);

export const quotaParams = Type.Object({ userId: userIdText }, { additionalProperties: false });

export const namespaceParams = Type.Object({ namespace: Type.String({ maxLength: 63, pattern: DNS_LABEL_63, description: 'a namespace name' }) }, { additionalProperties: false });

export const retainedNamespaceQuery = Type.Object({ userId: Type.Optional(userIdText) }, { additionalProperties: false });

// ---- request bodies -----------------------------------------------------------------

export const createTemplateBody = Type.Object(
  {
    name: Type.String({ maxLength: 63, pattern: DNS_LABEL_63, description: 'a DNS label' }),
    description: Type.Optional(Type.String({ maxLength: 4096, pattern: PRINTABLE })),
  },
  { additionalProperties: false },
);

const chartBranches = [
  Type.Object({ kind: Type.Literal('local'), path: Type.String({ minLength: 1, maxLength: 2048, pattern: '^\\S+$' }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('oci'), ref: Type.String({ maxLength: 2048, pattern: '^oci://\\S+$' }) }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('repo'),
      repoUrl: Type.String({ maxLength: 2000, pattern: '^https?://[^\\s#]+$' }),
      chart: Type.String({ maxLength: 128, pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$' }),
    },
    { additionalProperties: false },
  ),
] as const;
// A discriminated oneOf (ajv's `discriminator`), so a wrong `kind` is one clear error instead of one per branch.
const chartRef = Type.Unsafe<Static<(typeof chartBranches)[number]>>({
  type: 'object',
  required: ['kind'],
  discriminator: { propertyName: 'kind' },
  oneOf: [...chartBranches],
});

export const createVersionBody = Type.Object(
  {
    version: Type.String({ maxLength: 128, pattern: SEMVER, description: 'a semantic version such as 1.2.3' }),
    chart: chartRef,
    chartVersion: Type.Optional(nullable(Type.String({ minLength: 1, maxLength: 128, pattern: '^\\S+$' }))),
    defaultValues: Type.Optional(freeObject),
    valuesSchema: Type.Optional(Type.Unsafe<Record<string, unknown> | null>({ type: ['object', 'null'], additionalProperties: true })),
    tier: Type.Optional(nullable(Type.String({ maxLength: 63, pattern: DNS_LABEL_63 }))),
    chartCredentials: Type.Optional(
      nullable(Type.String({ maxLength: 63, description: 'name of stored chart credentials (POST /chart-credentials) for a private registry or repository' })),
    ),
    secrets: Type.Optional(
      Type.Array(Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true }), {
        maxItems: 64,
        description:
          'secrets the chart expects in <release>-secrets: { name, generate: { length, charset } } (created per instance) or { name, required: true, description } (set by the user)',
      }),
    ),
    domainSuffixes: Type.Optional(
      nullable(
        Type.Array(Type.String({ maxLength: MAX_DOMAIN, pattern: DOMAIN_SUFFIX_PATTERN.source, description: 'a host name, optionally starting with "*." (one label), {userId} allowed' }), {
          maxItems: 64,
          description: 'hosts tenants may use as domainName, e.g. ["*.apps.example.com", "{userId}.dev.example.com"]; none: the platform default (CAELUS_DOMAIN_SUFFIXES)',
        }),
      ),
    ),
  },
  { additionalProperties: false },
);
export type CreateVersionBody = Static<typeof createVersionBody>;

export const createInstanceBody = Type.Object(
  {
    templateVersionId: versionRef,
    userId: Type.Optional(Type.String({ ...userIdText, description: 'admin only: the tenant to create the instance for' })),
    namespace: Type.Optional(
      Type.String({
        maxLength: MAX_INSTANCE_NAME,
        pattern: DNS_LABEL_63,
        description: `admin only; a DNS label of at most ${MAX_INSTANCE_NAME} characters, not a Kubernetes system namespace`,
      }),
    ),
    domainName: Type.Optional(dnsName),
    values: Type.Optional(freeObject),
    deletionPolicy: Type.Optional(stringEnum(Object.values(DeletionPolicy), { description: `${DELETION_POLICY_HELP}; default Delete` })),
  },
  { additionalProperties: false },
);
export type CreateInstanceBody = Static<typeof createInstanceBody>;

export const patchInstanceBody = Type.Object(
  {
    values: Type.Optional(freeObject),
    state: Type.Optional(instanceState),
    domainName: Type.Optional(Type.Union([dnsName, Type.Null()])),
    deletionPolicy: Type.Optional(deletionPolicy),
  },
  { minProperties: 1, additionalProperties: false },
);

export const upgradeBody = Type.Object(
  { templateVersionId: versionRef, allowDowngrade: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);

export const quotaBody = Type.Object(
  { maxInstances: Type.Unsafe<number | null>({ type: ['integer', 'null'], minimum: 0, maximum: 100000, description: 'null removes the override' }) },
  { additionalProperties: false },
);

export const createTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: PRINTABLE, description: 'a label for people, e.g. ci-deployer' }),
    role: stringEnum(['admin', 'user']),
    userId: Type.Optional(Type.String({ ...userIdText, description: 'the tenant a user token acts for (required for role user)' })),
    expiresIn: Type.Optional(Type.String({ pattern: LIFETIME_PATTERN, description: 'a lifetime such as 90d, 12h or 1h30m (units s, m, h, d)' })),
    expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'an RFC 3339 date-time in the future' })),
  },
  { additionalProperties: false, description: 'at most one of expiresIn and expiresAt; neither: the token never expires' },
);

// ---- responses ------------------------------------------------------------------------

export const problemSchema = responseObject(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    field: Type.Optional(Type.String({ description: 'JSON pointer into the request of the first invalid input' })),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    requestId: Type.Optional(Type.String()),
  },
  { description: 'RFC 9457 problem details (application/problem+json)' },
);

export const templateSchema = responseObject({ id: Type.String(), name: Type.String(), description: Type.String(), createdAt: dateTime });

export const versionSchema = responseObject({
  id: Type.String(),
  templateId: Type.String(),
  version: Type.String(),
  chart: freeObject,
  chartVersion: nullable(Type.String()),
  defaultValues: freeObject,
  valuesSchema: Type.Unsafe<Record<string, unknown> | null>({ type: ['object', 'null'], additionalProperties: true }),
  tier: nullable(Type.String()),
  chartDigest: Type.Unsafe<string | null>({ type: ['string', 'null'], description: 'sha256 of the chart package this version is pinned to (null: a local development chart)' }),
  secrets: Type.Array(freeObject),
  domainSuffixes: nullable(Type.Array(Type.String())),
  createdAt: dateTime,
});

export const templateDetailSchema = responseObject({ ...templateSchema.properties, versions: Type.Array(versionSchema) });
export const templateListSchema = responseObject({ items: Type.Array(templateSchema) });
export const versionListSchema = responseObject({ items: Type.Array(versionSchema) });

const instanceProperties = {
  id: Type.String(),
  userId: Type.String(),
  template: responseObject({ id: Type.String(), name: Type.String() }),
  templateVersion: responseObject({ id: Type.String(), version: Type.String() }),
  namespace: Type.String(),
  domainName: nullable(Type.String()),
  values: freeObject,
  state: instanceState,
  status: Type.String(),
  statusMessage: nullable(Type.String()),
  source: stringEnum(['api', 'cluster']),
  specVersion: Type.Integer(),
  observedSpecVersion: nullable(Type.Integer()),
  helmRevision: nullable(Type.Integer()),
  lastReconcileAt: nullableDateTime,
  lastActivityAt: nullableDateTime,
  expiresAt: nullableDateTime,
  deletionPolicy,
  createdAt: dateTime,
  updatedAt: dateTime,
};

export const instanceSchema = responseObject(instanceProperties);

export const instanceDetailSchema = responseObject({
  ...instanceProperties,
  url: nullable(Type.String()),
  conditions: Type.Array(
    responseObject({
      type: Type.String(),
      status: stringEnum(['True', 'False', 'Unknown']),
      reason: Type.String(),
      message: Type.Optional(Type.String()),
      observedGeneration: Type.Optional(Type.Integer()),
      lastTransitionTime: dateTime,
    }),
  ),
  drift: Type.Unsafe<Record<string, unknown> | null>({ type: ['object', 'null'], additionalProperties: true }),
  statusSource: stringEnum(['cluster', 'database'], { description: 'where status, conditions and drift were read' }),
  effectiveValues: freeObject,
  valuesProvenance: Type.Unsafe<Record<string, 'template' | 'caelus' | 'instance'>>({
    type: 'object',
    additionalProperties: { type: 'string', enum: ['template', 'caelus', 'instance'] },
    description: 'JSON pointer → the layer the value came from: template defaults, values Caelus provides (domainName), or the instance overrides',
  }),
});

export const instanceListItemSchema = responseObject({
  ...instanceProperties,
  latestVersion: nullable(responseObject({ id: Type.String(), version: Type.String() }, { description: "the template's newest version (highest semver)" })),
  outdated: Type.Boolean({ description: "not on the template's newest version" }),
});

export const instanceListSchema = responseObject({
  items: Type.Array(instanceListItemSchema),
  nextCursor: nullable(Type.String()),
  total: Type.Integer({ description: 'instances matching the filters (all pages)' }),
});

export const deletedInstanceSchema = responseObject({ id: Type.String(), deletedAt: nullable(Type.String()) });

export const quotaSchema = responseObject({
  userId: Type.String(),
  limit: Type.Integer(),
  used: Type.Integer({ description: 'live instances plus retained namespaces' }),
  retained: Type.Integer({ description: 'namespaces kept by Retain deletions, not yet released' }),
  overridden: Type.Boolean(),
});

export const retainedNamespaceSchema = responseObject({ namespace: Type.String(), userId: Type.String(), instanceId: Type.String(), retainedAt: dateTime });
export const retainedNamespaceListSchema = responseObject({ items: Type.Array(retainedNamespaceSchema) });

export const tokenSchema = responseObject({
  id: Type.String(),
  name: Type.String(),
  role: stringEnum(['admin', 'user']),
  userId: nullable(Type.String()),
  createdAt: dateTime,
  lastUsedAt: nullableDateTime,
  revokedAt: nullableDateTime,
  expiresAt: { ...nullableDateTime, description: 'null: never expires' },
});

export const createdTokenSchema = responseObject({
  ...tokenSchema.properties,
  token: Type.String({ description: 'the bearer token; shown only in this response (only its sha256 is stored)' }),
});

export const tokenListSchema = responseObject({ items: Type.Array(tokenSchema) });

/** Error responses every authenticated route can give. */
export function problems(...statuses: number[]): Record<string, typeof problemSchema> {
  const out: Record<string, typeof problemSchema> = {};
  for (const s of [400, 401, ...statuses, 429, 500, 503]) out[String(s)] = problemSchema;
  return out;
}

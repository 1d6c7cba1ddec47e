// JSON Schemas of every request and response: fastify validates requests
// with them (src/api/validation.ts) and @fastify/swagger publishes them as the
// OpenAPI document, so the document cannot drift from what the server checks.
// Requests are strict (`additionalProperties: false`); responses list their
// fields but allow more, so adding a field never breaks serialisation.

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const DNS_LABEL_63 = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
/** Namespaces also name the CaelusInstance and the Helm release: Helm caps release names at 53. */
const DNS_LABEL_53 = '^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$';
const DNS_NAME = '^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const SEMVER =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$';
const VERSION_REF = `(${UUID.slice(1, -1)})|([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?@[0-9A-Za-z.+-]{1,128})`;
const PHASE = '^[A-Z][A-Za-z]{0,31}$';
// No control characters (NUL in particular is rejected by Postgres text).
const PRINTABLE = '^[^\\u0000-\\u001f\\u007f]*$';

const uuid = { type: 'string', pattern: UUID, description: 'a UUID' } as const;
const dnsName = { type: 'string', maxLength: 253, pattern: DNS_NAME, description: 'a lower-case DNS name such as app.example.com' } as const;
const versionRef = {
  type: 'string',
  maxLength: 200,
  pattern: `^(${VERSION_REF})$`,
  description: 'a template version UUID or <template name>@<version>',
} as const;
const freeObject = { type: 'object', additionalProperties: true } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const deletionPolicy = {
  type: 'string',
  enum: ['Delete', 'Retain'],
  description: 'what deleting the instance does to its namespace: Delete removes it with its PVCs; Retain keeps both (the release is uninstalled either way)',
} as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;

// ---- parameters ---------------------------------------------------------------

export const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: uuid },
} as const;

export const templateParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', maxLength: 63, pattern: `^((${UUID.slice(1, -1)})|(${DNS_LABEL_63.slice(1, -1)}))$`, description: 'template UUID or name' } },
} as const;

export const idempotencyHeaders = {
  type: 'object',
  properties: {
    'idempotency-key': { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$', description: 'printable ASCII without spaces' },
  },
} as const;

export const listInstancesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    userId: { type: 'string', minLength: 1, maxLength: 256, pattern: PRINTABLE, description: 'admin only' },
    templateId: uuid,
    status: { type: 'string', pattern: PHASE, description: 'a phase such as Running' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    cursor: { type: 'string', minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'nextCursor of the previous page' },
  },
} as const;

// ---- request bodies -----------------------------------------------------------------

export const createTemplateBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', maxLength: 63, pattern: DNS_LABEL_63, description: 'a DNS label' },
    description: { type: 'string', maxLength: 4096, pattern: PRINTABLE },
  },
} as const;

const chartRef = {
  type: 'object',
  required: ['kind'],
  discriminator: { propertyName: 'kind' },
  oneOf: [
    {
      type: 'object',
      required: ['kind', 'path'],
      additionalProperties: false,
      properties: { kind: { const: 'local' }, path: { type: 'string', minLength: 1, maxLength: 2048, pattern: '^\\S+$' } },
    },
    {
      type: 'object',
      required: ['kind', 'ref'],
      additionalProperties: false,
      properties: { kind: { const: 'oci' }, ref: { type: 'string', maxLength: 2048, pattern: '^oci://\\S+$' } },
    },
    {
      type: 'object',
      required: ['kind', 'repoUrl', 'chart'],
      additionalProperties: false,
      properties: {
        kind: { const: 'repo' },
        repoUrl: { type: 'string', maxLength: 2000, pattern: '^https?://[^\\s#]+$' },
        chart: { type: 'string', maxLength: 128, pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$' },
      },
    },
  ],
} as const;

export const createVersionBody = {
  type: 'object',
  required: ['version', 'chart'],
  additionalProperties: false,
  properties: {
    version: { type: 'string', maxLength: 128, pattern: SEMVER, description: 'a semantic version such as 1.2.3' },
    chart: chartRef,
    chartVersion: { type: ['string', 'null'], minLength: 1, maxLength: 128, pattern: '^\\S+$' },
    defaultValues: freeObject,
    valuesSchema: { type: ['object', 'null'], additionalProperties: true },
    tier: { type: ['string', 'null'], maxLength: 63, pattern: DNS_LABEL_63 },
    chartCredentials: { type: ['string', 'null'], maxLength: 63, description: 'name of stored chart credentials (POST /chart-credentials) for a private registry or repository' },
    secrets: {
      type: 'array',
      maxItems: 64,
      description: 'secrets the chart expects in <release>-secrets: { name, generate: { length, charset } } (created per instance) or { name, required: true, description } (set by the user)',
      items: { type: 'object', additionalProperties: true },
    },
  },
} as const;

export const createInstanceBody = {
  type: 'object',
  required: ['templateVersionId'],
  additionalProperties: false,
  properties: {
    templateVersionId: versionRef,
    userId: { type: 'string', minLength: 1, maxLength: 256, pattern: PRINTABLE, description: 'admin only: the tenant to create the instance for' },
    namespace: { type: 'string', maxLength: 53, pattern: DNS_LABEL_53, description: 'admin only; a DNS label of at most 53 characters' },
    domainName: dnsName,
    values: freeObject,
    deletionPolicy: { ...deletionPolicy, description: `${deletionPolicy.description}; default Delete` },
  },
} as const;

export const patchInstanceBody = {
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: {
    values: freeObject,
    state: { type: 'string', enum: ['Running', 'Hibernated'] },
    domainName: { anyOf: [dnsName, { type: 'null' }] },
    deletionPolicy,
  },
} as const;

export const upgradeBody = {
  type: 'object',
  required: ['templateVersionId'],
  additionalProperties: false,
  properties: { templateVersionId: versionRef, allowDowngrade: { type: 'boolean', default: false } },
} as const;

export const quotaBody = {
  type: 'object',
  required: ['maxInstances'],
  additionalProperties: false,
  properties: { maxInstances: { type: ['integer', 'null'], minimum: 0, maximum: 100000, description: 'null removes the override' } },
} as const;

export const quotaParams = {
  type: 'object',
  required: ['userId'],
  additionalProperties: false,
  properties: { userId: { type: 'string', minLength: 1, maxLength: 256, pattern: PRINTABLE } },
} as const;

export const createTokenBody = {
  type: 'object',
  required: ['name', 'role'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 128, pattern: PRINTABLE, description: 'a label for people, e.g. ci-deployer' },
    role: { type: 'string', enum: ['admin', 'user'] },
    userId: { type: 'string', minLength: 1, maxLength: 256, pattern: PRINTABLE, description: 'the tenant a user token acts for (required for role user)' },
  },
} as const;

// ---- responses ------------------------------------------------------------------------

export const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details (application/problem+json)',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    field: { type: 'string', description: 'JSON pointer into the request of the first invalid input' },
    errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
    requestId: { type: 'string' },
  },
  additionalProperties: true,
} as const;

export const templateSchema = {
  type: 'object',
  additionalProperties: true,
  properties: { id: { type: 'string' }, name: { type: 'string' }, description: { type: 'string' }, createdAt: dateTime },
} as const;

export const versionSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    templateId: { type: 'string' },
    version: { type: 'string' },
    chart: freeObject,
    chartVersion: { type: ['string', 'null'] },
    defaultValues: freeObject,
    valuesSchema: { type: ['object', 'null'], additionalProperties: true },
    tier: { type: ['string', 'null'] },
    chartDigest: { type: ['string', 'null'], description: 'sha256 of the chart package this version is pinned to (null: a local development chart)' },
    secrets: { type: 'array', items: freeObject },
    createdAt: dateTime,
  },
} as const;

export const instanceSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    userId: { type: 'string' },
    template: { type: 'object', additionalProperties: true, properties: { id: { type: 'string' }, name: { type: 'string' } } },
    templateVersion: { type: 'object', additionalProperties: true, properties: { id: { type: 'string' }, version: { type: 'string' } } },
    namespace: { type: 'string' },
    domainName: { type: ['string', 'null'] },
    values: freeObject,
    state: { type: 'string', enum: ['Running', 'Hibernated'] },
    status: { type: 'string' },
    statusMessage: { type: ['string', 'null'] },
    source: { type: 'string', enum: ['api', 'cluster'] },
    specVersion: { type: 'integer' },
    observedSpecVersion: { type: ['integer', 'null'] },
    helmRevision: { type: ['integer', 'null'] },
    lastReconcileAt: nullableDateTime,
    lastActivityAt: nullableDateTime,
    expiresAt: nullableDateTime,
    deletionPolicy,
    createdAt: dateTime,
    updatedAt: dateTime,
  },
} as const;

export const instanceDetailSchema = {
  ...instanceSchema,
  properties: {
    ...instanceSchema.properties,
    url: { type: ['string', 'null'] },
    conditions: { type: 'array', items: freeObject },
    drift: { type: ['object', 'null'], additionalProperties: true },
    statusSource: { type: 'string', enum: ['cluster', 'database'], description: 'where status, conditions and drift were read' },
    effectiveValues: freeObject,
    valuesProvenance: { type: 'object', additionalProperties: { type: 'string', enum: ['template', 'instance'] }, description: 'JSON pointer → source' },
  },
} as const;

export const instanceListSchema = {
  type: 'object',
  properties: { items: { type: 'array', items: instanceSchema }, nextCursor: { type: ['string', 'null'] } },
} as const;

export const tokenSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', enum: ['admin', 'user'] },
    userId: { type: ['string', 'null'] },
    createdAt: dateTime,
    lastUsedAt: nullableDateTime,
    revokedAt: nullableDateTime,
  },
} as const;

export const createdTokenSchema = {
  ...tokenSchema,
  properties: { ...tokenSchema.properties, token: { type: 'string', description: 'the bearer token; shown only in this response (only its sha256 is stored)' } },
} as const;

export const tokenListSchema = {
  type: 'object',
  properties: { items: { type: 'array', items: tokenSchema } },
} as const;

/** Error responses every authenticated route can give. */
export function problems(...statuses: number[]): Record<string, typeof problemSchema> {
  const out: Record<string, typeof problemSchema> = {};
  for (const s of [400, 401, ...statuses, 500]) out[String(s)] = problemSchema;
  return out;
}

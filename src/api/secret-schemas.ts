// TypeBox schemas of the instance-secret and chart-credential routes: fastify
// validates requests with them, @fastify/swagger publishes them, and the
// handlers' types come from them (@fastify/type-provider-typebox).
// Limits are the ones of src/domain/declared-secrets.ts (one rule, one place).
import { Type } from 'typebox';
import { MAX_SECRET_BYTES, MAX_SECRET_NAME, SECRET_NAME } from '../domain/declared-secrets.ts';

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const DNS_LABEL_63 = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
// JSON strings count UTF-16 code units; the byte limit (UTF-8) is checked again in the repository.
const MAX_VALUE_CHARS = MAX_SECRET_BYTES;

const secretName = Type.String({
  minLength: 1,
  maxLength: MAX_SECRET_NAME,
  pattern: SECRET_NAME.source,
  description: 'a Kubernetes Secret key: letters, digits, "-", "_" or "."; becomes a key of the contract Secret <instance>-secrets',
});

export const instanceSecretParams = Type.Object({ id: Type.String({ pattern: UUID, description: 'instance UUID' }) }, { additionalProperties: false });

export const secretParams = Type.Object(
  { id: Type.String({ pattern: UUID, description: 'instance UUID' }), name: secretName },
  { additionalProperties: false },
);

export const putSecretBody = Type.Object(
  { value: Type.String({ maxLength: MAX_VALUE_CHARS, description: `the secret value, at most ${MAX_SECRET_BYTES} bytes; never returned by any route` }) },
  { additionalProperties: false },
);

export const secretMetaSchema = Type.Object(
  {
    name: Type.String(),
    version: Type.Integer({ description: '1 when created, +1 on every PUT' }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: true },
);

export const secretListSchema = Type.Object({ items: Type.Array(secretMetaSchema) }, { additionalProperties: true });

export const createChartCredentialBody = Type.Object(
  {
    name: Type.String({ maxLength: 63, pattern: DNS_LABEL_63, description: 'a DNS label; template versions name it in chartCredentials' }),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    password: Type.Optional(Type.String({ maxLength: 4096, description: 'stored encrypted; never returned' })),
    caCert: Type.Optional(Type.String({ maxLength: 65536, description: 'PEM CA bundle of the registry/repository (private CA or self-signed)' })),
  },
  { additionalProperties: false },
);

export const chartCredentialSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    caCert: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: true },
);

export const chartCredentialListSchema = Type.Object({ items: Type.Array(chartCredentialSchema) }, { additionalProperties: true });

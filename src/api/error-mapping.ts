// Every error a request can end in → one ApiProblem. Data-layer errors are
// mapped by class (src/db/errors.ts), fastify's own by code; anything else is
// a 500 whose detail says nothing internal (the log has the cause).
import type { ErrorObject } from 'ajv';
import {
  ConflictError,
  DataError,
  DatabaseUnavailableError,
  DuplicateDomainError,
  DuplicateError,
  DuplicateNamespaceError,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  InvalidValuesError,
  NotFoundError,
  QuotaExceededError,
  RetainedNamespaceError,
  StatementTimeoutError,
  UnknownReferenceError,
  ValidationError,
} from '../db/errors.ts';
import { ApiProblem, ProblemType } from './problems.ts';
import { fieldErrors, jsonPathToPointer } from './validation.ts';

/** Data-layer field names → request pointers, where the API names them differently. */
const FIELD_POINTERS: Record<string, string> = {
  productTemplateVersionId: '/body/templateVersionId',
  templateVersionId: '/body/templateVersionId',
  domainName: '/body/domainName',
  namespace: '/body/namespace',
  values: '/body/values',
  name: '/body/name',
  description: '/body/description',
  version: '/body/version',
  chart: '/body/chart',
  helmChart: '/body/chart',
  chartVersion: '/body/chartVersion',
  defaultValues: '/body/defaultValues',
  valuesSchema: '/body/valuesSchema',
  tier: '/body/tier',
  id: '/params/id',
};

/** What a 503 for an unreachable database tells clients to wait: short, the API reconnects on the next request. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  validation?: unknown;
  validationContext?: unknown;
  message?: unknown;
}

export function toProblem(err: unknown): ApiProblem {
  if (err instanceof ApiProblem) return err;
  const f = (typeof err === 'object' && err !== null ? err : {}) as FastifyLikeError;
  if (Array.isArray(f.validation)) {
    const errors = fieldErrors(typeof f.validationContext === 'string' ? f.validationContext : 'body', f.validation as ErrorObject[]);
    return new ApiProblem(400, ProblemType.Validation, errors.map((e) => `${e.field} ${e.message}`).join('; '), { errors });
  }
  switch (f.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiProblem(413, ProblemType.BodyTooLarge, 'the request body exceeds the size limit', { errors: [{ field: '/body', message: 'is too large' }] });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiProblem(400, ProblemType.MalformedJson, `the body is not valid JSON: ${String(f.message)}`, { errors: [{ field: '/body', message: 'is not valid JSON' }] });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiProblem(f.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 415 : 400, ProblemType.UnsupportedMediaType, String(f.message), {
        errors: [{ field: '/headers/content-type', message: 'send application/json' }],
      });
  }
  // secure-json-parse refuses __proto__/constructor.prototype keys with a SyntaxError (statusCode 400).
  if (err instanceof SyntaxError && f.statusCode === 400) {
    return new ApiProblem(400, ProblemType.MalformedJson, `the body is not acceptable JSON: ${err.message}`, { errors: [{ field: '/body', message: err.message }] });
  }
  if (err instanceof DataError) return fromDataError(err);
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    // Another client error fastify raised (e.g. a bad URL encoding): keep its status.
    return new ApiProblem(f.statusCode, ProblemType.Validation, String(f.message));
  }
  return new ApiProblem(500, ProblemType.Internal, 'the server failed to process the request; the log has the details', { cause: err });
}

function pointer(field: string): string {
  return FIELD_POINTERS[field] ?? `/body/${field.replace(/\./g, '/')}`;
}

function fromDataError(err: DataError): ApiProblem {
  if (err instanceof InvalidValuesError) {
    const errors = err.violations.map((v) => ({ field: `/body/values${jsonPathToPointer(v.path)}`, message: `${v.path} ${v.message}` }));
    return new ApiProblem(422, ProblemType.InvalidValues, err.message, { errors });
  }
  if (err instanceof ValidationError) {
    return new ApiProblem(400, ProblemType.Validation, err.message, { errors: [{ field: pointer(err.field), message: err.message }] });
  }
  if (err instanceof NotFoundError) return new ApiProblem(404, ProblemType.NotFound, err.message);
  if (err instanceof QuotaExceededError) {
    return new ApiProblem(409, ProblemType.QuotaExceeded, err.message, { extensions: { limit: err.limit, current: err.current } });
  }
  if (err instanceof IdempotencyKeyReusedError) {
    return new ApiProblem(422, ProblemType.IdempotencyKeyReused, err.message, { errors: [{ field: '/headers/idempotency-key', message: err.message }] });
  }
  if (err instanceof IdempotencyInProgressError) {
    return new ApiProblem(409, ProblemType.IdempotencyInProgress, err.message, { errors: [{ field: '/headers/idempotency-key', message: err.message }] });
  }
  if (err instanceof DuplicateDomainError) {
    return new ApiProblem(409, ProblemType.Duplicate, err.message, { errors: [{ field: '/body/domainName', message: 'is already used by another live instance' }] });
  }
  if (err instanceof DuplicateNamespaceError) {
    return new ApiProblem(409, ProblemType.Duplicate, err.message, { errors: [{ field: '/body/namespace', message: 'is already used by another live instance' }] });
  }
  if (err instanceof RetainedNamespaceError) {
    return new ApiProblem(409, ProblemType.Conflict, err.message, { errors: [{ field: '/body/namespace', message: 'is a retained namespace of a deleted instance' }] });
  }
  if (err instanceof DuplicateError) return new ApiProblem(409, ProblemType.Duplicate, err.message);
  if (err instanceof UnknownReferenceError) return new ApiProblem(422, ProblemType.Validation, err.message);
  if (err instanceof ConflictError) return new ApiProblem(409, ProblemType.Conflict, err.message);
  if (err instanceof DatabaseUnavailableError || err instanceof StatementTimeoutError) {
    return new ApiProblem(503, ProblemType.Unavailable, 'the database is unavailable; retry later', { cause: err, retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS });
  }
  return new ApiProblem(500, ProblemType.Internal, 'the server failed to process the request; the log has the details', { cause: err });
}

// Typed errors of the data layer. Callers (API, operator, CLI) branch on the
// class or on `code`, never on a message or a Postgres SQLSTATE: the mapping
// from driver errors to these classes lives in one place (mapDatabaseError).

export type DataErrorCode =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'DUPLICATE'
  | 'UNKNOWN_REFERENCE'
  | 'CONFLICT'
  | 'IMMUTABLE'
  | 'DECRYPTION_FAILED'
  | 'UNKNOWN_KEY'
  | 'STATEMENT_TIMEOUT'
  | 'DATABASE_UNAVAILABLE'
  | 'DATABASE';

export class DataError extends Error {
  readonly code: DataErrorCode;
  readonly context: Record<string, unknown>;
  constructor(code: DataErrorCode, message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

/** Input rejected before (or by) the database; `field` names the offending input, as a JSON path where nested. */
export class ValidationError extends DataError {
  readonly field: string;
  constructor(field: string, message: string, context: Record<string, unknown> = {}) {
    super('VALIDATION', `${field}: ${message}`, { field, ...context });
    this.field = field;
  }
}

/** One violation of a version's values_schema by instance overrides. */
export interface ValuesViolation {
  /** JSON path into the overrides, e.g. `$.resources.limits.cpu`. */
  path: string;
  message: string;
}

/** Instance overrides that do not satisfy the template version's values_schema. */
export class InvalidValuesError extends ValidationError {
  readonly violations: ValuesViolation[];
  constructor(violations: ValuesViolation[]) {
    super(
      violations[0]?.path ?? '$',
      `values do not match the template version's schema: ${violations.map((v) => `${v.path} ${v.message}`).join('; ')}`,
      { violations },
    );
    this.violations = violations;
  }
}

export class NotFoundError extends DataError {
  constructor(entity: string, key: Record<string, unknown>) {
    super('NOT_FOUND', `${entity} not found (${describe(key)})`, { entity, ...key });
  }
}

/** A unique constraint was violated. Subclasses name the common cases. */
export class DuplicateError extends DataError {
  constructor(message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('DUPLICATE', message, context, options);
  }
}
export class DuplicateNamespaceError extends DuplicateError {}
/** Another live instance already serves this host name (deployment_instance_domain_live_key). */
export class DuplicateDomainError extends DuplicateError {}
export class DuplicateTemplateNameError extends DuplicateError {}
export class DuplicateTemplateVersionError extends DuplicateError {}
export class DuplicateSecretError extends DuplicateError {}

/** A foreign key pointed at a row that does not exist. */
export class UnknownReferenceError extends DataError {
  constructor(message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('UNKNOWN_REFERENCE', message, context, options);
  }
}
export class UnknownTemplateError extends UnknownReferenceError {}
export class UnknownTemplateVersionError extends UnknownReferenceError {}
export class UnknownInstanceError extends UnknownReferenceError {}

/** Optimistic concurrency or state conflict (e.g. expected spec_version is stale, idempotency key reused). */
export class ConflictError extends DataError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('CONFLICT', message, context);
  }
}

/** Live instances (and retained namespaces) of `userId` would exceed its quota with one more. */
export class QuotaExceededError extends ConflictError {
  readonly limit: number;
  readonly current: number;
  constructor(userId: string, limit: number, current: number, retained = 0) {
    super(
      `user ${userId} already has ${current} instance(s)${retained > 0 ? ` (${retained} of them retained namespaces of deleted instances)` : ''}; the quota is ${limit}`,
      { userId, limit, current, retained },
    );
    this.limit = limit;
    this.current = current;
  }
}

/** The namespace was kept by a Retain deletion and still holds the old instance's data; an admin releases it. */
export class RetainedNamespaceError extends ConflictError {
  readonly namespace: string;
  constructor(namespace: string) {
    super(`namespace ${namespace} was retained when its instance was deleted; delete it and release it (DELETE /retained-namespaces/${namespace}) first`, { namespace });
    this.namespace = namespace;
  }
}

/** The Idempotency-Key was used for a different request. */
export class IdempotencyKeyReusedError extends ConflictError {}
/** The first request with this Idempotency-Key is still running. */
export class IdempotencyInProgressError extends ConflictError {}

/** An attempt to change a row that is immutable once created (product_template_version). */
export class ImmutableRowError extends DataError {
  constructor(message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('IMMUTABLE', message, context, options);
  }
}

export class SecretDecryptionError extends DataError {
  constructor(message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('DECRYPTION_FAILED', message, context, options);
  }
}

export class UnknownKeyError extends DataError {
  constructor(keyId: string, known: readonly string[]) {
    super(
      'UNKNOWN_KEY',
      `encryption key "${keyId}" is not in the key ring (known: ${known.join(', ') || 'none'}); ` +
        'keep retired keys in CAELUS_ENCRYPTION_KEYS until `caelus secrets rotate` has re-encrypted every row',
      { keyId, known },
    );
  }
}

export class StatementTimeoutError extends DataError {
  constructor(message: string, options?: ErrorOptions) {
    super('STATEMENT_TIMEOUT', message, {}, options);
  }
}

/** The server could not be reached or dropped the connection; retrying later may succeed. */
export class DatabaseUnavailableError extends DataError {
  constructor(message: string, options?: ErrorOptions) {
    super('DATABASE_UNAVAILABLE', message, {}, options);
  }
}

function describe(key: Record<string, unknown>): string {
  return Object.entries(key)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
}

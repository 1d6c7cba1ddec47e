// The one place where driver errors (pg and PGlite raise the same shape:
// SQLSTATE `code`, `constraint`, `column`) become the typed errors of
// ./errors.ts. Constraint names are fixed by the migrations, so each one maps
// to exactly one error class here.
import {
  DataError,
  DatabaseUnavailableError,
  DuplicateDomainError,
  DuplicateError,
  DuplicateNamespaceError,
  DuplicateSecretError,
  DuplicateTemplateNameError,
  DuplicateTemplateVersionError,
  ImmutableRowError,
  StatementTimeoutError,
  UnknownInstanceError,
  UnknownReferenceError,
  UnknownTemplateError,
  UnknownTemplateVersionError,
  ValidationError,
} from './errors.ts';

/** SQLSTATE raised by our own triggers for writes to immutable rows (class "CA" is unused by Postgres). */
export const IMMUTABLE_ROW_SQLSTATE = 'CAE01';

type ErrorFactory = (detail: string, cause: unknown) => DataError;

const UNIQUE: Record<string, ErrorFactory> = {
  product_template_name_key: (d, cause) => new DuplicateTemplateNameError(`a template with this name already exists (${d})`, {}, { cause }),
  product_template_version_template_version_key: (d, cause) =>
    new DuplicateTemplateVersionError(`this template already has a version with this number (${d})`, {}, { cause }),
  deployment_instance_namespace_live_key: (d, cause) =>
    new DuplicateNamespaceError(`a live instance already uses this namespace (${d})`, {}, { cause }),
  deployment_instance_domain_live_key: (d, cause) =>
    new DuplicateDomainError(`another live instance already uses this domain name (${d})`, { field: 'domainName' }, { cause }),
  instance_secret_pkey: (d, cause) => new DuplicateSecretError(`the instance already has a secret with this name (${d})`, {}, { cause }),
};

const FOREIGN_KEY: Record<string, ErrorFactory> = {
  product_template_version_template_id_fkey: (d, cause) => new UnknownTemplateError(`unknown template (${d})`, {}, { cause }),
  deployment_instance_version_fkey: (d, cause) =>
    new UnknownTemplateVersionError(`unknown product template version (${d})`, {}, { cause }),
  instance_secret_instance_id_fkey: (d, cause) => new UnknownInstanceError(`unknown instance (${d})`, {}, { cause }),
};

interface PgLikeError {
  code?: unknown;
  constraint?: unknown;
  column?: unknown;
  detail?: unknown;
  message?: unknown;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03']);

/** Turns any error thrown by a query into a DataError; DataErrors pass through unchanged. */
export function mapDatabaseError(err: unknown): Error {
  if (err instanceof DataError) return err;
  if (typeof err !== 'object' || err === null) return new DataError('DATABASE', `database error: ${String(err)}`);
  const e = err as PgLikeError;
  const code = typeof e.code === 'string' ? e.code : '';
  const constraint = typeof e.constraint === 'string' ? e.constraint : '';
  const detail = typeof e.detail === 'string' ? e.detail : constraint;
  const message = typeof e.message === 'string' ? e.message : String(err);

  switch (code) {
    case '23505':
      return UNIQUE[constraint]?.(detail, err) ?? new DuplicateError(`duplicate value (${detail})`, { constraint }, { cause: err });
    case '23503':
      return (
        FOREIGN_KEY[constraint]?.(detail, err) ??
        new UnknownReferenceError(`reference to a missing row (${detail})`, { constraint }, { cause: err })
      );
    case '23514':
      return new ValidationError(checkField(constraint), `rejected by constraint ${constraint}`, { constraint });
    case '23502':
      return new ValidationError(typeof e.column === 'string' ? e.column : 'input', 'is required');
    case '22P02':
    case '22001':
    case '22003':
    case '22007':
    case '22008':
    case '22023':
    case '22021':
      // Invalid text representation, too long, out of range, bad datetime, bad encoding:
      // the caller passed something the column cannot hold.
      return new ValidationError('input', message);
    case IMMUTABLE_ROW_SQLSTATE:
      return new ImmutableRowError(message, {}, { cause: err });
    case '57014':
      return new StatementTimeoutError(`statement cancelled (statement_timeout): ${message}`, { cause: err });
  }
  if (
    CONNECTION_CODES.has(code) ||
    code.startsWith('08') ||
    // 55000 at connect time: `ALTER DATABASE … ALLOW_CONNECTIONS false` (maintenance, failover).
    (code === '55000' && /not currently accepting connections/i.test(message)) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)
  ) {
    return new DatabaseUnavailableError(`database unavailable: ${message}`, { cause: err });
  }
  return new DataError('DATABASE', `database error${code ? ` ${code}` : ''}: ${message}`, { code }, { cause: err });
}

/** `deployment_instance_state_check` → `state`: our check constraints are named `<table>_<column>_check`. */
function checkField(constraint: string): string {
  const tables = ['product_template_version', 'product_template', 'deployment_instance', 'instance_secret', 'api_token', 'audit_event', 'idempotency_key'];
  for (const t of tables) {
    if (constraint.startsWith(`${t}_`) && constraint.endsWith('_check')) return constraint.slice(t.length + 1, -'_check'.length);
  }
  return 'input';
}

/** Runs `fn` and rethrows whatever it throws as a typed DataError. */
export async function translateErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapDatabaseError(err);
  }
}

// RFC 9457 problem details: every error the API returns is one of these
// types, so clients branch on `type` (stable), never on `detail` (prose).
// `errors` lists every offending input as a JSON pointer into the request
// (`/body/domainName`, `/query/limit`); `field` repeats the first.
import type { Static } from 'typebox';
import type { problemSchema } from './schemas.ts';

type ProblemFields = Static<typeof problemSchema>;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const BASE = 'https://caelus.io/problems/';

export const ProblemType = {
  Validation: 'validation',
  MalformedJson: 'malformed-json',
  BodyTooLarge: 'body-too-large',
  UnsupportedMediaType: 'unsupported-media-type',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  NotFound: 'not-found',
  MethodNotAllowed: 'method-not-allowed',
  Conflict: 'conflict',
  Duplicate: 'duplicate',
  QuotaExceeded: 'quota-exceeded',
  ReadOnlyInstance: 'read-only-instance',
  InvalidValues: 'invalid-values',
  ChartCheckFailed: 'chart-check-failed',
  UpgradeRefused: 'upgrade-refused',
  IdempotencyKeyReused: 'idempotency-key-reused',
  IdempotencyInProgress: 'idempotency-in-progress',
  RateLimited: 'rate-limited',
  Unavailable: 'unavailable',
  Internal: 'internal',
} as const;
export type ProblemType = (typeof ProblemType)[keyof typeof ProblemType];

const TITLES: Record<ProblemType, string> = {
  validation: 'The request is invalid',
  'malformed-json': 'The request body is not valid JSON',
  'body-too-large': 'The request body is too large',
  'unsupported-media-type': 'Unsupported media type',
  unauthorized: 'Authentication required',
  forbidden: 'Not allowed for this token',
  'not-found': 'Not found',
  'method-not-allowed': 'Method not allowed',
  conflict: 'Conflict with the current state',
  duplicate: 'Already exists',
  'quota-exceeded': 'Instance quota exceeded',
  'read-only-instance': 'The instance is managed from git',
  'invalid-values': "Values do not match the template version's schema",
  'chart-check-failed': 'The chart does not render',
  'upgrade-refused': 'Upgrade refused',
  'idempotency-key-reused': 'Idempotency-Key reused with a different request',
  'idempotency-in-progress': 'A request with this Idempotency-Key is in progress',
  'rate-limited': 'Too many requests',
  unavailable: 'Service unavailable',
  internal: 'Internal server error',
};

/** One invalid input; `field` is a JSON pointer into the request: `/body/values/replicaCount`, `/query/limit`, `/params/id`, `/headers/idempotency-key`. */
export type FieldError = NonNullable<ProblemFields['errors']>[number];

/** problem+json: the schema's fields plus the problem type's extensions (e.g. `limit` on quota-exceeded). */
export type ProblemBody = ProblemFields & Record<string, unknown>;

/** Thrown by handlers; the error handler renders it as problem+json. */
export class ApiProblem extends Error {
  readonly status: number;
  readonly type: ProblemType;
  readonly errors: FieldError[];
  readonly extensions: Record<string, unknown>;
  /** Seconds after which a retry may succeed (429, 503): sent as Retry-After. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    status: number,
    type: ProblemType,
    detail: string,
    opts: { errors?: FieldError[]; extensions?: Record<string, unknown>; cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(detail, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ApiProblem';
    this.status = status;
    this.type = type;
    this.errors = opts.errors ?? [];
    this.extensions = opts.extensions ?? {};
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

export function problemBody(p: ApiProblem, requestId?: string): ProblemBody {
  const first = p.errors[0];
  return {
    ...p.extensions,
    type: BASE + p.type,
    title: TITLES[p.type],
    status: p.status,
    detail: p.message,
    ...(first ? { field: first.field, errors: p.errors } : {}),
    ...(requestId ? { requestId } : {}),
  };
}

export const problemTypeUri = (t: ProblemType): string => BASE + t;

export const badRequest = (field: string, message: string): ApiProblem =>
  new ApiProblem(400, ProblemType.Validation, `${field}: ${message}`, { errors: [{ field, message }] });
export const unprocessable = (type: ProblemType, field: string, message: string, extensions?: Record<string, unknown>): ApiProblem =>
  new ApiProblem(422, type, `${field}: ${message}`, { errors: [{ field, message }], ...(extensions ? { extensions } : {}) });
export const notFound = (what: string): ApiProblem => new ApiProblem(404, ProblemType.NotFound, `${what} not found`);
export const forbidden = (detail: string): ApiProblem => new ApiProblem(403, ProblemType.Forbidden, detail);

import { ApiException } from '@kubernetes/client-node';

/** What a failed API call was acting on, so an error message names the object, not just a status code. */
export interface KubeApiTarget {
  /** The operation, e.g. `apply`, `get`, `writeStatus`. */
  operation: string;
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
}

/** The parts of a `metav1.Status` body we act on. */
interface StatusBody {
  reason?: string;
  message?: string;
  details?: unknown;
}

/**
 * A failed Kubernetes API call. Wraps client-node 2.x's ApiException, whose
 * `body` is the raw response text (a JSON `Status` for API errors), so callers
 * can branch on `statusCode`/`reason` and logs carry the API server's own message.
 */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  /** HTTP status; 0 when the request never got a response (connection refused, timeout, abort). */
  readonly statusCode: number;
  /** `Status.reason` from the API server (`NotFound`, `Conflict`, `AlreadyExists`, `Invalid`, ...), if any. */
  readonly reason: string | undefined;
  /** `Status.message` from the API server, if any. */
  readonly apiMessage: string | undefined;
  readonly details: unknown;
  readonly target: KubeApiTarget;

  constructor(
    target: KubeApiTarget,
    statusCode: number,
    reason: string | undefined,
    apiMessage: string | undefined,
    opts: { cause?: unknown; details?: unknown } = {},
  ) {
    const what = [target.apiVersion, target.kind, target.namespace ? `${target.namespace}/${target.name ?? ''}` : target.name]
      .filter(Boolean)
      .join(' ');
    const status = statusCode ? `HTTP ${statusCode}${reason ? ` ${reason}` : ''}` : 'no response';
    super(`${target.operation}${what ? ` ${what}` : ''} failed: ${status}${apiMessage ? `: ${apiMessage}` : ''}`, {
      cause: opts.cause,
    });
    this.statusCode = statusCode;
    this.reason = reason;
    this.apiMessage = apiMessage;
    this.details = opts.details;
    this.target = target;
  }

  get isNotFound(): boolean {
    return this.statusCode === 404;
  }

  get isConflict(): boolean {
    return this.statusCode === 409 && this.reason !== 'AlreadyExists';
  }

  get isAlreadyExists(): boolean {
    return this.statusCode === 409 && this.reason === 'AlreadyExists';
  }
}

function parseStatus(body: unknown): StatusBody {
  if (body && typeof body === 'object') return body as StatusBody;
  if (typeof body === 'string' && body.length > 0) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === 'object') return parsed as StatusBody;
    } catch {
      // Not JSON (e.g. a proxy's HTML error page): keep the text as the message.
      return { message: body.slice(0, 500) };
    }
  }
  return {};
}

/**
 * Converts whatever a client-node call threw into a KubeApiError with context.
 * Network failures (no HTTP status) become statusCode 0 so callers treat them
 * as retryable; an existing KubeApiError is returned unchanged.
 */
export function toKubeApiError(err: unknown, target: KubeApiTarget): KubeApiError {
  if (err instanceof KubeApiError) return err;
  if (err instanceof ApiException) {
    const status = parseStatus((err as ApiException<unknown>).body);
    return new KubeApiError(target, err.code, status.reason, status.message, { cause: err, details: status.details });
  }
  const code = (err as { statusCode?: unknown; code?: unknown } | null)?.statusCode;
  const message = err instanceof Error ? err.message : String(err);
  return new KubeApiError(target, typeof code === 'number' ? code : 0, undefined, message, { cause: err });
}

export function isNotFound(err: unknown): boolean {
  return (err instanceof KubeApiError && err.isNotFound) || (err instanceof ApiException && err.code === 404);
}

export function isConflict(err: unknown): boolean {
  if (err instanceof KubeApiError) return err.isConflict;
  return err instanceof ApiException && err.code === 409 && parseStatus(err.body).reason !== 'AlreadyExists';
}

export function isAlreadyExists(err: unknown): boolean {
  if (err instanceof KubeApiError) return err.isAlreadyExists;
  return err instanceof ApiException && err.code === 409 && parseStatus(err.body).reason === 'AlreadyExists';
}

/** Message of any thrown value, for log lines. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

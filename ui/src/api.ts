// The console's only way to the server: the public REST API with the bearer
// token. Errors arrive as application/problem+json; ApiError keeps the problem
// so forms can show each `errors[].field` next to its input.

const TOKEN_KEY = 'caelus.console.token';

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  field?: string;
  errors?: Array<{ field: string; message: string }>;
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
    this.status = problem.status;
    this.problem = problem;
  }
  /** The route does not exist on this server (an older API): the console degrades instead of failing. */
  get noRoute(): boolean {
    return this.status === 404 && (this.problem.detail ?? '').startsWith('no route for');
  }
}

// Session storage: the token lives as long as the tab, never in a URL or a cookie.
export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string): void => sessionStorage.setItem(TOKEN_KEY, t),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

/** Called on any 401: the token was revoked or expired, so the console signs out. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}
/** The change stream said the token is no longer valid. */
export function signalUnauthorized(): void {
  onUnauthorized();
}

export function authHeaders(t: string | null = token.get()): Record<string, string> {
  return t ? { authorization: `Bearer ${t}` } : {};
}

async function toError(res: Response): Promise<ApiError> {
  let problem: Problem = { status: res.status, title: res.statusText };
  try {
    const body = (await res.json()) as Partial<Problem>;
    problem = { ...problem, ...body, status: res.status };
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(problem);
}

export interface RequestOptions {
  body?: unknown;
  /** Use this token instead of the stored one (sign-in check). */
  token?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(opts.token ?? token.get()), ...opts.headers };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(path, { method, headers, body, signal: opts.signal ?? null, cache: 'no-store' });
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401 && opts.token === undefined) onUnauthorized();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const get = <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, opts);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, { body: body ?? {} });

/**
 * GET with If-None-Match: undefined when unchanged (304), so pollers re-render
 * only on a change. Servers without ETags answer 200 each time, which is fine.
 */
export async function getIfChanged<T>(path: string, etag: string | undefined): Promise<{ body: T; etag: string | undefined } | undefined> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
  if (etag) headers['if-none-match'] = etag;
  const res = await fetch(path, { headers, cache: 'no-store' });
  if (res.status === 304) return undefined;
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401) onUnauthorized();
    throw err;
  }
  return { body: (await res.json()) as T, etag: res.headers.get('etag') ?? undefined };
}

export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const fields = err.problem.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
    return `${err.problem.title ?? 'Error'} (HTTP ${err.status})${err.problem.detail ? `: ${err.problem.detail}` : ''}${fields && !err.problem.detail?.includes(fields) ? ` — ${fields}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

// Object access that keeps objects as the API server's JSON. client-node's
// KubernetesObjectApi round-trips bodies through its typed model, which
// renames or drops some JSON keys and turns timestamps into Dates; drift
// detection compares manifests field by field, so it needs the wire form.
import { HttpMethod, KubernetesObjectApi, RequestContext, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { request, type Dispatcher } from 'undici';
import { KubeApiError, type KubeApiTarget } from './errors.ts';

export type JsonObject = KubernetesObject & Record<string, unknown>;

interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** Reuses KubernetesObjectApi's discovery (kind → resource path, cached) for raw JSON requests. */
class PathResolver extends KubernetesObjectApi {
  path(ref: ObjectRef): Promise<string> {
    return this.specUriPath(
      { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } },
      'read',
    );
  }
}

export class RawObjectClient {
  readonly #kc: KubeConfig;
  readonly #paths: PathResolver;
  readonly #server: string;
  /** API requests made, for benchmarks and the cost figures of a drift check. */
  requests = 0;

  constructor(kc: KubeConfig) {
    this.#kc = kc;
    this.#paths = kc.makeApiClient(PathResolver);
    this.#server = kc.getCurrentCluster()?.server ?? '';
  }

  /** The live object, or undefined on 404. `asUser`: act as that user (Impersonate-User), e.g. the tenant. */
  async get(ref: ObjectRef, opts: { asUser?: string } = {}): Promise<JsonObject | undefined> {
    return this.#request('GET', ref, await this.#paths.path(ref), opts.asUser);
  }

  /** Server-side apply; with dryRun nothing is persisted and the result is what would be. */
  async apply(obj: JsonObject, opts: { fieldManager: string; force: boolean; dryRun: boolean; asUser?: string }): Promise<JsonObject> {
    const ref = { apiVersion: obj.apiVersion!, kind: obj.kind!, name: obj.metadata!.name!, ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}) };
    const query = new URLSearchParams({ fieldManager: opts.fieldManager, force: String(opts.force) });
    if (opts.dryRun) query.set('dryRun', 'All');
    const path = `${await this.#paths.path(ref)}?${query}`;
    const body = { ...obj, metadata: { ...obj.metadata, managedFields: undefined, resourceVersion: undefined } };
    const result = await this.#request('PATCH', ref, path, opts.asUser, JSON.stringify(body), 'application/apply-patch+yaml');
    if (!result) throw new KubeApiError({ operation: 'apply', ...ref }, 404, 'NotFound', 'namespace or resource type not found');
    return result;
  }

  /**
   * Replaces the whole object (PUT), conditional on `metadata.resourceVersion`
   * when set: unlike an apply, this also drops fields other writers added.
   */
  async replace(obj: JsonObject, opts: { fieldManager: string }): Promise<JsonObject> {
    const ref = { apiVersion: obj.apiVersion!, kind: obj.kind!, name: obj.metadata!.name!, ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}) };
    const path = `${await this.#paths.path(ref)}?${new URLSearchParams({ fieldManager: opts.fieldManager })}`;
    const body = { ...obj, metadata: { ...obj.metadata, managedFields: undefined } };
    const result = await this.#request('PUT', ref, path, undefined, JSON.stringify(body), 'application/json');
    if (!result) throw new KubeApiError({ operation: 'replace', ...ref }, 404, 'NotFound', 'namespace or resource type not found');
    return result;
  }

  async #request(
    method: 'GET' | 'PATCH' | 'PUT',
    ref: ObjectRef,
    path: string,
    asUser: string | undefined,
    body?: string,
    contentType?: string,
  ): Promise<JsonObject | undefined> {
    const ctx = new RequestContext(`${this.#server}${path}`, HttpMethod[method]);
    await this.#kc.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    if (contentType) headers['content-type'] = contentType;
    if (asUser) headers['impersonate-user'] = asUser;
    this.requests++;
    const operation = method === 'GET' ? 'get' : method === 'PUT' ? 'replace' : 'apply';
    let status: number;
    let text: string;
    try {
      // undici's request(), not fetch(): fetch streams every body (headers and
      // body leave in separate writes, each a loopback round of the kernel's
      // TCP stack) and carries the Fetch spec's machinery; in a scale profile
      // socket writes were the operator's largest self time.
      const dispatcher = ctx.getDispatcher() as Dispatcher | undefined;
      const response = await request(ctx.getUrl(), { method, headers, ...(dispatcher ? { dispatcher } : {}), ...(body ? { body } : {}) });
      status = response.statusCode;
      text = await response.body.text();
    } catch (err) {
      throw new KubeApiError({ operation, ...ref }, 0, undefined, (err as Error).message, { cause: err });
    }
    if (status === 404 && method === 'GET') return undefined;
    if (status >= 400) throw apiErrorFromBody({ operation, ...ref }, status, text);
    return JSON.parse(text) as JsonObject;
  }
}

/** The error for a failed raw request, with the reason and message of the API server's Status body when it sent one. */
export function apiErrorFromBody(target: KubeApiTarget, statusCode: number, body: string): KubeApiError {
  let status: { reason?: string; message?: string } = {};
  try {
    status = JSON.parse(body) as typeof status;
  } catch {
    status = { message: body.slice(0, 500) };
  }
  return new KubeApiError(target, statusCode, status.reason, status.message);
}

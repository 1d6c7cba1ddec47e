import { HttpMethod, ListWatch, RequestContext, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { fetch } from 'undici';
import type { Logger } from '../observability/logger.ts';
import { metadataSummary, METADATA_ACCEPT, slimForCache } from './cache-shape.ts';
import { KubeApiError, toKubeApiError } from './errors.ts';
import { apiErrorFromBody } from './raw-objects.ts';

/** `resync` is the periodic re-emission of an unchanged cached object. */
export type InformerEventType = 'add' | 'update' | 'delete' | 'resync';
/** `previous` is the cached copy an `update` from the watch replaced (none after a relist). */
export type ChangeHandler<T> = (obj: T, type: InformerEventType, previous?: T) => void;

/** The resource to list and watch. `plural` builds the watch path, `kind` resolves the list call. */
export interface InformerResource {
  /** `v1`, `apps/v1`, `caelus.io/v1` */
  apiVersion: string;
  kind: string;
  plural: string;
  /** Watch one namespace only; omitted = all namespaces (or a cluster-scoped kind). */
  namespace?: string;
}

export interface InformerOptions {
  logger: Logger;
  resource: InformerResource;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-emit every cached object as `resync` this often (0/undefined = never). */
  resyncPeriodMs?: number;
  /** Restart delay after the watch fails: doubles from initialMs up to maxMs, reset after a successful connect. */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * List and watch PartialObjectMetadata only, and cache a summary of the
   * metadata (cache-shape.ts `metadataSummary`): for watchers that react to
   * changes and never read the object itself (drift watches). Otherwise whole objects are
   * cached without managedFields (see cache-shape.ts).
   */
  metadataOnly?: boolean;
}

/** `start()` was still waiting for the initial list when `stop()` was called. */
export class InformerStoppedError extends Error {
  override readonly name = 'InformerStoppedError';
}

export function resourcePath(r: InformerResource): string {
  const base = r.apiVersion.includes('/') ? `/apis/${r.apiVersion}` : `/api/${r.apiVersion}`;
  return `${base}${r.namespace ? `/namespaces/${encodeURIComponent(r.namespace)}` : ''}/${r.plural}`;
}

/**
 * A list+watch cache of one resource that survives API server trouble.
 *
 * Built on client-node's ListWatch, which reconnects by itself after watch
 * timeouts (from the last resourceVersion) and relists after 410 Gone, but
 * stops for good on any other error (connection refused, reset, 5xx, a
 * failing list). This class restarts it from the error handler with capped
 * exponential backoff, reset once a restart has listed and connected again.
 * Resuming keeps the last resourceVersion; if that is too old the server
 * answers 410 and ListWatch relists, emitting `delete` for objects that
 * vanished meanwhile, so no change is lost across an outage.
 */
export class Informer<T extends KubernetesObject = KubernetesObject> {
  readonly #log: Logger;
  readonly #lw: ListWatch<T>;
  readonly #path: string;
  readonly #handlers = new Set<ChangeHandler<T>>();
  readonly #resyncPeriodMs: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  #backoffMs: number;
  #stopped = true;
  #synced = false;
  /** Listed and watching now: false from an error until a restart has listed and connected again. */
  #live = false;
  #attemptFailed = false;
  #restartTimer: NodeJS.Timeout | undefined;
  /** The cached copy a MODIFIED event is replacing, while ListWatch dispatches it (synchronously). */
  #replacing: T | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #startPromise: PromiseWithResolvers<void> | undefined;
  #restarts = 0;
  #lastError: Error | undefined;

  constructor(kc: KubeConfig, opts: InformerOptions) {
    const { resource } = opts;
    const path = resourcePath(resource);
    this.#path = path;
    this.#log = opts.logger.child({ component: 'informer', resource: path, labelSelector: opts.labelSelector });
    this.#resyncPeriodMs = opts.resyncPeriodMs ?? 0;
    this.#initialBackoffMs = opts.backoff?.initialMs ?? 500;
    this.#maxBackoffMs = opts.backoff?.maxMs ?? 30_000;
    this.#backoffMs = this.#initialBackoffMs;
    const shape: (obj: T) => T = opts.metadataOnly
      ? (obj) => metadataSummary(obj, resource) as T
      : (obj) => {
          // List items come without apiVersion/kind; watch events carry them. Make the cache uniform.
          obj.apiVersion ??= resource.apiVersion;
          obj.kind ??= resource.kind;
          return slimForCache(obj);
        };
    const accept = opts.metadataOnly ? METADATA_ACCEPT : { list: 'application/json', watch: 'application/json' };
    const list = async (): Promise<KubernetesListObject<T>> => {
      const result = await listRaw<T>(kc, path, accept.list, { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
      result.items = result.items.map(shape);
      return result;
    };
    const replacing = (obj: T | undefined) => {
      this.#replacing = obj && this.#lw.get(obj.metadata?.name ?? '', obj.metadata?.namespace);
    };
    this.#lw = new ListWatch<T>(path, new ShapingWatch(kc, accept.watch, shape, replacing), list, false, opts.labelSelector, opts.fieldSelector);
    this.#lw.on('add', (obj) => this.#dispatch(obj, 'add'));
    this.#lw.on('update', (obj) => this.#dispatch(obj, 'update', this.#replacing));
    this.#lw.on('delete', (obj) => this.#dispatch(obj, 'delete'));
    this.#lw.on('connect', () => this.#log.debug('listing/watching'));
    this.#lw.on('error', (err: unknown) => this.#onError(err));
  }

  /** Subscribes to changes; returns the unsubscribe function. Handlers should only enqueue keys: they run inline. */
  onChange(handler: ChangeHandler<T>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** Resolves once the initial list is in the cache and the watch is connected; retries (with backoff) until then. */
  start(): Promise<void> {
    if (this.#startPromise) return this.#startPromise.promise;
    this.#startPromise = Promise.withResolvers<void>();
    this.#stopped = false;
    this.#log.info('informer starting');
    void this.#connect();
    return this.#startPromise.promise;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    clearInterval(this.#resyncTimer);
    this.#restartTimer = undefined;
    this.#resyncTimer = undefined;
    // Aborting the watch makes ListWatch emit an AbortError; #onError ignores it once stopped.
    await this.#lw.stop();
    if (!this.#synced) this.#startPromise?.reject(new InformerStoppedError('informer stopped before the initial sync'));
    this.#startPromise = undefined;
    this.#synced = false;
    this.#live = false;
    this.#log.info('informer stopped');
  }

  /** Cached objects (of one namespace, if given). */
  list(namespace?: string): readonly T[] {
    return this.#lw.list(namespace);
  }

  /** A cached object; cluster-scoped objects have no namespace. */
  get(name: string, namespace?: string): T | undefined {
    return this.#lw.get(name, namespace);
  }

  get synced(): boolean {
    return this.#synced;
  }

  /**
   * The cache follows the server now: synced and watching, not waiting for a
   * restart after an error. A reader that must not answer from a cache frozen
   * by an outage checks this and asks the server instead.
   */
  get live(): boolean {
    return this.#live;
  }

  /** How often the watch was restarted after an error (for health checks and tests). */
  get restarts(): number {
    return this.#restarts;
  }

  get lastError(): Error | undefined {
    return this.#lastError;
  }

  async #connect(): Promise<void> {
    this.#attemptFailed = false;
    try {
      // Resolves after the list (if needed) and the watch request got its response;
      // a failure on the way is emitted as `error` before it resolves.
      await this.#lw.start();
    } catch (err) {
      this.#onError(err);
      return;
    }
    if (this.#attemptFailed || this.#stopped) return;
    this.#live = true;
    this.#backoffMs = this.#initialBackoffMs;
    if (!this.#synced) {
      this.#synced = true;
      this.#log.info({ objects: this.#lw.list().length, restarts: this.#restarts }, 'informer synced');
      this.#startPromise?.resolve();
      if (this.#resyncPeriodMs > 0) {
        this.#resyncTimer = setInterval(() => this.#resync(), this.#resyncPeriodMs);
        this.#resyncTimer.unref?.();
      }
    } else {
      this.#log.info({ restarts: this.#restarts }, 'watch reconnected');
    }
  }

  #onError(err: unknown): void {
    if (this.#stopped) return;
    this.#attemptFailed = true;
    this.#live = false;
    const wrapped = toKubeApiError(err, { operation: 'list/watch', name: this.#path });
    this.#lastError = wrapped;
    if (this.#restartTimer) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#maxBackoffMs);
    this.#log.warn({ err: wrapped, retryInMs: delay, restarts: this.#restarts }, 'watch failed; restarting informer');
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      this.#restarts++;
      void this.#connect();
    }, delay);
  }

  #resync(): void {
    for (const obj of this.#lw.list()) this.#dispatch(obj, 'resync');
  }

  #dispatch(obj: T, type: InformerEventType, previous?: T): void {
    for (const handler of this.#handlers) {
      try {
        handler(obj, type, previous);
      } catch (err) {
        // One broken subscriber must not stop the others or the watch.
        this.#log.error({ err, type, name: obj.metadata?.name, namespace: obj.metadata?.namespace }, 'informer handler threw');
      }
    }
  }
}

/** Watch event types whose object goes into (or leaves) the cache; ERROR carries a Status, BOOKMARK only a resourceVersion. */
const OBJECT_EVENTS: ReadonlySet<string> = new Set(['ADDED', 'MODIFIED', 'DELETED']);

/** client-node's Watch with our Accept header and every object shaped before ListWatch caches it. */
class ShapingWatch<T extends KubernetesObject> extends Watch {
  readonly #shape: (obj: T) => T;
  readonly #replacing: (obj: T | undefined) => void;

  /** `replacing` is told the object of a MODIFIED event before ListWatch caches it, and undefined after. */
  constructor(kc: KubeConfig, accept: string, shape: (obj: T) => T, replacing: (obj: T | undefined) => void) {
    // Watch reads only the cluster and the authentication from its config; the Accept header rides on the latter.
    const config = Object.create(kc) as KubeConfig;
    config.applySecurityAuthentication = async (ctx: RequestContext) => {
      await kc.applySecurityAuthentication(ctx);
      ctx.setHeaderParam('Accept', accept);
    };
    super(config);
    this.#shape = shape;
    this.#replacing = replacing;
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: T, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase: string, obj: T, raw?: unknown) => {
        if (!OBJECT_EVENTS.has(phase)) return callback(phase, obj, raw);
        const shaped = this.#shape(obj);
        if (phase !== 'MODIFIED') return callback(phase, shaped, raw);
        this.#replacing(shaped);
        try {
          callback(phase, shaped, raw);
        } finally {
          this.#replacing(undefined);
        }
      },
      done,
    );
  }
}

/**
 * The list as the API server's JSON. client-node's typed list runs every item
 * through its model (timestamps become Dates, unlike watch events) and
 * allocates a second copy of each; this keeps list and watch objects alike.
 */
async function listRaw<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  accept: string,
  selectors: { labelSelector: string | undefined; fieldSelector: string | undefined },
): Promise<KubernetesListObject<T>> {
  const url = new URL(`${kc.getCurrentCluster()?.server ?? ''}${path}`);
  if (selectors.labelSelector) url.searchParams.set('labelSelector', selectors.labelSelector);
  if (selectors.fieldSelector) url.searchParams.set('fieldSelector', selectors.fieldSelector);
  const ctx = new RequestContext(url.toString(), HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  const target = { operation: 'list', name: path };
  let response;
  try {
    response = await fetch(ctx.getUrl(), { headers: { ...ctx.getHeaders(), accept }, dispatcher: ctx.getDispatcher() });
  } catch (err) {
    throw new KubeApiError(target, 0, undefined, (err as Error).message, { cause: err });
  }
  const text = await response.text();
  if (response.status >= 400) throw apiErrorFromBody(target, response.status, text);
  const body = JSON.parse(text) as KubernetesListObject<T>;
  body.items ??= [];
  return body;
}

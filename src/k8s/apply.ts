import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.ts';
import { isNotFound, toKubeApiError, type KubeApiTarget } from './errors.ts';

export { KubeApiError, isAlreadyExists, isConflict, isNotFound, toKubeApiError } from './errors.ts';

/** Identifies one object of any kind. `namespace` is omitted for cluster-scoped kinds. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface ApplyOptions {
  /** Server-side apply owner of the fields in `obj` (e.g. `caelus-operator`, `caelus-sync`). */
  fieldManager: string;
  /** Take over fields owned by other managers instead of failing with 409. Default false. */
  force?: boolean;
  /** Validate and default on the server without persisting (`dryRun=All`), e.g. for drift checks. */
  dryRun?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

function target(operation: string, ref: Partial<ObjectRef>): KubeApiTarget {
  return { operation, apiVersion: ref.apiVersion, kind: ref.kind, namespace: ref.namespace, name: ref.name };
}

function refOf(obj: KubernetesObject): Partial<ObjectRef> {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata?.name,
    namespace: obj.metadata?.namespace,
  };
}

/**
 * Generic object access for any kind (resolved through API discovery, cached
 * by client-node per apiVersion): server-side apply, and get/delete that
 * treat "not found" as a normal answer rather than an exception.
 */
export class ObjectClient {
  readonly #api: KubernetesObjectApi;
  readonly #log: Logger;

  constructor(kc: KubeConfig, opts: { logger: Logger }) {
    this.#api = KubernetesObjectApi.makeApiClient(kc);
    this.#log = opts.logger.child({ component: 'apply' });
  }

  /**
   * Server-side apply of `obj` as `fieldManager`: creates or updates, owning
   * exactly the fields `obj` sets. Returns the object as stored (or as it
   * would be, with dryRun). `metadata.managedFields` is stripped because the
   * API server rejects apply bodies that carry it; a `resourceVersion` left
   * in `obj` is kept and acts as a precondition (409 if stale).
   */
  async apply<T extends KubernetesObject>(obj: T, opts: ApplyOptions): Promise<T> {
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
      throw new TypeError('apply: object needs apiVersion, kind and metadata.name');
    }
    const body = { ...obj, metadata: { ...obj.metadata } } as T;
    delete body.metadata!.managedFields;
    try {
      const applied = await this.#api.patch<T>(
        body,
        undefined,
        opts.dryRun ? 'All' : undefined,
        opts.fieldManager,
        opts.force ?? false,
        PatchStrategy.ServerSideApply,
      );
      this.#log.debug(
        { ...refOf(obj), fieldManager: opts.fieldManager, dryRun: opts.dryRun ?? false, resourceVersion: applied.metadata?.resourceVersion },
        'applied',
      );
      return applied;
    } catch (err) {
      throw toKubeApiError(err, target(opts.dryRun ? 'apply (dry run)' : 'apply', refOf(obj)));
    }
  }

  /** The live object, or undefined if it does not exist. */
  async get<T extends KubernetesObject = KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.#api.read<T>({
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toKubeApiError(err, target('get', ref));
    }
  }

  /** Deletes the object; false if it was already gone. */
  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<boolean> {
    try {
      await this.#api.delete(
        {
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
        },
        undefined,
        opts.dryRun ? 'All' : undefined,
        opts.gracePeriodSeconds,
        undefined,
        opts.propagationPolicy,
      );
      this.#log.debug({ ...ref, propagationPolicy: opts.propagationPolicy }, 'deleted');
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw toKubeApiError(err, target('delete', ref));
    }
  }
}

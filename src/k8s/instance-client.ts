import { CustomObjectsApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.ts';
import { isConflict, isNotFound, toKubeApiError, type KubeApiTarget } from './errors.ts';
import { contentType } from './request-options.ts';

/** A custom resource with typed spec and status. The operator plugs in src/domain/instance.ts types. */
export type CustomResource<Spec, Status> = KubernetesObject & { spec: Spec; status?: Status };

export interface ClusterResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const CAELUS_INSTANCE: ClusterResourceType = {
  group: 'caelus.io',
  version: 'v1',
  plural: 'caelusinstances',
  kind: 'CaelusInstance',
};

export interface InstanceClientOptions {
  logger: Logger;
  /** Defaults to CaelusInstance; any cluster-scoped kind with a status subresource works (tests use their own CRD). */
  resource?: ClusterResourceType;
  /** Read-modify-write attempts before giving up on 409 conflicts. Default 5. */
  maxAttempts?: number;
}

/** A read-modify-write lost the optimistic-concurrency race `attempts` times in a row. */
export class ConflictRetriesExhaustedError extends Error {
  override readonly name = 'ConflictRetriesExhaustedError';
  readonly attempts: number;
  constructor(message: string, attempts: number, cause: unknown) {
    super(message, { cause });
    this.attempts = attempts;
  }
}

/**
 * Typed access to a cluster-scoped custom resource (CaelusInstance by
 * default). Finalizer writes are read-modify-write with a resourceVersion,
 * so a concurrent writer (kubectl, GitOps, the sync loop, another replica)
 * is never overwritten silently: on 409 the object is read again and the
 * change re-applied to the fresh copy, a bounded number of times. Status has
 * one writer and is set whole (writeStatus).
 */
export class InstanceClient<Spec = Record<string, unknown>, Status = Record<string, unknown>> {
  readonly #api: CustomObjectsApi;
  readonly #log: Logger;
  readonly #type: ClusterResourceType;
  readonly #maxAttempts: number;

  constructor(kc: KubeConfig, opts: InstanceClientOptions) {
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#type = opts.resource ?? CAELUS_INSTANCE;
    this.#maxAttempts = opts.maxAttempts ?? 5;
    this.#log = opts.logger.child({ component: 'instance-client', kind: this.#type.kind });
  }

  /** The object, or undefined if it does not exist. */
  async get(name: string): Promise<CustomResource<Spec, Status> | undefined> {
    try {
      return (await this.#api.getClusterCustomObject({ ...this.#gvp(), name })) as CustomResource<Spec, Status>;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toKubeApiError(err, this.#target('get', name));
    }
  }

  async list(opts: { labelSelector?: string } = {}): Promise<Array<CustomResource<Spec, Status>>> {
    try {
      const res = (await this.#api.listClusterCustomObject({ ...this.#gvp(), labelSelector: opts.labelSelector })) as {
        items: Array<CustomResource<Spec, Status>>;
      };
      const apiVersion = `${this.#type.group}/${this.#type.version}`;
      return res.items.map((o) => ({ ...o, apiVersion: o.apiVersion ?? apiVersion, kind: o.kind ?? this.#type.kind }));
    } catch (err) {
      throw toKubeApiError(err, this.#target('list'));
    }
  }

  /**
   * Sets the whole status through the /status subresource, without reading
   * first: a JSON patch that adds `/status` replaces it whole and needs no
   * resourceVersion. Only for a status with one writer (the operator that
   * holds the instance's Lease) that decides itself whether anything
   * changed; a read before every write was a third of a new instance's GETs.
   * With `uid`, a status meant for a deleted object never lands on a new one
   * of the same name. Returns the stored object, or undefined if the object
   * (with that uid) does not exist.
   */
  async writeStatus(name: string, status: Status, uid?: string): Promise<CustomResource<Spec, Status> | undefined> {
    const sameObject = uid ? [{ op: 'test', path: '/metadata/uid', value: uid }] : [];
    try {
      return (await this.#api.patchClusterCustomObjectStatus(
        { ...this.#gvp(), name, body: [...sameObject, { op: 'add', path: '/status', value: status }] },
        contentType(PatchStrategy.JsonPatch),
      )) as CustomResource<Spec, Status>;
    } catch (err) {
      const failure = toKubeApiError(err, this.#target('writeStatus', name));
      if (failure.isNotFound) return undefined;
      // A failed `test` is a bare 422 Invalid, like a status the schema refuses: read to tell them apart.
      if (uid && failure.statusCode === 422 && (await this.get(name))?.metadata?.uid !== uid) return undefined;
      throw failure;
    }
  }

  /**
   * Ensures `finalizer` is set; a no-op (no write) when it already is.
   * Undefined if the object does not exist. `known`, a copy the caller already
   * holds (an informer's), is tried first instead of a read; a stale one costs
   * a 409 and then the usual re-read.
   */
  async addFinalizer(name: string, finalizer: string, known?: CustomResource<Spec, Status>): Promise<CustomResource<Spec, Status> | undefined> {
    return this.#retryOnConflict(
      'addFinalizer',
      name,
      async (current) => {
        const finalizers = current.metadata?.finalizers ?? [];
        if (finalizers.includes(finalizer)) return current;
        return this.#patchFinalizers(current, [...finalizers, finalizer]);
      },
      known,
    );
  }

  /** Ensures `finalizer` is not set; a no-op when it is absent. Undefined if the object does not exist (already deleted). */
  async removeFinalizer(name: string, finalizer: string): Promise<CustomResource<Spec, Status> | undefined> {
    return this.#retryOnConflict('removeFinalizer', name, async (current) => {
      const finalizers = current.metadata?.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return current;
      return this.#patchFinalizers(current, finalizers.filter((f) => f !== finalizer));
    });
  }

  /**
   * A merge patch replaces the whole finalizers list; carrying the
   * resourceVersion we read makes it conditional (409 if anyone changed the
   * object since), so another controller's finalizer is never dropped.
   */
  async #patchFinalizers(current: CustomResource<Spec, Status>, finalizers: string[]): Promise<CustomResource<Spec, Status>> {
    return (await this.#api.patchClusterCustomObject(
      {
        ...this.#gvp(),
        name: current.metadata!.name!,
        body: { metadata: { finalizers, resourceVersion: current.metadata?.resourceVersion } },
      },
      contentType(PatchStrategy.MergePatch),
    )) as CustomResource<Spec, Status>;
  }

  async #retryOnConflict(
    op: string,
    name: string,
    write: (current: CustomResource<Spec, Status>) => Promise<CustomResource<Spec, Status>>,
    known?: CustomResource<Spec, Status>,
  ): Promise<CustomResource<Spec, Status> | undefined> {
    let lastConflict: unknown;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const current = attempt === 1 && known?.metadata?.resourceVersion ? structuredClone(known) : await this.get(name);
      if (!current) return undefined;
      try {
        return await write(current);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        if (!isConflict(err)) throw toKubeApiError(err, this.#target(op, name));
        lastConflict = err;
        this.#log.debug({ name, op, attempt }, 'conflict; re-reading and retrying');
        // A short jittered pause so two writers retrying in lockstep do not collide again.
        await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
      }
    }
    throw new ConflictRetriesExhaustedError(
      `${op} ${this.#type.kind} ${name}: still conflicting after ${this.#maxAttempts} attempts`,
      this.#maxAttempts,
      toKubeApiError(lastConflict, this.#target(op, name)),
    );
  }

  #gvp(): { group: string; version: string; plural: string } {
    return { group: this.#type.group, version: this.#type.version, plural: this.#type.plural };
  }

  #target(operation: string, name?: string): KubeApiTarget {
    return { operation, apiVersion: `${this.#type.group}/${this.#type.version}`, kind: this.#type.kind, name };
  }
}

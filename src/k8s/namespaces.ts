import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { isAlreadyExists, isNotFound, toKubeApiError } from './errors.ts';

export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
  terminating: boolean;
}

/** The namespace operations the operator needs, with typed errors that name the namespace. */
export class Namespaces {
  readonly #core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  async get(name: string): Promise<NamespaceInfo | undefined> {
    try {
      const ns = await this.#core.readNamespace({ name });
      return {
        name,
        labels: ns.metadata?.labels ?? {},
        terminating: Boolean(ns.metadata?.deletionTimestamp) || ns.status?.phase === 'Terminating',
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toKubeApiError(err, { operation: 'get', kind: 'Namespace', name });
    }
  }

  async create(name: string, labels: Record<string, string>): Promise<void> {
    try {
      await this.#core.createNamespace({ body: { metadata: { name, labels } } });
    } catch (err) {
      // Created by a previous attempt whose response was lost: the caller re-reads and checks ownership next time.
      if (isAlreadyExists(err)) return;
      throw toKubeApiError(err, { operation: 'create', kind: 'Namespace', name });
    }
  }

  async label(name: string, labels: Record<string, string>): Promise<void> {
    try {
      await this.#core.patchNamespace(
        { name, body: { metadata: { labels } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      throw toKubeApiError(err, { operation: 'label', kind: 'Namespace', name });
    }
  }

  async delete(name: string): Promise<void> {
    try {
      await this.#core.deleteNamespace({ name });
    } catch (err) {
      if (isNotFound(err)) return;
      throw toKubeApiError(err, { operation: 'delete', kind: 'Namespace', name });
    }
  }
}

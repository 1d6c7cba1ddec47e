// Live status of an instance read from its CaelusInstance, for API callers
// that want conditions and drift as the operator sees them now, not as of
// the sync's last copy. Optional: without cluster access the API answers
// from the row.
import type { KubeConfig } from '@kubernetes/client-node';
import type { TenantInstance } from '../db/repositories/tenant-instances.ts';
import { instanceNamespace, type CaelusInstance, type CaelusInstanceSpec, type CaelusInstanceStatus, type Condition } from '../domain/instance.ts';
import { InstanceClient } from '../k8s/instance-client.ts';
import type { Logger } from '../observability/logger.ts';

export interface LiveStatus {
  phase?: string;
  message?: string;
  url?: string;
  conditions?: Condition[];
  drift?: Record<string, unknown>;
}

export interface LiveStatusReader {
  /** Undefined when there is no matching CR (not synced yet, or gone). */
  read(instance: TenantInstance): Promise<LiveStatus | undefined>;
}

/**
 * Reads the CR named after the instance's namespace (the sync names the CR,
 * the namespace and the release alike). A CR of that name that owns another
 * namespace or belongs to another user is not this instance's and is ignored
 * (an adopted GitOps CR named differently from its namespace is answered from
 * the row). A cluster that cannot
 * be reached degrades to the row (logged), never to a failed request: the
 * row is still a truthful, if older, answer.
 */
export class ClusterLiveStatusReader implements LiveStatusReader {
  readonly #client: InstanceClient<CaelusInstanceSpec, CaelusInstanceStatus>;
  readonly #log: Logger;
  constructor(kc: KubeConfig, log: Logger) {
    this.#client = new InstanceClient<CaelusInstanceSpec, CaelusInstanceStatus>(kc, { logger: log });
    this.#log = log;
  }

  async read(instance: TenantInstance): Promise<LiveStatus | undefined> {
    let cr;
    try {
      cr = await this.#client.get(instance.namespace);
    } catch (err) {
      this.#log.warn({ err, instance: instance.id }, 'live status unavailable; answering from the database');
      return undefined;
    }
    if (!cr || cr.spec.userId !== instance.userId || instanceNamespace(cr as unknown as CaelusInstance) !== instance.namespace) return undefined;
    const s = cr.status ?? {};
    return {
      ...(s.phase ? { phase: s.phase } : {}),
      ...(s.message !== undefined ? { message: s.message } : {}),
      ...(s.url ? { url: s.url } : {}),
      conditions: s.conditions ?? [],
      ...(s.drift ? { drift: s.drift } : {}),
    };
  }
}

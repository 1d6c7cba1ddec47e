// What the reconciler needs from the outside world, as narrow interfaces. The
// adapters in src/helm and src/k8s satisfy them structurally; integration
// tests use the real adapters, unit tests of pure decisions need none.
import type { ChartReference } from '../domain/catalog.ts';
import type { CaelusInstance, CaelusInstanceStatus } from '../domain/instance.ts';

export interface HelmReleaseState {
  revision: number;
  /** deployed | failed | pending-install | pending-upgrade | pending-rollback | uninstalling | superseded | … */
  status: string;
  description?: string;
  chart?: string;
  chartVersion?: string;
}

export interface HelmPort {
  upgradeInstall(opts: {
    release: string;
    namespace: string;
    chart: ChartReference;
    chartVersion?: string;
    values: Record<string, unknown>;
    timeoutSeconds: number;
    description?: string;
    labels?: Record<string, string>;
    /** Enforced on what helm applies (post-renderer); refusal is a HelmError(PolicyViolation). */
    policy?: { allowedKinds: readonly string[]; allowedClusterRoles: readonly string[]; reserved: readonly { kind: string; name: string }[] };
    signal?: AbortSignal;
  }): Promise<HelmReleaseState>;
  status(release: string, namespace: string): Promise<HelmReleaseState | undefined>;
  history(release: string, namespace: string): Promise<Array<{ revision: number; status: string }>>;
  rollback(release: string, namespace: string, revision: number, signal?: AbortSignal): Promise<void>;
  uninstall(release: string, namespace: string, signal?: AbortSignal): Promise<void>;
  getManifest(release: string, namespace: string, opts: { revision: number }): Promise<string>;
}

export interface InstanceStore {
  /**
   * Writes status through the status subresource, re-reading and retrying on
   * 409 conflicts. Undefined when the object no longer exists.
   */
  updateStatus(name: string, mutate: (current: CaelusInstance) => CaelusInstanceStatus): Promise<CaelusInstance | undefined>;
  addFinalizer(name: string, finalizer: string): Promise<void>;
  removeFinalizer(name: string, finalizer: string): Promise<void>;
}

export type EventType = 'Normal' | 'Warning';
export interface EventSink {
  record(object: CaelusInstance, type: EventType, reason: string, message: string): void;
}

export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
  terminating: boolean;
}

export interface NamespacePort {
  get(name: string): Promise<NamespaceInfo | undefined>;
  create(name: string, labels: Record<string, string>): Promise<void>;
  /** Merges the labels into the namespace's labels. */
  label(name: string, labels: Record<string, string>): Promise<void>;
  delete(name: string): Promise<void>;
}

// In-memory implementations of the operator's ports (src/operator/ports.ts),
// shared by the step unit tests. They keep state the way the real systems do
// (helm's revisions and statuses, namespaces with labels, finalizers), so a
// test reads like the user-visible behaviour, without a control plane.
import type { ResolvedTemplateVersion } from '../../src/domain/catalog.ts';
import { INSTANCE_LABEL, type CaelusInstance, type CaelusInstanceStatus, type EventReason } from '../../src/domain/instance.ts';
import type { CheckOptions, CheckResult, DriftedResource } from '../../src/drift/checker.ts';
import { parseManifest, type ManifestObject } from '../../src/drift/release-manifest.ts';
import { checkManifest } from '../../src/domain/kinds-policy.ts';
import { HelmError, HelmErrorReason } from '../../src/helm/errors.ts';
import type { ReleaseStatus } from '../../src/helm/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { StatusDraft, type DesiredContext } from '../../src/operator/context.ts';
import type {
  DriftPort,
  EventSink,
  EventType,
  HelmPort,
  HelmReleaseState,
  InstanceStore,
  LoopGuardPort,
  NamespaceInfo,
  NamespacePort,
  ReleaseManifestPort,
} from '../../src/operator/ports.ts';
import type { TenantIdentityPort } from '../../src/operator/steps/tenant.ts';

export const NOW = new Date('2030-01-01T12:00:00Z');

export function fakeInstance(name: string, spec: Partial<CaelusInstance['spec']> = {}, status?: CaelusInstanceStatus): CaelusInstance {
  return {
    apiVersion: 'caelus.io/v1',
    kind: 'CaelusInstance',
    metadata: { name, generation: 1, uid: `uid-${name}`, creationTimestamp: '2030-01-01T10:00:00Z', finalizers: ['caelus.io/finalizer'] },
    spec: { userId: 'u', productTemplateVersion: 'web@1.0.0', ...spec },
    ...(status ? { status } : {}),
  };
}

export const fakeTemplate: ResolvedTemplateVersion = {
  id: 'v1',
  templateId: 't1',
  templateName: 'web',
  version: '1.0.0',
  chart: { kind: 'local', path: '/charts/web' },
  defaultValues: {},
};

/** The context every step after `values` gets. */
export function fakeContext(instance: CaelusInstance, opts: { digest?: string; namespace?: string; signal?: AbortSignal } = {}): DesiredContext {
  return {
    instance,
    status: new StatusDraft(instance.status),
    log: silentLogger(),
    signal: opts.signal ?? new AbortController().signal,
    now: () => NOW,
    template: fakeTemplate,
    namespace: opts.namespace ?? instance.metadata.name,
    desired: { values: {}, digest: opts.digest ?? 'sha256:desired', labels: { [INSTANCE_LABEL]: instance.metadata.name } },
  };
}

interface Revision {
  revision: number;
  status: ReleaseStatus;
  description: string;
  manifest: string;
}

/** Helm's storage for the releases of the test: revisions with statuses, as `helm history` shows them. */
export class FakeHelm implements HelmPort {
  readonly releases = new Map<string, Revision[]>();
  readonly calls: string[] = [];
  /** The manifest every upgrade installs. */
  manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: "1"\n';
  /** The status the next upgrade ends in (helm exit 0 with a failed release is rare, but its storage can say so). */
  nextUpgradeStatus: ReleaseStatus = 'deployed';

  #key(release: string, namespace: string): string {
    return `${namespace}/${release}`;
  }

  /** Stores a revision as if helm (or someone writing helm's Secrets) had. */
  put(release: string, namespace: string, rev: Revision): void {
    const list = this.releases.get(this.#key(release, namespace)) ?? [];
    list.push(rev);
    list.sort((a, b) => a.revision - b.revision);
    this.releases.set(this.#key(release, namespace), list);
  }

  #latest(release: string, namespace: string): Revision | undefined {
    return this.releases.get(this.#key(release, namespace))?.at(-1);
  }

  #state(r: Revision): HelmReleaseState {
    return { revision: r.revision, status: r.status, description: r.description, chart: 'web', chartVersion: '1.0.0' };
  }

  #supersede(release: string, namespace: string): void {
    for (const r of this.releases.get(this.#key(release, namespace)) ?? []) if (r.status === 'deployed') r.status = 'superseded';
  }

  async upgradeInstall(opts: Parameters<HelmPort['upgradeInstall']>[0]): Promise<HelmReleaseState> {
    this.calls.push(`upgrade ${opts.release}`);
    const latest = this.#latest(opts.release, opts.namespace);
    if (latest && (latest.status.startsWith('pending-') || latest.status === 'uninstalling')) {
      throw new HelmError({ reason: HelmErrorReason.OperationInProgress, verb: 'upgrade', release: opts.release, namespace: opts.namespace, exitCode: 1, stderrTail: 'Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress' });
    }
    if (opts.policy) {
      // What the real post-renderer does: refuse before anything is stored.
      const violations = checkManifest(parseManifest(this.manifest, opts.namespace), { namespace: opts.namespace, ...opts.policy });
      if (violations.length > 0) {
        throw new HelmError({ reason: HelmErrorReason.PolicyViolation, verb: 'upgrade', release: opts.release, namespace: opts.namespace, exitCode: 1, stderrTail: 'refused by the kinds policy', violations });
      }
    }
    this.#supersede(opts.release, opts.namespace);
    const rev: Revision = { revision: (latest?.revision ?? 0) + 1, status: this.nextUpgradeStatus, description: opts.description ?? '', manifest: this.manifest };
    this.put(opts.release, opts.namespace, rev);
    return this.#state(rev);
  }

  async status(release: string, namespace: string): Promise<HelmReleaseState | undefined> {
    const latest = this.#latest(release, namespace);
    return latest && this.#state(latest);
  }

  async history(release: string, namespace: string): Promise<Array<{ revision: number; status: ReleaseStatus }>> {
    return (this.releases.get(this.#key(release, namespace)) ?? []).map((r) => ({ revision: r.revision, status: r.status }));
  }

  async rollback(release: string, namespace: string, revision: number): Promise<void> {
    this.calls.push(`rollback ${release} ${revision}`);
    const list = this.releases.get(this.#key(release, namespace)) ?? [];
    const target = list.find((r) => r.revision === revision);
    if (!target) throw new HelmError({ reason: HelmErrorReason.ReleaseNotFound, verb: 'rollback', release, namespace, exitCode: 1, stderrTail: 'Error: release: not found' });
    for (const r of list) if (r.status === 'deployed' || r.status.startsWith('pending-')) r.status = r.status === 'deployed' ? 'superseded' : 'failed';
    this.put(release, namespace, { revision: (list.at(-1)?.revision ?? 0) + 1, status: 'deployed', description: `Rollback to ${revision}`, manifest: target.manifest });
  }

  async uninstall(release: string, namespace: string): Promise<void> {
    this.calls.push(`uninstall ${release}`);
    this.releases.delete(this.#key(release, namespace));
  }

  async getManifest(release: string, namespace: string, opts: { revision: number }): Promise<string> {
    const r = this.releases.get(this.#key(release, namespace))?.find((x) => x.revision === opts.revision);
    if (!r) throw new HelmError({ reason: HelmErrorReason.ReleaseNotFound, verb: 'get', release, namespace, exitCode: 1, stderrTail: 'Error: release: not found' });
    return r.manifest;
  }
}

/** The tenant ServiceAccount + RoleBinding per namespace, as the operator applies them. */
export class FakeTenants implements TenantIdentityPort {
  readonly ensured: string[] = [];
  async ensure(namespace: string): Promise<void> {
    this.ensured.push(namespace);
  }
}

/** Stored manifests, read from the fake helm's storage (as ReleaseManifests reads helm's Secrets). */
export class FakeManifests implements ReleaseManifestPort {
  readonly #helm: FakeHelm;
  reads = 0;
  constructor(helm: FakeHelm) {
    this.#helm = helm;
  }
  async get(release: string, namespace: string, revision: number): Promise<ManifestObject[]> {
    this.reads++;
    return parseManifest(await this.#helm.getManifest(release, namespace, { revision }), namespace);
  }
  remember(): void {}
}

/** Live objects that drifted, as the test says; correcting them clears the drift. */
export class FakeDrift implements DriftPort {
  drifted: DriftedResource[] = [];
  checks = 0;
  readonly corrected: DriftedResource[][] = [];
  async check(objects: readonly ManifestObject[], _opts: CheckOptions): Promise<CheckResult> {
    this.checks++;
    return { drifted: [...this.drifted], objects: objects.length, dryRuns: objects.length };
  }
  async correct(drifted: readonly DriftedResource[]): Promise<void> {
    this.corrected.push([...drifted]);
    this.drifted = [];
  }
}

export class FakeLoopGuard implements LoopGuardPort {
  isTripped = false;
  /** Corrections recorded; the guard trips when this reaches `max`. */
  recorded = 0;
  max = Number.POSITIVE_INFINITY;
  tripped(): boolean {
    return this.isTripped;
  }
  record(): boolean {
    this.recorded++;
    if (this.recorded >= this.max) this.isTripped = true;
    return this.isTripped;
  }
}

export interface RecordedEvent {
  object: string;
  type: EventType;
  reason: EventReason;
  message: string;
}

export class FakeEvents implements EventSink {
  readonly events: RecordedEvent[] = [];
  record(object: CaelusInstance, type: EventType, reason: EventReason, message: string): void {
    this.events.push({ object: object.metadata.name, type, reason, message });
  }
  reasons(): EventReason[] {
    return this.events.map((e) => e.reason);
  }
}

export class FakeNamespaces implements NamespacePort {
  readonly namespaces = new Map<string, NamespaceInfo>();
  async get(name: string): Promise<NamespaceInfo | undefined> {
    const ns = this.namespaces.get(name);
    return ns && structuredClone(ns);
  }
  async create(name: string, labels: Record<string, string>): Promise<void> {
    if (this.namespaces.has(name)) throw new Error(`namespaces "${name}" already exists`);
    this.namespaces.set(name, { name, labels: { ...labels }, terminating: false });
  }
  async label(name: string, labels: Record<string, string>): Promise<void> {
    const ns = this.namespaces.get(name);
    if (ns) ns.labels = { ...ns.labels, ...labels };
  }
  /** Deletion is asynchronous in Kubernetes: the namespace is Terminating until `finishDeletion`. */
  async delete(name: string): Promise<void> {
    const ns = this.namespaces.get(name);
    if (ns) ns.terminating = true;
  }
  finishDeletion(name: string): void {
    this.namespaces.delete(name);
  }
}

export class FakeInstances implements InstanceStore {
  readonly objects = new Map<string, CaelusInstance>();
  statusWrites = 0;
  constructor(...instances: CaelusInstance[]) {
    for (const i of instances) this.objects.set(i.metadata.name, structuredClone(i));
  }
  async writeStatus(name: string, status: CaelusInstanceStatus): Promise<CaelusInstance | undefined> {
    const current = this.objects.get(name);
    if (!current) return undefined;
    this.statusWrites++;
    current.status = structuredClone(status);
    return structuredClone(current);
  }
  async addFinalizer(known: CaelusInstance, finalizer: string): Promise<void> {
    const o = this.objects.get(known.metadata.name);
    if (o && !o.metadata.finalizers?.includes(finalizer)) o.metadata.finalizers = [...(o.metadata.finalizers ?? []), finalizer];
  }
  async removeFinalizer(name: string, finalizer: string): Promise<void> {
    const o = this.objects.get(name);
    if (o) o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  }
}

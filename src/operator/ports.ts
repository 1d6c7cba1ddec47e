// Every port of the operator: what it needs from the outside world, as narrow
// interfaces. The adapters in k8s-adapters.ts, run-operator.ts, src/helm,
// src/k8s and src/drift satisfy them structurally; integration tests use the
// real adapters, step unit tests the in-memory fakes in test/support/fakes.ts.
import type { ChartReference } from '../domain/catalog.ts';
import type { CaelusInstance, CaelusInstanceStatus, EventReason } from '../domain/instance.ts';
import type { Values } from '../domain/values.ts';
import type { CheckOptions, CheckResult, DriftedResource } from '../drift/checker.ts';
import type { ManifestObject } from '../drift/release-manifest.ts';
import type { ReleaseStatus } from '../helm/types.ts';

export interface HelmReleaseState {
  revision: number;
  status: ReleaseStatus;
  description?: string;
  chart?: string;
  chartVersion?: string;
  /** The applied manifest, as helm printed it after an install or upgrade. */
  manifest?: string;
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
  history(release: string, namespace: string): Promise<Array<{ revision: number; status: ReleaseStatus }>>;
  rollback(release: string, namespace: string, revision: number, signal?: AbortSignal): Promise<void>;
  uninstall(release: string, namespace: string, signal?: AbortSignal): Promise<void>;
  getManifest(release: string, namespace: string, opts: { revision: number }): Promise<string>;
}

/** The objects stored in one revision of a release (Helm's release record: tenant-writable, so checked before use). */
export interface ReleaseManifestPort {
  /** `asUser`: read the release record as that user (the tenant). */
  get(release: string, namespace: string, revision: number, opts?: { asUser?: string }): Promise<ManifestObject[]>;
  /** Keeps what helm itself printed for a revision it just applied, so reading it back needs no request. */
  remember(release: string, namespace: string, revision: number, manifest: string): void;
}

/** Live objects against a release manifest (src/drift/checker.ts). */
export interface DriftPort {
  check(objects: readonly ManifestObject[], opts: CheckOptions): Promise<CheckResult>;
  correct(drifted: readonly DriftedResource[], objects: readonly ManifestObject[], opts: { ignoreReplicas: boolean; asUser?: string }): Promise<void>;
}

/** Stops drift correction from turning into a hot loop (src/drift/loop-guard.ts). */
export interface LoopGuardPort {
  tripped(key: string): boolean;
  /** Records a correction; true if this one tripped the guard. */
  record(key: string): boolean;
}

/** Which step re-applies a Caelus-owned object: the tenant step (ServiceAccounts, RoleBindings) or the guardrails step (quota, limits, policies, secrets Secret). */
export type OwnedPart = 'tenant' | 'guardrails';

/** Where the adapters report their own writes to Caelus-owned objects, so the watch events they cause are not taken for someone else's edit (operator/restore.ts). */
export interface OwnWritesPort {
  /** `resourceVersion` the API server answered the write with. */
  wrote(ref: { kind: string; namespace?: string | undefined; name: string }, resourceVersion: string | undefined): void;
  deleted(ref: { kind: string; namespace?: string | undefined; name: string }): void;
}

/** Marks to re-apply an owned part although its input is unchanged (operator/restore.ts). */
export interface RestorePort {
  /** The mark of `part`, cleared; undefined if none. */
  take(instance: string, part: OwnedPart): Restore | undefined;
  /** Gives a taken mark back: the re-apply failed and its retry must not skip. */
  giveBack(instance: string, part: OwnedPart, restore: Restore): void;
}

/** What a step must re-apply although its input is unchanged. */
export interface Restore {
  /** What changed, for the Event and the log (empty for the periodic check, which cannot tell). */
  whats: string[];
  /** Only the objects of these kinds (the periodic check: those no watch follows); undefined: all. */
  kinds?: ReadonlySet<string>;
}

export interface InstanceStore {
  /**
   * Sets the whole status through the status subresource (the reconciler
   * decides whether it changed; nothing is read first). Undefined when the
   * object (with `uid`, when given) no longer exists.
   */
  writeStatus(name: string, status: CaelusInstanceStatus, uid?: string): Promise<CaelusInstance | undefined>;
  /** `known`: the copy the reconcile started from, tried before a fresh read. */
  addFinalizer(known: CaelusInstance, finalizer: string): Promise<void>;
  removeFinalizer(name: string, finalizer: string): Promise<void>;
}

export type EventType = 'Normal' | 'Warning';
export interface EventSink {
  record(object: CaelusInstance, type: EventType, reason: EventReason, message: string): void;
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

/** Checks instance overrides against the template's JSON Schema; returns problems as `pointer: message`. */
export type ValuesValidator = (schema: Record<string, unknown>, values: Values) => string[];

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

/** Server-side apply and delete for plain JSON objects (no typed-model round trip). */
export interface GuardrailObjects {
  apply(obj: Record<string, unknown>, fieldManager: string): Promise<void>;
  /** False when it was already gone. */
  delete(ref: ObjectRef): Promise<boolean>;
}

/**
 * Where an instance's secrets come from (the database); absent for
 * GitOps-only installs, which then get no secrets Secret. The source decides
 * which instance's secrets a CR may read (its caelus.io/instance-id names
 * one, but only a CR bound to that row gets them): undefined = none.
 */
export interface SecretSource {
  /** Changes whenever any secret of the instance changes; reveals nothing about the values. */
  fingerprint(instance: CaelusInstance): Promise<string | undefined>;
  /** The decrypted secrets (name → value). Never log the result. */
  read(instance: CaelusInstance): Promise<Record<string, string> | undefined>;
}

export interface Workload {
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  replicas: number;
  /** The annotation's value: replicas before hibernation. */
  hibernatedReplicas?: number;
}

export interface WorkloadPort {
  list(namespace: string, labelSelector: string): Promise<Workload[]>;
  /** Sets spec.replicas and the annotation (null removes it) in one patch, as HIBERNATION_FIELD_MANAGER. */
  scale(namespace: string, workload: Workload, replicas: number, annotation: string | null): Promise<void>;
}

/** The lifecycle job's view of CaelusInstances. */
export interface LifecyclePort {
  list(): Promise<CaelusInstance[]>;
  delete(name: string): Promise<void>;
  /** Sets spec.state=Hibernated by server-side apply as LIFECYCLE_FIELD_MANAGER. */
  hibernate(name: string): Promise<void>;
}

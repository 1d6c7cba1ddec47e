// The CaelusInstance custom resource as TypeScript types, and the typed
// constants (phases, condition types, reasons, labels) every layer shares.
// The CRD schema in crds/caelusinstance.yaml is the source of truth for shape.

export const GROUP = 'caelus.io';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'CaelusInstance';
export const PLURAL = 'caelusinstances';

export const FINALIZER = 'caelus.io/finalizer';
/** Label on the namespace and on every object rendered for an instance. */
export const INSTANCE_LABEL = 'caelus.io/instance';
/**
 * On the namespace: metadata.uid of the CaelusInstance that created it. A name
 * is reused after a delete (Retain keeps the namespace); the uid is not, so a
 * new CR with an old name never adopts the old tenant's namespace.
 */
export const INSTANCE_UID_LABEL = 'caelus.io/instance-uid';
/** The deployment_instance row an API-managed CR mirrors (set by the DB↔CR sync; guardrails read secrets by it). */
export const INSTANCE_ID_ANNOTATION = 'caelus.io/instance-id';
/** Last reported activity (RFC 3339), read by the idle-hibernation job. */
export const LAST_ACTIVITY_ANNOTATION = 'caelus.io/last-activity';
/**
 * Fingerprint of the instance's secrets (key ids and nonces, never values),
 * stamped by the sync after a secret write: the change makes the operator
 * reconcile and roll the namespace Secret without waiting for a resync.
 */
export const SECRETS_FINGERPRINT_ANNOTATION = 'caelus.io/secrets-fingerprint';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'caelus';

export const Phase = {
  Pending: 'Pending',
  Installing: 'Installing',
  Running: 'Running',
  Upgrading: 'Upgrading',
  Hibernated: 'Hibernated',
  Failed: 'Failed',
  Deleting: 'Deleting',
  Suspended: 'Suspended',
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export const ConditionType = {
  Ready: 'Ready',
  Released: 'Released',
  Drifted: 'Drifted',
  Hibernated: 'Hibernated',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const Reason = {
  Progressing: 'Progressing',
  InstallSucceeded: 'InstallSucceeded',
  UpgradeSucceeded: 'UpgradeSucceeded',
  InstallFailed: 'InstallFailed',
  UpgradeFailed: 'UpgradeFailed',
  InSync: 'InSync',
  RenderFailed: 'RenderFailed',
  ChartNotFound: 'ChartNotFound',
  Timeout: 'Timeout',
  OperationInProgress: 'OperationInProgress',
  ReleaseUnlocked: 'ReleaseUnlocked',
  TemplateVersionNotFound: 'TemplateVersionNotFound',
  InvalidValues: 'InvalidValues',
  NamespaceConflict: 'NamespaceConflict',
  Suspended: 'Suspended',
  Deleting: 'Deleting',
  UninstallFailed: 'UninstallFailed',
  ReconcileError: 'ReconcileError',
  TierNotAllowed: 'TierNotAllowed',
  ForbiddenResource: 'ForbiddenResource',
  Hibernated: 'Hibernated',
  Awake: 'Awake',
  Expired: 'Expired',
  IdleHibernation: 'IdleHibernation',
  NoDrift: 'NoDrift',
  DriftDetected: 'DriftDetected',
  DriftCorrected: 'DriftCorrected',
  DriftLoop: 'DriftLoop',
  DriftDetectionDisabled: 'DriftDetectionDisabled',
  /** A stored Helm release record (tenant-writable) fails the kinds policy or cannot be decoded: never applied. */
  ReleaseTampered: 'ReleaseTampered',
  /** A pinned chart package's bytes do not hash to the digest its version recorded. */
  ChartDigestMismatch: 'ChartDigestMismatch',
  /** Secrets the template version requires have no value yet: the instance waits in Pending. */
  SecretsMissing: 'SecretsMissing',
  /** The caelus.io/shard label names no configured shard: reported by the default shard, never reconciled. */
  UnknownShard: 'UnknownShard',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Reasons of the DB ↔ CR sync's Events. */
export const SyncReason = {
  Conflict: 'SyncConflict',
  Imported: 'SyncImported',
  ImportRejected: 'SyncImportRejected',
  Adopted: 'SyncAdopted',
  AdoptFailed: 'SyncAdoptFailed',
} as const;
export type SyncReason = (typeof SyncReason)[keyof typeof SyncReason];

/** Event reasons that are not condition reasons. */
export const EventOnlyReason = {
  GuardrailsApplied: 'GuardrailsApplied',
  /** A guardrail or tenant-identity object was edited or deleted and has been put back. */
  GuardrailsRestored: 'GuardrailsRestored',
} as const;
export type EventOnlyReason = (typeof EventOnlyReason)[keyof typeof EventOnlyReason];

/**
 * Every reason an Event about a CaelusInstance carries: condition reasons,
 * phase transitions (the reason is the new phase), the sync's and the rest.
 */
export type EventReason = Reason | Phase | SyncReason | EventOnlyReason;

export const InstanceState = { Running: 'Running', Hibernated: 'Hibernated' } as const;
export type InstanceState = (typeof InstanceState)[keyof typeof InstanceState];

export const DeletionPolicy = { Delete: 'Delete', Retain: 'Retain' } as const;
export type DeletionPolicy = (typeof DeletionPolicy)[keyof typeof DeletionPolicy];

export const DriftMode = { Enabled: 'enabled', Warn: 'warn', Disabled: 'disabled' } as const;
export type DriftMode = (typeof DriftMode)[keyof typeof DriftMode];

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: Reason;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface DriftIgnoreRule {
  paths: string[];
  target?: { kind?: string; name?: string };
}

export interface CaelusInstanceSpec {
  userId: string;
  productTemplateVersion: string;
  namespace?: string;
  domainName?: string;
  values?: Record<string, unknown>;
  state?: InstanceState;
  suspend?: boolean;
  deletionPolicy?: DeletionPolicy;
  driftDetection?: { mode?: DriftMode; ignore?: DriftIgnoreRule[] };
  expiresAt?: string;
  idleTimeout?: string;
  /** A resource tier the template version allows (src/domain/tiers.ts). */
  tier?: string;
}

export interface ReleaseStatus {
  name?: string;
  revision?: number;
  chart?: string;
  version?: string;
  status?: string;
  appliedDigest?: string;
}

export interface CaelusInstanceStatus {
  phase?: Phase;
  message?: string;
  observedGeneration?: number;
  namespace?: string;
  url?: string;
  lastReconcile?: string;
  /** ref = `template@version` (kubectl's Template column). */
  templateVersion?: { id?: string; template?: string; version?: string; ref?: string };
  release?: ReleaseStatus;
  conditions?: Condition[];
  drift?: Record<string, unknown>;
  hibernation?: HibernationStatus;
  guardrails?: GuardrailsStatus;
}

export interface HibernationStatus {
  /** When the workloads were last scaled to zero / restored. */
  hibernatedAt?: string;
  wokeAt?: string;
}

export interface GuardrailsStatus {
  tier?: string;
  /** Digest of the guardrail objects last applied; equal → nothing is written. */
  appliedDigest?: string;
}

export interface ObjectMeta {
  name: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  deletionTimestamp?: string;
  creationTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  managedFields?: unknown[];
}

export interface CaelusInstance {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: CaelusInstanceSpec;
  status?: CaelusInstanceStatus;
}

/** The namespace an instance owns: spec.namespace, defaulting to the instance name (the CRD enforces both forms). */
export function instanceNamespace(instance: Pick<CaelusInstance, 'metadata' | 'spec'>): string {
  return instance.spec.namespace ?? instance.metadata.name;
}

/** The Secret charts can mount: `<instance name>-secrets` (README "Tenant guardrails"). */
export function secretsName(instance: Pick<CaelusInstance, 'metadata'>): string {
  return `${instance.metadata.name}-secrets`;
}

/** The Helm release is named after the instance (the CRD caps names at 53 characters, Helm's limit). */
export function releaseName(instance: Pick<CaelusInstance, 'metadata'>): string {
  return instance.metadata.name;
}

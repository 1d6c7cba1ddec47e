// Which rendered objects a tenant's release may contain. A chart's values are
// partly the tenant's (spec.values), so anything a template can render must be
// safe for any values: nothing cluster-scoped, nothing in another namespace,
// no privilege through ClusterRoles. Pure: manifest objects in, violations out.

export interface ManifestObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown; labels?: unknown } | null;
  roleRef?: { kind?: unknown; name?: unknown } | null;
  subjects?: unknown;
  items?: unknown;
}

export interface KindsPolicy {
  /** The instance's namespace: objects may only live here. */
  namespace: string;
  /**
   * Extra kinds an admin allows, as `Kind` (any API group) or `group/Kind`
   * (`core/Kind` for the core group), e.g. `monitoring.coreos.com/ServiceMonitor`.
   */
  allowedKinds?: readonly string[];
  /** ClusterRoles a RoleBinding may reference (e.g. view, edit). */
  allowedClusterRoles?: readonly string[];
  /**
   * Names per kind that Caelus itself manages in the namespace (`Secret/<instance>-secrets`).
   * Its ServiceAccounts (the tenant identities) may not be a chart RoleBinding's subject either.
   */
  reserved?: readonly { kind: string; name: string }[];
}

export const ViolationReason = {
  ClusterScoped: 'ClusterScoped',
  UnknownKind: 'UnknownKind',
  ForeignNamespace: 'ForeignNamespace',
  ClusterRoleReference: 'ClusterRoleReference',
  /** A RoleBinding subject other than a ServiceAccount of the instance namespace, or one of Caelus's own accounts. */
  ForeignSubject: 'ForeignSubject',
  Reserved: 'Reserved',
  /** Helm's own release storage (a tenant-forged release record). */
  HelmStorage: 'HelmStorage',
  /** A chart ships CustomResourceDefinitions in crds/ (installed outside any template, so refused whole). */
  ChartCrds: 'ChartCrds',
  Malformed: 'Malformed',
} as const;
export type ViolationReason = (typeof ViolationReason)[keyof typeof ViolationReason];

export interface Violation {
  reason: ViolationReason;
  kind: string;
  name: string;
  message: string;
}

/** group/Kind of the built-in kinds that live outside any namespace (or grant cluster-wide power). */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'core/Namespace',
  'core/Node',
  'core/PersistentVolume',
  'core/ComponentStatus',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'admissionregistration.k8s.io/MutatingAdmissionPolicy',
  'admissionregistration.k8s.io/MutatingAdmissionPolicyBinding',
  'apiregistration.k8s.io/APIService',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/CSIDriver',
  'storage.k8s.io/CSINode',
  'storage.k8s.io/VolumeAttachment',
  'storage.k8s.io/VolumeAttributesClass',
  'scheduling.k8s.io/PriorityClass',
  'node.k8s.io/RuntimeClass',
  'networking.k8s.io/IngressClass',
  'networking.k8s.io/IPAddress',
  'networking.k8s.io/ServiceCIDR',
  'certificates.k8s.io/CertificateSigningRequest',
  'certificates.k8s.io/ClusterTrustBundle',
  'flowcontrol.apiserver.k8s.io/FlowSchema',
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  'authentication.k8s.io/TokenReview',
  'authorization.k8s.io/SubjectAccessReview',
  'authorization.k8s.io/SelfSubjectAccessReview',
  'authorization.k8s.io/SelfSubjectRulesReview',
  'resource.k8s.io/DeviceClass',
  'policy/PodSecurityPolicy',
]);

/**
 * Namespaced kinds a tenant chart may render without configuration, with
 * their API resource (plural) for the tenant's RBAC role (domain/tenant.ts
 * grants exactly these). Anything else (CRD kinds, Endpoints that can point a
 * Service at any IP, quota objects and NetworkPolicies Caelus owns — policies
 * are additive, so a chart's own NetworkPolicy could reopen the egress the
 * default-deny closes) is refused until an admin
 * lists it in allowedKinds (and grants it to the tenant role).
 */
export const ALLOWED_NAMESPACED_RESOURCES: Readonly<Record<string, string>> = {
  'core/ConfigMap': 'configmaps',
  'core/Secret': 'secrets',
  'core/Service': 'services',
  'core/ServiceAccount': 'serviceaccounts',
  'core/PersistentVolumeClaim': 'persistentvolumeclaims',
  'core/Pod': 'pods',
  'apps/Deployment': 'deployments',
  'apps/StatefulSet': 'statefulsets',
  'apps/DaemonSet': 'daemonsets',
  'apps/ReplicaSet': 'replicasets',
  'batch/Job': 'jobs',
  'batch/CronJob': 'cronjobs',
  'networking.k8s.io/Ingress': 'ingresses',
  'policy/PodDisruptionBudget': 'poddisruptionbudgets',
  'autoscaling/HorizontalPodAutoscaler': 'horizontalpodautoscalers',
  'rbac.authorization.k8s.io/Role': 'roles',
  'rbac.authorization.k8s.io/RoleBinding': 'rolebindings',
};

export const ALLOWED_NAMESPACED_KINDS: ReadonlySet<string> = new Set(Object.keys(ALLOWED_NAMESPACED_RESOURCES));

/** Names Helm's storage drivers give release records (Secrets, or ConfigMaps with HELM_DRIVER=configmap). */
const HELM_RELEASE_NAME_PREFIX = 'sh.helm.release.';
const HELM_STORAGE_KINDS: ReadonlySet<string> = new Set(['core/Secret', 'core/ConfigMap']);

/**
 * A rendered object that would sit where Helm keeps its release records: the
 * operator reads those records as the release's state, so a chart (or a
 * tenant's values) must never be able to write one.
 */
function isHelmStorage(gk: string, name: string, labels: unknown): boolean {
  if (!HELM_STORAGE_KINDS.has(gk)) return false;
  const owner = labels !== null && typeof labels === 'object' ? (labels as Record<string, unknown>)['owner'] : undefined;
  return name.startsWith(HELM_RELEASE_NAME_PREFIX) || owner === 'helm';
}

/** `group/Kind` of an object; the core group is spelled `core`. */
export function groupKind(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf('/');
  return `${slash < 0 ? 'core' : apiVersion.slice(0, slash)}/${kind}`;
}

function isAllowedByConfig(gk: string, kind: string, allowed: readonly string[]): boolean {
  return allowed.includes(gk) || allowed.includes(kind);
}

/** Flattens `List` objects (helm renders them as one document). */
function flatten(objects: readonly unknown[]): ManifestObject[] {
  const out: ManifestObject[] = [];
  for (const o of objects) {
    if (o === null || typeof o !== 'object') continue;
    const obj = o as ManifestObject;
    if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) out.push(...flatten(obj.items));
    else out.push(obj);
  }
  return out;
}

/**
 * What is wrong with a RoleBinding's subjects. The role it grants is bounded
 * by the roleRef rule; who receives it is bounded here: only ServiceAccounts
 * of the instance namespace (what public charts bind). A User or Group
 * (`system:anonymous`, `system:authenticated`, `system:serviceaccounts`, …)
 * would open the namespace to people outside it, another namespace's account
 * would let a foreign workload act here, and Caelus's own accounts are the
 * identities helm and the API act as: granting them more widens every later
 * install and every API read.
 */
function subjectProblems(subjects: unknown, policy: KindsPolicy): { reason: ViolationReason; message: string }[] {
  // No subjects binds nobody (the API server accepts it).
  if (subjects === undefined || subjects === null) return [];
  if (!Array.isArray(subjects)) return [{ reason: ViolationReason.Malformed, message: 'subjects is not a list' }];
  const problems: { reason: ViolationReason; message: string }[] = [];
  const own = new Set((policy.reserved ?? []).filter((r) => r.kind === 'ServiceAccount').map((r) => r.name));
  for (const [i, s] of subjects.entries()) {
    const subject = s !== null && typeof s === 'object' ? (s as Record<string, unknown>) : undefined;
    const kind = subject?.['kind'];
    const name = subject?.['name'];
    if (typeof kind !== 'string' || !kind || typeof name !== 'string' || !name) {
      problems.push({ reason: ViolationReason.Malformed, message: `subject ${i} has no kind or name` });
      continue;
    }
    const ns = subject?.['namespace'];
    if (kind !== 'ServiceAccount') {
      problems.push({ reason: ViolationReason.ForeignSubject, message: `binds ${kind} "${name}"; only ServiceAccounts of the instance namespace may be bound` });
    } else if (ns !== undefined && ns !== null && ns !== '' && ns !== policy.namespace) {
      problems.push({ reason: ViolationReason.ForeignSubject, message: `binds ServiceAccount "${name}" of namespace "${String(ns)}", not of the instance's namespace "${policy.namespace}"` });
    } else if (own.has(name)) {
      problems.push({ reason: ViolationReason.ForeignSubject, message: `binds ServiceAccount "${name}", an identity Caelus acts as` });
    }
  }
  return problems;
}

/** Every rule the manifest breaks, in manifest order; empty means it may be installed. */
export function checkManifest(objects: readonly unknown[], policy: KindsPolicy): Violation[] {
  const allowedKinds = policy.allowedKinds ?? [];
  const allowedRoles = policy.allowedClusterRoles ?? [];
  const violations: Violation[] = [];
  for (const obj of flatten(objects)) {
    const kind = typeof obj.kind === 'string' ? obj.kind : '';
    const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
    const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
    const add = (reason: ViolationReason, message: string) => violations.push({ reason, kind: kind || '?', name: name || '?', message });
    if (!kind || !apiVersion || !name) {
      add(ViolationReason.Malformed, `${kind || '<no kind>'}/${name || '<no name>'}: object without apiVersion, kind or metadata.name`);
      continue;
    }
    const gk = groupKind(apiVersion, kind);
    const configured = isAllowedByConfig(gk, kind, allowedKinds);
    if (CLUSTER_SCOPED_KINDS.has(gk)) {
      // An admin may allow a cluster-scoped kind on purpose; then the namespace rule does not apply.
      if (!configured) add(ViolationReason.ClusterScoped, `${kind}/${name}: ${kind} is cluster-scoped or grants cluster-wide privileges`);
      continue;
    }
    if (!ALLOWED_NAMESPACED_KINDS.has(gk) && !configured) {
      add(ViolationReason.UnknownKind, `${kind}/${name}: kind ${gk} is not in the allowed kinds`);
      continue;
    }
    const ns = obj.metadata?.namespace;
    if (ns !== undefined && ns !== null && ns !== '' && ns !== policy.namespace) {
      add(ViolationReason.ForeignNamespace, `${kind}/${name}: targets namespace "${String(ns)}", not the instance's namespace "${policy.namespace}"`);
    }
    if (gk === 'rbac.authorization.k8s.io/RoleBinding' && obj.roleRef?.kind === 'ClusterRole') {
      const role = typeof obj.roleRef.name === 'string' ? obj.roleRef.name : '';
      if (!allowedRoles.includes(role)) {
        add(ViolationReason.ClusterRoleReference, `${kind}/${name}: binds ClusterRole "${role}", which is not in the allowed cluster roles`);
      }
    }
    if (gk === 'rbac.authorization.k8s.io/RoleBinding') {
      for (const problem of subjectProblems(obj.subjects, policy)) add(problem.reason, `${kind}/${name}: ${problem.message}`);
    }
    if (isHelmStorage(gk, name, obj.metadata?.labels)) {
      add(ViolationReason.HelmStorage, `${kind}/${name}: named or labelled like a Helm release record (sh.helm.release.*, owner=helm), which only helm may write`);
    }
    if (policy.reserved?.some((r) => r.kind === kind && r.name === name)) {
      add(ViolationReason.Reserved, `${kind}/${name}: this name is managed by Caelus in every instance namespace`);
    }
  }
  return violations;
}

/** One line for a condition message: the first few violations and how many more. */
export function describeViolations(violations: readonly Violation[], max = 5): string {
  const shown = violations.slice(0, max).map((v) => v.message);
  const more = violations.length > max ? `; and ${violations.length - max} more` : '';
  return `the release renders objects a tenant may not install: ${shown.join('; ')}${more}`;
}

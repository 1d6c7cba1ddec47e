// The kinds policy as the operator applies it to one instance: to what is
// about to be installed (the post-renderer of the upgrade) and to what Helm's release records say
// was installed (before Unlock rolls back to one, before drift re-applies
// one). Release records live in the tenant's namespace, so they are input to
// check, never proof (DESIGN §4 "Trust").
import { checkManifest, type KindsPolicy, type Violation } from '../domain/kinds-policy.ts';
import { secretsName, type CaelusInstance } from '../domain/instance.ts';
import { tenantReservedObjects } from '../domain/tenant.ts';

/** What an admin configures (CAELUS_ALLOWED_KINDS, CAELUS_ALLOWED_CLUSTER_ROLES). */
export interface KindsPolicyConfig {
  allowedKinds?: readonly string[];
  allowedClusterRoles?: readonly string[];
}

export function kindsPolicyFor(config: KindsPolicyConfig, instance: Pick<CaelusInstance, 'metadata'>, namespace: string): KindsPolicy {
  return {
    namespace,
    ...(config.allowedKinds ? { allowedKinds: config.allowedKinds } : {}),
    ...(config.allowedClusterRoles ? { allowedClusterRoles: config.allowedClusterRoles } : {}),
    reserved: [{ kind: 'Secret', name: secretsName(instance) }, ...tenantReservedObjects()],
  };
}

/** A stored release record checked against the policy. */
export type StoredManifestVerdict = { trusted: true } | { trusted: false; revision: number; violations: readonly Violation[] };

export function checkStoredManifest(objects: readonly unknown[], revision: number, policy: KindsPolicy): StoredManifestVerdict {
  const violations = checkManifest(objects, policy);
  return violations.length === 0 ? { trusted: true } : { trusted: false, revision, violations };
}

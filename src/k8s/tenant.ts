// The tenant identity on the cluster: the pre-made ClusterRole (installed with
// the CRDs by `caelus dev`, the test setup and benchmarks; the deploy chart
// ships the same rules) and the per-namespace ServiceAccount + RoleBinding
// the operator applies in the namespace step.
import type { KubeConfig } from '@kubernetes/client-node';
import { tenantClusterRole, tenantIdentityObjects, type PolicyRule } from '../domain/tenant.ts';
import { RawObjectClient, type JsonObject } from './raw-objects.ts';

export const TENANT_FIELD_MANAGER = 'caelus-tenant';

/** Server-side applies the caelus-tenant ClusterRole (the built-in allow-list plus `extraRules`). */
export async function installTenantRole(kc: KubeConfig, extraRules: readonly PolicyRule[] = []): Promise<void> {
  await new RawObjectClient(kc).apply(tenantClusterRole({ 'app.kubernetes.io/managed-by': 'caelus' }, extraRules) as JsonObject, {
    fieldManager: 'caelus-installer',
    force: true,
    dryRun: false,
  });
}

export class TenantIdentities {
  readonly #raw: RawObjectClient;

  constructor(kc: KubeConfig) {
    this.#raw = new RawObjectClient(kc);
  }

  /**
   * ServiceAccount caelus-tenant and its RoleBinding to the pre-made
   * ClusterRole in `namespace`. Forced: they are Caelus's, a tenant's edit is
   * taken back. Binding a role the operator does not hold needs RBAC's `bind`
   * on that one ClusterRole name, nothing more.
   */
  async ensure(namespace: string, labels: Record<string, string>): Promise<void> {
    for (const obj of tenantIdentityObjects(namespace, labels)) {
      await this.#raw.apply(obj as JsonObject, { fieldManager: TENANT_FIELD_MANAGER, force: true, dryRun: false });
    }
  }
}

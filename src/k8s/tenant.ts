// The tenant identities on the cluster: the pre-made ClusterRoles caelus-tenant
// and caelus-tenant-reader (installed with the CRDs by `caelus dev`, the test
// setup and benchmarks; the deploy chart ships the same rules) and the
// per-namespace ServiceAccounts + RoleBindings the operator applies in the
// tenant step.
import type { KubeConfig } from '@kubernetes/client-node';
import { tenantClusterRoles, tenantIdentityObjects, type PolicyRule } from '../domain/tenant.ts';
import { RawObjectClient, type JsonObject } from './raw-objects.ts';

export const TENANT_FIELD_MANAGER = 'caelus-tenant';

/** Server-side applies the caelus-tenant and caelus-tenant-reader ClusterRoles (the built-in allow-list plus `extraRules`). */
export async function installTenantRoles(kc: KubeConfig, extraRules: readonly PolicyRule[] = []): Promise<void> {
  const raw = new RawObjectClient(kc);
  for (const role of tenantClusterRoles({ 'app.kubernetes.io/managed-by': 'caelus' }, extraRules)) {
    await raw.apply(role as JsonObject, { fieldManager: 'caelus-installer', force: true, dryRun: false });
  }
}

/** Told of each write (the operator's OwnWrites): a watch event with that resourceVersion is our own. */
export type WriteListener = (ref: { kind: string; namespace: string | undefined; name: string }, resourceVersion: string | undefined) => void;

export class TenantIdentities {
  readonly #raw: RawObjectClient;
  readonly #onWrite: WriteListener | undefined;

  constructor(kc: KubeConfig, onWrite?: WriteListener) {
    this.#raw = new RawObjectClient(kc);
    this.#onWrite = onWrite;
  }

  /**
   * ServiceAccounts caelus-tenant and caelus-tenant-reader and their
   * RoleBindings to the pre-made ClusterRoles in `namespace`. Forced: they
   * are Caelus's, a tenant's edit is taken back. Binding a role the operator does not hold needs RBAC's `bind`
   * on those two ClusterRole names, nothing more.
   */
  async ensure(namespace: string, labels: Record<string, string>): Promise<void> {
    for (const obj of tenantIdentityObjects(namespace, labels)) {
      const live = await this.#raw.apply(obj as JsonObject, { fieldManager: TENANT_FIELD_MANAGER, force: true, dryRun: false });
      this.#onWrite?.({ kind: String(obj['kind']), namespace, name: live.metadata?.name ?? '' }, live.metadata?.resourceVersion);
    }
  }
}

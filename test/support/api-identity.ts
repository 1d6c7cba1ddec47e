// The API's cluster identity exactly as the deploy chart grants it: a
// ServiceAccount bound to the ClusterRole deploy/caelus renders for the API,
// with a token from the TokenRequest API. Tests that read the cluster through
// it prove the API's routes work with those rights and no more (the shared
// test kubeconfig is system:masters, which proves nothing about RBAC).
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { helmBin, testKubeConfig, uniqueName } from './kube.ts';

const CHART = fileURLToPath(new URL('../../deploy/caelus', import.meta.url));

/** The rules of the API's ClusterRole as the chart renders it. */
export async function chartApiRules(): Promise<k8s.V1PolicyRule[]> {
  const { stdout } = await execa(helmBin(), ['template', 'rel', CHART, '--set', 'api.enabled=true', '--set', 'database.existingSecret=db', '--show-only', 'templates/api.yaml']);
  const role = parseAllDocuments(stdout)
    .map((d) => d.toJSON() as k8s.V1ClusterRole | null)
    .find((o) => o?.kind === 'ClusterRole');
  if (!role?.rules) throw new Error('deploy/caelus renders no ClusterRole for the API');
  return role.rules;
}

export interface ApiIdentity {
  /** The user name the API server sees. */
  user: string;
  /** Talks to the test control plane as that ServiceAccount. */
  kubeConfig: k8s.KubeConfig;
  remove(): Promise<void>;
}

/** A fresh ServiceAccount with the chart's API ClusterRole (cluster-wide, as the chart binds it) and a one-hour token. */
export async function createApiIdentity(): Promise<ApiIdentity> {
  const admin = testKubeConfig();
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  const namespace = uniqueName('caelus-api');
  const name = 'caelus-api';
  const roleName = uniqueName('caelus-api-test');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createClusterRole({ body: { metadata: { name: roleName }, rules: await chartApiRules() } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: roleName },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  const token = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const cluster = admin.getCurrentCluster();
  if (!cluster || !token.status?.token) throw new Error('no cluster in the test kubeconfig, or no token for the API ServiceAccount');
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [cluster],
    users: [{ name, token: token.status.token }],
    contexts: [{ name, cluster: cluster.name, user: name }],
    currentContext: name,
  });
  return {
    user: `system:serviceaccount:${namespace}:${name}`,
    kubeConfig,
    async remove() {
      await rbac.deleteClusterRoleBinding({ name: roleName }).catch(() => undefined);
      await rbac.deleteClusterRole({ name: roleName }).catch(() => undefined);
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    },
  };
}

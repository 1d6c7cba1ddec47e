// The objects of a deployed Helm release, read from Helm's own storage (the
// release Secret) rather than by running `helm get manifest`, so that a drift
// check spawns no helm process. The last revision read is cached per release:
// a revision is immutable.
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { ReleaseRecordError, readReleaseManifest } from '../helm/release-storage.ts';
import { RawObjectClient } from '../k8s/raw-objects.ts';
import { normalizeManifestObject, type Json } from './diff.ts';

export type ManifestObject = { [k: string]: Json } & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: Json | undefined };
};

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

/** Parses a multi-document manifest; List kinds are flattened; objects get the release namespace when they name none. */
export function parseManifest(text: string, namespace: string): ManifestObject[] {
  const out: ManifestObject[] = [];
  const push = (o: unknown): void => {
    if (!o || typeof o !== 'object') return;
    const obj = o as ManifestObject;
    if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj['items'])) {
      (obj['items'] as unknown[]).forEach(push);
      return;
    }
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) return;
    out.push(normalizeManifestObject({ ...obj, metadata: { ...obj.metadata, namespace: obj.metadata.namespace ?? namespace } }) as ManifestObject);
  };
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new ManifestError(`release manifest is not valid YAML: ${doc.errors[0]!.message}`);
    push(doc.toJSON());
  }
  return out;
}

export interface ManifestFallback {
  getManifest(release: string, namespace: string, opts: { revision: number }): Promise<string>;
}

const CACHE_LIMIT = 4096;

function recordName(release: string, revision: number): string {
  return `sh.helm.release.v1.${release}.v${revision}`;
}

export class ReleaseManifests {
  readonly #raw: RawObjectClient;
  readonly #fallback: ManifestFallback;
  /** `namespace/release` → the last revision read: drift checks read the current one, older ones are dead weight. */
  readonly #cache = new Map<string, { revision: number; objects: ManifestObject[] }>();

  constructor(kc: KubeConfig, fallback: ManifestFallback) {
    this.#raw = new RawObjectClient(kc);
    this.#fallback = fallback;
  }

  /** `asUser`: read the release Secret as that user (the tenant); the operator may not read Secrets itself. */
  async get(release: string, namespace: string, revision: number, opts: { asUser?: string } = {}): Promise<ManifestObject[]> {
    const key = `${namespace}/${release}`;
    const hit = this.#cache.get(key);
    if (hit?.revision === revision) return hit.objects;
    const text = await this.#read(release, namespace, revision, opts.asUser);
    let objects: ManifestObject[];
    try {
      objects = parseManifest(text, namespace);
    } catch (err) {
      if (err instanceof ManifestError) throw new ReleaseRecordError(namespace, recordName(release, revision), err.message, err);
      throw err;
    }
    this.#keep(key, revision, objects);
    return objects;
  }

  /**
   * The manifest helm printed for a revision it just applied (the same text
   * it stored): the next get() of that revision needs no request. A manifest
   * that does not parse is not kept; get() then reads the record and says so.
   */
  remember(release: string, namespace: string, revision: number, manifest: string): void {
    let objects: ManifestObject[];
    try {
      objects = parseManifest(manifest, namespace);
    } catch (err) {
      if (err instanceof ManifestError) return;
      throw err;
    }
    this.#keep(`${namespace}/${release}`, revision, objects);
  }

  #keep(key: string, revision: number, objects: ManifestObject[]): void {
    this.#cache.delete(key);
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(key, { revision, objects });
  }

  /** Drops the release's cached manifest (the instance is gone). */
  forget(release: string, namespace: string): void {
    this.#cache.delete(`${namespace}/${release}`);
  }

  /** Releases whose manifest is cached (tests and memory figures). */
  get size(): number {
    return this.#cache.size;
  }

  async #read(release: string, namespace: string, revision: number, asUser: string | undefined): Promise<string> {
    const name = recordName(release, revision);
    const secret = await this.#raw.get({ apiVersion: 'v1', kind: 'Secret', name, namespace }, asUser ? { asUser } : {});
    // Another storage driver (HELM_DRIVER=configmap|sql): ask helm.
    if (!secret) return this.#fallback.getManifest(release, namespace, { revision });
    // A record that does not decode is reported by name, never guessed around.
    return readReleaseManifest(namespace, name, (secret['data'] as Record<string, string> | undefined)?.['release']);
  }
}

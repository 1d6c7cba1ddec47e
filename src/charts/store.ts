// Operator side of "pulled once, pinned by digest": every render and install
// of a version uses the cached package, verified against the version's digest
// right before use. A package missing from the local cache is restored from
// the database (chart_package) and verified too; bytes that do not hash to
// the digest are never used (ChartDigestMismatch).
import { readFile } from 'node:fs/promises';
import type { ChartCache} from './cache.ts';
import { sha256Of } from './cache.ts';
import { ChartErrorReason, ChartSourceError } from './errors.ts';
import { localChartDigest } from './local.ts';

/** Where a package comes from when the local cache lacks it (the database). */
export type PackageLoader = (digest: string) => Promise<Uint8Array | undefined>;

export class PinnedCharts {
  readonly #cache: ChartCache;
  readonly #load: PackageLoader;

  constructor(cache: ChartCache, load: PackageLoader) {
    this.#cache = cache;
    this.#load = load;
  }

  /** The verified package path for a pinned version. */
  async pinned(digest: string): Promise<string> {
    const cached = await this.#cache.verified(digest);
    if (cached) return cached;
    const bytes = await this.#load(digest);
    if (!bytes) throw new ChartSourceError(ChartErrorReason.PackageMissing, 'chartDigest', `chart package ${digest} is in neither the local cache nor the database`);
    const actual = sha256Of(bytes);
    if (actual !== digest) {
      throw new ChartSourceError(ChartErrorReason.DigestMismatch, 'chartDigest', `the stored chart package hashes to ${actual}, not the pinned ${digest}: refusing to install it`);
    }
    return (await this.#cache.put(bytes)).path;
  }

  /** A local development chart: its content digest and a snapshot of exactly that content to render and install. */
  async local(path: string): Promise<{ digest: string; path: string }> {
    const { digest, kind } = await localChartDigest(path);
    if (kind === 'tgz') {
      const put = await this.#cache.put(await readFile(path));
      // The file may have changed between hashing and reading: the cache names what it stored.
      return { digest: put.digest, path: put.path };
    }
    return { digest, path: await this.#cache.snapshotDir(path, digest) };
  }
}

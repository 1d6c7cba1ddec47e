// The local content-addressed chart cache: `<dir>/sha256/<hex>.tgz` for
// packages, `<dir>/dirs/<hex>/` for snapshots of local chart directories.
// A file is trusted only after its bytes hash to the name it is stored under;
// writes go to a temp name and are renamed into place, so a reader never sees
// half a package.
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChartErrorReason, ChartSourceError } from './errors.ts';

export const CHART_CACHE_DIR_ENV = 'CAELUS_CHART_CACHE_DIR';
const DIGEST = /^sha256:([0-9a-f]{64})$/;

export function defaultChartCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env[CHART_CACHE_DIR_ENV] || join(tmpdir(), 'caelus-charts');
}

export function sha256Of(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function hexOf(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m?.[1]) throw new ChartSourceError(ChartErrorReason.DigestMismatch, 'chartDigest', `not a sha256 digest: ${JSON.stringify(digest)}`);
  return m[1];
}

export class ChartCache {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  packagePath(digest: string): string {
    return join(this.dir, 'sha256', `${hexOf(digest)}.tgz`);
  }

  /** Stores the bytes under their own digest; returns digest and path. */
  async put(bytes: Uint8Array): Promise<{ digest: string; path: string }> {
    const digest = sha256Of(bytes);
    const path = this.packagePath(digest);
    await mkdir(join(this.dir, 'sha256'), { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, bytes, { mode: 0o644 });
    await rename(tmp, path);
    return { digest, path };
  }

  /**
   * The cached package's path if its bytes hash to `digest`; undefined when it
   * is not cached. A cached file with other bytes (tampered, truncated) is
   * removed and reported as not cached, so the caller restores it from a
   * trusted copy and verifies that one.
   */
  async verified(digest: string): Promise<string | undefined> {
    const path = this.packagePath(digest);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    if (sha256Of(bytes) === digest) return path;
    await rm(path, { force: true });
    return undefined;
  }

  /**
   * A snapshot of a local chart directory under its content digest, copied
   * once: later renders and installs of that digest read the snapshot, so a
   * chart edited meanwhile cannot slip in unhashed.
   */
  async snapshotDir(source: string, digest: string): Promise<string> {
    const path = join(this.dir, 'dirs', hexOf(digest));
    try {
      if ((await stat(path)).isDirectory()) return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await mkdir(join(this.dir, 'dirs'), { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await cp(source, tmp, { recursive: true, dereference: true });
    try {
      await rename(tmp, path);
    } catch (err) {
      // Another reconcile snapshotted the same content first: same bytes, keep theirs.
      await rm(tmp, { recursive: true, force: true });
      if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
    return path;
  }
}

// The content-addressed chart cache and local chart digests, on a real temp dir.
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChartCache, sha256Of } from '../../../src/charts/cache.ts';
import { isChartSourceError } from '../../../src/charts/errors.ts';
import { localChartDigest } from '../../../src/charts/local.ts';
import { PinnedCharts } from '../../../src/charts/store.ts';

let dir: string;
const reasonOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (isChartSourceError(e) ? e.reason : `other: ${String(e)}`),
  );
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'caelus-cache-test-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('ChartCache / PinnedCharts', () => {
  it('serves a package only when its bytes hash to the digest; a tampered file is restored from the loader', async () => {
    const bytes = Buffer.from('package bytes');
    const digest = sha256Of(bytes);
    const cache = new ChartCache(join(dir, 'c'));
    let loads = 0;
    const charts = new PinnedCharts(cache, async () => {
      loads++;
      return bytes;
    });
    const path = await charts.pinned(digest);
    expect(path).toBe(cache.packagePath(digest));
    expect(loads).toBe(1);
    await charts.pinned(digest);
    expect(loads).toBe(1);
    await writeFile(path, 'tampered');
    expect(await readFile(await charts.pinned(digest), 'utf8')).toBe('package bytes');
    expect(loads).toBe(2);
  });

  it('refuses bytes from the loader that do not match (DigestMismatch) and a package nobody has (PackageMissing)', async () => {
    const digest = sha256Of(Buffer.from('the real one'));
    const bad = new PinnedCharts(new ChartCache(join(dir, 'c')), async () => Buffer.from('something else'));
    expect(await reasonOf(bad.pinned(digest))).toBe('DigestMismatch');
    const none = new PinnedCharts(new ChartCache(join(dir, 'c2')), async () => undefined);
    expect(await reasonOf(none.pinned(digest))).toBe('PackageMissing');
  });

  it('a local chart directory: same content, same digest wherever it lives; a change is a new digest and a new snapshot', async () => {
    for (const d of ['a', 'b']) {
      await mkdir(join(dir, d, 'templates'), { recursive: true });
      await writeFile(join(dir, d, 'Chart.yaml'), 'name: x\nversion: 0.1.0\n');
      await writeFile(join(dir, d, 'templates', 'cm.yaml'), 'kind: ConfigMap\n');
    }
    const a = await localChartDigest(join(dir, 'a'));
    expect((await localChartDigest(join(dir, 'b'))).digest).toBe(a.digest);
    const charts = new PinnedCharts(new ChartCache(join(dir, 'c')), async () => undefined);
    const snap = await charts.local(join(dir, 'a'));
    expect(snap.digest).toBe(a.digest);
    await writeFile(join(dir, 'a', 'templates', 'cm.yaml'), 'kind: ConfigMap # changed\n');
    const changed = await charts.local(join(dir, 'a'));
    expect(changed.digest).not.toBe(a.digest);
    expect(changed.path).not.toBe(snap.path);
    // The earlier snapshot still holds the earlier content.
    expect(await readFile(join(snap.path, 'templates', 'cm.yaml'), 'utf8')).toBe('kind: ConfigMap\n');
  });
});

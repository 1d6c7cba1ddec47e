// Content digests of local development charts (a directory or a .tgz on the
// operator's filesystem): a changed chart is a new input, so it changes the
// instance's desired digest and is installed once.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { sha256Of } from './cache.ts';

async function files(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(root, p)));
    else if (e.isFile() || e.isSymbolicLink()) out.push(p);
  }
  return out;
}

/**
 * sha256 over every file of the chart (relative path and bytes, in path
 * order). The same content always gives the same digest, wherever it lives.
 */
export async function localChartDigest(path: string): Promise<{ digest: string; kind: 'dir' | 'tgz' }> {
  const info = await stat(path);
  if (!info.isDirectory()) return { digest: sha256Of(await readFile(path)), kind: 'tgz' };
  const hash = createHash('sha256');
  const all = (await files(path)).map((f) => ({ f, rel: relative(path, f).split(sep).join('/') })).sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  for (const { f, rel } of all) {
    const bytes = await readFile(f);
    hash.update(`${rel}\0${bytes.length}\0`).update(bytes);
  }
  return { digest: `sha256:${hash.digest('hex')}`, kind: 'dir' };
}

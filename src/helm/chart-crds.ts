// Finds CustomResourceDefinitions a chart ships in crds/ (its own or a
// subchart's). Helm installs crds/ outside the templates and outside the
// post-renderer, so the kinds policy never sees them: a tenant chart with any
// is refused whole (and every install also runs with --skip-crds). Works on a
// chart directory and on a packaged .tgz, without a helm process.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Files under crds/ of a chart directory or archive, as paths inside the chart; empty when none. */
export async function chartCrdFiles(chartPath: string): Promise<string[]> {
  const info = await stat(chartPath);
  if (info.isDirectory()) return crdFilesInDir(chartPath, chartPath);
  return crdFilesInArchive(await readFile(chartPath));
}

async function crdFilesInDir(root: string, dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else found.push(relative(root, p));
    }
  };
  const crds = join(dir, 'crds');
  if (await isDir(crds)) await walk(crds);
  const charts = join(dir, 'charts');
  if (await isDir(charts)) {
    for (const e of await readdir(charts, { withFileTypes: true })) {
      const p = join(charts, e.name);
      if (e.isDirectory()) found.push(...(await crdFilesInDir(root, p)));
      else if (/\.tgz$/.test(e.name)) found.push(...crdFilesInArchive(await readFile(p)).map((f) => `${relative(root, p)}:${f}`));
    }
  }
  return found;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

// <chart>/crds/… or <chart>/charts/<sub>/…/crds/…
const CRD_ENTRY = /^[^/]+\/(charts\/[^/]+\/)*crds\/.+[^/]$/;
const SUBCHART_ARCHIVE = /^[^/]+\/(charts\/[^/]+\/)*charts\/[^/]+\.tgz$/;

/** Entries of a gzipped tar (ustar, PAX path records and GNU long names, as Go's archive/tar writes them). */
function tarEntries(gz: Buffer): Array<{ name: string; body: Buffer }> {
  const tar = gunzipSync(gz);
  const out: Array<{ name: string; body: Buffer }> = [];
  let next: string | undefined;
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (from: number, len: number) => header.toString('utf8', from, from + len).replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    const body = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      next = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1] ?? next;
      continue;
    }
    if (type === 'L') {
      next = body.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (type === 'g') continue;
    const name = next ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    next = undefined;
    if (type === '0' || type === '' || type === '\0') out.push({ name, body });
  }
  return out;
}

function crdFilesInArchive(gz: Buffer): string[] {
  const found: string[] = [];
  for (const e of tarEntries(gz)) {
    if (CRD_ENTRY.test(e.name)) found.push(e.name);
    else if (SUBCHART_ARCHIVE.test(e.name)) found.push(...crdFilesInArchive(e.body).map((f) => `${e.name}:${f}`));
  }
  return found;
}

// crds/ detection on a chart directory and on a packaged chart, subcharts
// included. Archives are made with the system tar (ustar/GNU headers; helm's
// Go archive/tar writes the same headers, with PAX records for long names).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { chartCrdFiles } from '../../../src/helm/chart-crds.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'caelus-crds-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function chart(root: string, files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

async function pack(root: string, name: string): Promise<string> {
  const out = join(dir, `${name}.tgz`);
  await execa('tar', ['-czf', out, '-C', join(root, '..'), name]);
  return out;
}

describe('chartCrdFiles', () => {
  it('finds nothing in an ordinary chart', async () => {
    const c = chart(join(dir, 'plain'), { 'Chart.yaml': 'name: plain', 'templates/crds/not-a-crd.yaml': 'kind: ConfigMap' });
    expect(await chartCrdFiles(c)).toEqual([]);
    expect(await chartCrdFiles(await pack(c, 'plain'))).toEqual([]);
  });

  it('finds crds/ of the chart and of a subchart, in a directory and in an archive', async () => {
    const c = chart(join(dir, 'evil'), {
      'Chart.yaml': 'name: evil',
      'crds/a.yaml': 'kind: CustomResourceDefinition',
      'charts/sub/Chart.yaml': 'name: sub',
      'charts/sub/crds/b.yaml': 'kind: CustomResourceDefinition',
    });
    expect((await chartCrdFiles(c)).sort()).toEqual(['charts/sub/crds/b.yaml', 'crds/a.yaml']);
    expect((await chartCrdFiles(await pack(c, 'evil'))).sort()).toEqual(['evil/charts/sub/crds/b.yaml', 'evil/crds/a.yaml']);
  });

  it('looks inside packaged subcharts', async () => {
    const sub = chart(join(dir, 'src', 'inner'), { 'Chart.yaml': 'name: inner', 'crds/c.yaml': 'kind: CustomResourceDefinition' });
    const subTgz = await pack(sub, 'inner');
    const parent = chart(join(dir, 'outer'), { 'Chart.yaml': 'name: outer' });
    mkdirSync(join(parent, 'charts'));
    await execa('cp', [subTgz, join(parent, 'charts', 'inner-0.1.0.tgz')]);
    expect(await chartCrdFiles(parent)).toEqual(['charts/inner-0.1.0.tgz:inner/crds/c.yaml']);
    expect(await chartCrdFiles(await pack(parent, 'outer'))).toEqual(['outer/charts/inner-0.1.0.tgz:inner/crds/c.yaml']);
  });
});

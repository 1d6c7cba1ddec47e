// What environment HelmClient gives every helm process, read back by a fake
// helm that records it.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelmClient } from '../../../src/helm/client.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'caelus-helm-env-'));
  await writeFile(join(dir, 'helm'), `#!/bin/sh\nprintf '%s|%s' "$GOMAXPROCS" "$HELM_PLUGINS" > "${dir}/env"\necho v4.1.4\n`);
  await chmod(join(dir, 'helm'), 0o755);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the environment of a helm process', () => {
  it('runs helm on one Go thread, in the plugins dir Caelus owns, unless told otherwise', async () => {
    await new HelmClient({ binary: join(dir, 'helm'), pluginsDir: '/plugins' }).version();
    expect(await readFile(join(dir, 'env'), 'utf8')).toBe('1|/plugins');
    await new HelmClient({ binary: join(dir, 'helm'), pluginsDir: '/plugins', env: { GOMAXPROCS: '2' } }).version();
    expect(await readFile(join(dir, 'env'), 'utf8')).toBe('2|/plugins');
  });
});

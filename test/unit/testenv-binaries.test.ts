import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateControlPlaneBinaries } from '../../src/k8s/testenv/binaries.ts';
import { MissingComponentError } from '../../src/k8s/testenv/errors.ts';

describe('control-plane binary lookup', () => {
  let empty: string;
  beforeAll(async () => {
    empty = await mkdtemp(join(tmpdir(), 'caelus-empty-'));
  });
  afterAll(() => rm(empty, { recursive: true, force: true }));

  it('fails in CI with a message naming KUBEBUILDER_ASSETS and the build script', async () => {
    const err = await locateControlPlaneBinaries({ env: { CI: 'true', XDG_CACHE_HOME: empty, PATH: '' } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MissingComponentError);
    expect((err as Error).message).toMatch(/KUBEBUILDER_ASSETS/);
    expect((err as Error).message).toMatch(/hack\/build-controlplane\.sh/);
  });

  it('rejects a KUBEBUILDER_ASSETS directory that lacks the binaries', async () => {
    const err = await locateControlPlaneBinaries({ env: { KUBEBUILDER_ASSETS: empty } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingComponentError);
    expect((err as Error).message).toContain(empty);
  });
});

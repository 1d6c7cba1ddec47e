import { access, constants } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cacheRoot } from './cache.ts';
import { MissingComponentError } from './errors.ts';
import { KUBERNETES_VERSION } from './versions.ts';

export const CONTROL_PLANE_BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager'] as const;
export type ControlPlaneBinary = (typeof CONTROL_PLANE_BINARIES)[number];
export type ControlPlaneBinaries = Record<ControlPlaneBinary, string> & { source: string };

export const BUILD_SCRIPT = fileURLToPath(new URL('../../../hack/build-controlplane.sh', import.meta.url));

export function controlPlaneCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'controlplane', KUBERNETES_VERSION);
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function allIn(dir: string): Promise<ControlPlaneBinaries | undefined> {
  const found: Partial<Record<ControlPlaneBinary, string>> = {};
  for (const b of CONTROL_PLANE_BINARIES) {
    const p = resolve(dir, b);
    if (!(await isExecutable(p))) return undefined;
    found[b] = p;
  }
  return { ...(found as Record<ControlPlaneBinary, string>), source: dir };
}

export interface LocateOptions {
  env?: NodeJS.ProcessEnv;
  /** Build missing binaries with the Go toolchain (default: only outside CI). */
  build?: boolean;
  /** Receives the build's progress lines. */
  onProgress?: (line: string) => void;
}

/**
 * Finds etcd, kube-apiserver and kube-controller-manager: KUBEBUILDER_ASSETS
 * first (controller-runtime's envtest convention), then the cache, then builds
 * them through the Go module proxy. With CI=true a missing binary is an error
 * rather than a surprise 20-minute build: CI runs the build script up front.
 */
export async function locateControlPlaneBinaries(opts: LocateOptions = {}): Promise<ControlPlaneBinaries> {
  const env = opts.env ?? process.env;
  const assets = env['KUBEBUILDER_ASSETS'];
  if (assets) {
    const found = await allIn(assets);
    if (found) return found;
    throw new MissingComponentError(
      'control-plane',
      `KUBEBUILDER_ASSETS=${assets} does not contain executable ${CONTROL_PLANE_BINARIES.join(', ')}. ` +
        `Point KUBEBUILDER_ASSETS at a directory that has them, or unset it and run ${BUILD_SCRIPT}.`,
    );
  }
  const cacheDir = controlPlaneCacheDir(env);
  const cached = await allIn(cacheDir);
  if (cached) return cached;

  const build = opts.build ?? !env['CI'];
  if (!build) {
    throw new MissingComponentError(
      'control-plane',
      `kube-apiserver/etcd/kube-controller-manager ${KUBERNETES_VERSION} not found: set KUBEBUILDER_ASSETS to a ` +
        `directory holding them, or build them into ${cacheDir} with ${BUILD_SCRIPT} (Go toolchain + module proxy).`,
    );
  }
  const proc = execa('bash', [BUILD_SCRIPT], { env, all: true });
  for await (const line of proc.iterable({ from: 'all' })) opts.onProgress?.(String(line));
  await proc;
  const built = await allIn(cacheDir);
  if (!built) throw new MissingComponentError('control-plane', `${BUILD_SCRIPT} finished but ${cacheDir} is incomplete`);
  return built;
}

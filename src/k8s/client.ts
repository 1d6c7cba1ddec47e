import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { shareConnections } from './connections.ts';

/** Where the kubeconfig came from, for the startup log line. */
export type KubeConfigSource = 'explicit' | 'env' | 'in-cluster' | 'default';

export interface LoadedKubeConfig {
  kc: KubeConfig;
  source: KubeConfigSource;
  /** The file read, or the service-account directory for in-cluster. */
  location: string;
  server: string;
}

/** No kubeconfig could be loaded; `attempts` says what was tried and why each failed. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
  readonly attempts: readonly string[];
  constructor(message: string, attempts: readonly string[], cause?: unknown) {
    super(`${message}${attempts.length ? `\n  tried: ${attempts.join('\n  tried: ')}` : ''}`, { cause });
    this.attempts = attempts;
  }
}

export interface LoadKubeConfigOptions {
  /** Defaults to process.env; injectable for tests. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to os.homedir(). */
  homeDir?: string;
  /** Defaults to the standard in-cluster mount; injectable for tests. */
  serviceAccountDir?: string;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function finish(kc: KubeConfig, source: KubeConfigSource, location: string, attempts: string[]): LoadedKubeConfig {
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    attempts.push(`${source} ${location}: no current context with a cluster server`);
    throw new KubeConfigError(`kubeconfig from ${source} (${location}) has no usable current cluster`, attempts);
  }
  return { kc: shareConnections(kc), source, location, server: cluster.server };
}

function fromFile(file: string, source: KubeConfigSource, attempts: string[]): LoadedKubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (err) {
    attempts.push(`${source} ${file}: ${err instanceof Error ? err.message : String(err)}`);
    throw new KubeConfigError(`cannot read kubeconfig ${file} (${source})`, attempts, err);
  }
  return finish(kc, source, file, attempts);
}

/**
 * What client-node's loadFromCluster builds, but from the given env (it reads
 * process.env itself): the token is re-read from its file by the `tokenFile`
 * auth provider, so rotated bound service-account tokens keep working.
 */
function inClusterConfig(env: NodeJS.ProcessEnv, saDir: string): KubeConfig {
  const host = env['KUBERNETES_SERVICE_HOST'] ?? '';
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const hostPart = isIPv6(host) ? `[${host}]` : host;
  const namespaceFile = join(saDir, 'namespace');
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'inCluster', server: `${scheme}://${hostPart}:${port}`, caFile: join(saDir, 'ca.crt'), skipTLSVerify: false }],
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: join(saDir, 'token') } } }],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser', ...(namespace ? { namespace } : {}) }],
    currentContext: 'inClusterContext',
  });
  return kc;
}

/**
 * Loads cluster credentials in a fixed, predictable order:
 * 1. the explicit `path` (a flag), 2. `KUBECONFIG` (colon-separated files are merged,
 * as kubectl does), 3. the in-cluster service account, 4. `~/.kube/config`.
 *
 * Unlike client-node's `loadFromDefault`, this never falls back to an
 * unauthenticated `http://localhost:8080`: an operator pointed at nothing must
 * fail at start with a KubeConfigError that says what was tried, not later
 * with connection-refused errors from every informer.
 * An explicit path or KUBECONFIG that cannot be read is an error, never skipped.
 */
export function loadKubeConfig(path?: string, opts: LoadKubeConfigOptions = {}): LoadedKubeConfig {
  const env = opts.env ?? process.env;
  const attempts: string[] = [];

  if (path) return fromFile(path, 'explicit', attempts);

  const fromEnv = env['KUBECONFIG'];
  if (fromEnv && fromEnv.length > 0) {
    const files = fromEnv.split(process.platform === 'win32' ? ';' : ':').filter(Boolean);
    const [first, ...rest] = files;
    if (first) {
      const loaded = fromFile(first, 'env', attempts);
      for (const f of rest) {
        // kubectl semantics: later files add clusters/users/contexts, the first file's current-context wins.
        const more = new KubeConfig();
        try {
          more.loadFromFile(f);
        } catch (err) {
          attempts.push(`env ${f}: ${err instanceof Error ? err.message : String(err)}`);
          throw new KubeConfigError(`cannot read kubeconfig ${f} (from KUBECONFIG)`, attempts, err);
        }
        loaded.kc.mergeConfig(more, true);
      }
      return { ...loaded, location: files.join(':') };
    }
  }
  attempts.push('KUBECONFIG: not set');

  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env['KUBERNETES_SERVICE_HOST'];
  const tokenFile = join(saDir, 'token');
  if (host && existsSync(tokenFile)) {
    return finish(inClusterConfig(env, saDir), 'in-cluster', saDir, attempts);
  }
  attempts.push(`in-cluster: ${host ? `no token at ${tokenFile}` : 'KUBERNETES_SERVICE_HOST not set'}`);

  const home = opts.homeDir ?? homedir();
  const defaultFile = join(home, '.kube', 'config');
  if (existsSync(defaultFile)) return fromFile(defaultFile, 'default', attempts);
  attempts.push(`default: ${defaultFile} does not exist`);

  throw new KubeConfigError(
    'no Kubernetes credentials found: pass --kubeconfig, set KUBECONFIG, run in a pod with a service account, or create ~/.kube/config',
    attempts,
  );
}

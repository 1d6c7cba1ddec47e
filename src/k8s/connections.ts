// Keep-alive connections to the API server for every client built from one
// KubeConfig. client-node 2.x gives each request of a generated API client
// (makeApiClient, KubernetesObjectApi) a new undici Agent, so every request
// opens and TLS-handshakes its own connection: in a scale run a third of the
// operator's own CPU was TLS setup. Here one Agent per distinct TLS identity
// (server CA, client certificate and key, verification flags) is reused, so a
// rotated client certificate still gets a fresh Agent (within 5 s), and the superseded one
// is closed once its in-flight requests finish.
import { createHash } from 'node:crypto';
import type { AgentOptions } from 'node:https';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';

type DispatcherFactory = (cluster: Cluster | null, agentOptions: AgentOptions) => Dispatcher | undefined;

const SHARED = Symbol('caelus.sharedConnections');
const IDENTITY_RECHECK_MS = 5_000;

function identity(kc: KubeConfig, cluster: Cluster | null, agentOptions: AgentOptions): string {
  // createDispatcherOptions is what client-node builds the Agent from: the TLS material and flags.
  const options = kc.createDispatcherOptions(cluster, agentOptions);
  return createHash('sha256')
    .update(JSON.stringify([cluster?.server ?? '', options]))
    .digest('hex');
}

/**
 * undici 8 negotiates HTTP/2 by default, and its HTTP/2 session reports an
 * idle socket timeout as an 'error' nobody listens to: an unhandled error that
 * ends the process (seen in test/integration/sync-operator-wiring). The API
 * server serves HTTP/1.1 keep-alive just as well, so the plain agent case is
 * built here with HTTP/2 off; proxy and socks agents stay client-node's.
 */
function http1Agent(kc: KubeConfig, cluster: Cluster | null, agentOptions: AgentOptions): Dispatcher | undefined {
  const options = kc.createDispatcherOptions(cluster, agentOptions);
  return options.type === 'agent' ? new Agent({ connect: options.connect, allowH2: false }) : undefined;
}

/**
 * Makes every client built from `kc` share one keep-alive connection pool per
 * TLS identity instead of a new connection per request. Idempotent.
 *
 * Relies on client-node's (private) createDispatcher, the one place it builds
 * the per-request Agent; if a client-node release renames it this is a no-op
 * and requests behave as before (test/integration/k8s-connections.test.ts
 * then fails).
 */
export function shareConnections(kc: KubeConfig, clock: () => number = () => performance.now()): KubeConfig {
  const target = kc as unknown as { createDispatcher?: DispatcherFactory; [SHARED]?: true };
  const create = target.createDispatcher;
  if (typeof create !== 'function' || target[SHARED]) return kc;
  const byCluster = new Map<string, { identity: string; checkedAt: number; dispatcher: Dispatcher | undefined }>();
  target.createDispatcher = (cluster, agentOptions) => {
    const clusterKey = `${cluster?.name ?? ''}\u0000${kc.getCurrentUser()?.name ?? ''}`;
    const cached = byCluster.get(clusterKey);
    // Hashing the TLS material (files re-read, PEMs hashed) on every request
    // was a few per cent of the operator's CPU; a rotation is noticed within
    // IDENTITY_RECHECK_MS, while both certificates are valid anyway.
    const now = clock();
    if (cached && now - cached.checkedAt < IDENTITY_RECHECK_MS) return cached.dispatcher;
    const id = identity(kc, cluster, agentOptions);
    if (cached?.identity === id) {
      cached.checkedAt = now;
      return cached.dispatcher;
    }
    const dispatcher = http1Agent(kc, cluster, agentOptions) ?? create.call(kc, cluster, agentOptions);
    byCluster.set(clusterKey, { identity: id, checkedAt: now, dispatcher });
    // close() lets requests already dispatched on the old Agent finish; it
    // only rejects for an Agent already destroyed, which has nothing to release.
    void cached?.dispatcher?.close().catch(() => undefined);
    return dispatcher;
  };
  target[SHARED] = true;
  return kc;
}

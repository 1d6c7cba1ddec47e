// Clients and helpers for integration tests against the shared control plane.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { HelmClient } from '../../src/helm/index.ts';
import { createMetrics, type Metrics } from '../../src/observability/metrics.ts';

export function testKubeConfig(): k8s.KubeConfig {
  const path = process.env['CAELUS_TEST_KUBECONFIG'];
  if (!path) throw new Error('CAELUS_TEST_KUBECONFIG is not set: integration tests run under jest globalSetup (npm test)');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export function helmBin(): string {
  const bin = process.env['HELM_BIN'];
  if (!bin) throw new Error('HELM_BIN is not set: integration tests run under jest globalSetup (npm test)');
  return bin;
}

/** Where globalSetup put helm's cache, config and data: never the user's HOME. */
export function helmEnv(): Record<string, string | undefined> {
  return { HELM_CACHE_HOME: process.env['HELM_CACHE_HOME'], HELM_CONFIG_HOME: process.env['HELM_CONFIG_HOME'], HELM_DATA_HOME: process.env['HELM_DATA_HOME'] };
}

/** A HelmClient on the shared control plane with the helm of this run, acting with the test kubeconfig's identity. */
export function testHelmClient(metrics: Metrics = createMetrics()): HelmClient {
  return new HelmClient({ binary: helmBin(), kubeconfigPath: process.env['CAELUS_TEST_KUBECONFIG']!, metrics, env: helmEnv(), killGraceMs: 10_000 });
}

/** A DNS-1123 name unique to this test run, so parallel test files never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Polls until fn returns a value that is not undefined, or throws the last error at the deadline. */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

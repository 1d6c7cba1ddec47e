// Creating CaelusInstances and following them to Ready with one list + watch
// (not polling), so the bench itself adds almost nothing to the API-server
// request counts it reports.
import * as k8s from '@kubernetes/client-node';
import { API_VERSION, ConditionType, KIND, type CaelusInstance } from '../../src/domain/instance.ts';
import { BENCH_LABEL } from './operator.ts';
import { pool } from './load.ts';

const GROUP = 'caelus.io';
const VERSION = 'v1';
const PLURAL = 'caelusinstances';

export function instanceNames(run: string, n: number): string[] {
  const width = String(n - 1).length;
  return Array.from({ length: n }, (_, i) => `${run}-${String(i).padStart(width, '0')}`);
}

export function instanceBody(name: string, run: string, template: string): CaelusInstance {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, labels: { [BENCH_LABEL]: run } },
    spec: { userId: `bench-${name}`, productTemplateVersion: template },
  };
}

/** Creates the instances with up to `inFlight` requests at a time; returns the requests made. */
export async function createInstances(kc: k8s.KubeConfig, bodies: CaelusInstance[], inFlight = 32): Promise<number> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  await pool(bodies, inFlight, async (body) => {
    await api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body });
  });
  return bodies.length;
}

/** Adds/changes one annotation on every instance (a warm full resync: each one is reconciled once). */
export async function annotateAll(kc: k8s.KubeConfig, names: readonly string[], key: string, value: string, inFlight = 32): Promise<number> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  await pool(names, inFlight, async (name) => {
    await api.patchClusterCustomObject(
      { group: GROUP, version: VERSION, plural: PLURAL, name, body: { metadata: { annotations: { [key]: value } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  });
  return names.length;
}

function isReady(obj: CaelusInstance): boolean {
  return obj.status?.conditions?.some((c) => c.type === ConditionType.Ready && c.status === 'True') ?? false;
}

export interface ReadyTracker {
  /** Milliseconds since `since` at which each instance first became Ready. */
  readonly readyAt: Map<string, number>;
  /** Resolves once every name is Ready; rejects at the deadline naming how many are not. */
  waitAll(names: readonly string[], timeoutMs: number): Promise<void>;
  /** Requests the tracker made (list + watch starts). */
  readonly requests: number;
  stop(): void;
}

/** A custom resource with a `Ready` condition (CaelusInstance, Flux's HelmRelease); namespaced ones are followed across namespaces. */
export interface TrackedResource {
  group: string;
  version: string;
  plural: string;
}
const INSTANCES: TrackedResource = { group: GROUP, version: VERSION, plural: PLURAL };

/** Follows the run's objects (label `caelus.io/bench-run=<run>`) by watch; `since` is the time zero of readyAt. */
export async function trackReady(kc: k8s.KubeConfig, run: string, since: () => number, resource: TrackedResource = INSTANCES): Promise<ReadyTracker> {
  const readyAt = new Map<string, number>();
  const notReady = new Map<string, string>();
  let waiters: Array<() => void> = [];
  let requests = 0;
  let stopped = false;
  let controller: AbortController | undefined;
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const see = (obj: CaelusInstance) => {
    const name = obj.metadata.name;
    if (isReady(obj)) {
      if (!readyAt.has(name)) readyAt.set(name, Date.now() - since());
      notReady.delete(name);
    } else if (!readyAt.has(name)) {
      const c = obj.status?.conditions?.find((x) => x.type === ConditionType.Ready);
      notReady.set(name, c ? `${c.reason}: ${c.message}` : (obj.status?.phase ?? 'no status'));
    }
    for (const w of waiters) w();
  };
  const labelSelector = `${BENCH_LABEL}=${run}`;
  const start = async (): Promise<void> => {
    requests++;
    const { group, version, plural } = resource;
    const list = (await api.listClusterCustomObject({ group, version, plural, labelSelector })) as {
      items: CaelusInstance[];
      metadata: { resourceVersion: string };
    };
    list.items.forEach(see);
    requests++;
    controller = await new k8s.Watch(kc).watch(
      `/apis/${group}/${version}/${plural}`,
      { labelSelector, resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: false },
      (phase, obj: CaelusInstance) => {
        if (phase === 'ADDED' || phase === 'MODIFIED') see(obj);
      },
      // The server ends watches after a while: list and watch again.
      () => {
        if (!stopped) setTimeout(() => void start().catch(() => setTimeout(() => void start(), 1_000)), 100);
      },
    );
  };
  await start();
  return {
    readyAt,
    get requests() {
      return requests;
    },
    waitAll: (names, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (names.every((n) => readyAt.has(n))) {
            waiters = waiters.filter((w) => w !== check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== check);
          const missing = names.filter((n) => !readyAt.has(n));
          const sample = missing.slice(0, 3).map((n) => `${n} (${notReady.get(n) ?? 'not seen'})`);
          reject(new Error(`${missing.length} of ${names.length} instances not Ready after ${timeoutMs} ms, e.g. ${sample.join('; ')}`));
        }, timeoutMs);
        waiters.push(check);
        check();
      }),
    stop: () => {
      stopped = true;
      controller?.abort();
    },
  };
}

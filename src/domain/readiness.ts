// Whether a live object of a release is ready, as a person reading the
// console means it: workloads have their replicas available, a claim is
// bound, a Job completed. Kinds without such a notion answer null. Pure: the
// object is the API server's JSON.
export interface Readiness {
  ready: boolean | null;
  summary: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const num = (v: unknown, fallback = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

function conditionTrue(status: Obj, type: string): boolean {
  const conditions = Array.isArray(status['conditions']) ? (status['conditions'] as unknown[]) : [];
  return conditions.some((c) => obj(c)['type'] === type && obj(c)['status'] === 'True');
}

export function readinessOf(kind: string, live: Obj): Readiness {
  const spec = obj(live['spec']);
  const status = obj(live['status']);
  const meta = obj(live['metadata']);
  switch (kind) {
    case 'Deployment': {
      const want = num(spec['replicas'], 1);
      const available = num(status['availableReplicas']);
      const updated = num(status['updatedReplicas']);
      // A status of an older generation says nothing about the current spec.
      const current = num(status['observedGeneration'], -1) >= num(meta['generation'], 0);
      return { ready: current && updated >= want && available >= want, summary: `${available}/${want} available` };
    }
    case 'StatefulSet': {
      const want = num(spec['replicas'], 1);
      const ready = num(status['readyReplicas']);
      return { ready: ready >= want, summary: `${ready}/${want} ready` };
    }
    case 'DaemonSet': {
      const want = num(status['desiredNumberScheduled']);
      const ready = num(status['numberReady']);
      return { ready: ready >= want, summary: `${ready}/${want} ready` };
    }
    case 'PersistentVolumeClaim': {
      const phase = typeof status['phase'] === 'string' ? status['phase'] : 'Pending';
      return { ready: phase === 'Bound', summary: phase };
    }
    case 'Job': {
      if (conditionTrue(status, 'Complete')) return { ready: true, summary: 'complete' };
      if (conditionTrue(status, 'Failed')) return { ready: false, summary: 'failed' };
      return { ready: false, summary: `${num(status['active'])} active` };
    }
    case 'Service': {
      const type = typeof spec['type'] === 'string' ? spec['type'] : 'ClusterIP';
      if (type !== 'LoadBalancer') return { ready: true, summary: type };
      const ingress = Array.isArray(obj(status['loadBalancer'])['ingress']) ? (obj(status['loadBalancer'])['ingress'] as unknown[]) : [];
      return { ready: ingress.length > 0, summary: ingress.length > 0 ? 'LoadBalancer, address assigned' : 'LoadBalancer, waiting for an address' };
    }
    default:
      return { ready: null, summary: 'present' };
  }
}

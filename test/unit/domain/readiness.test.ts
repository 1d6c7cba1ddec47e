import { readinessOf } from '../../../src/domain/readiness.ts';

describe('readinessOf', () => {
  test('a Deployment is ready when its current generation has every replica updated and available', () => {
    const base = { metadata: { generation: 2 }, spec: { replicas: 2 } };
    expect(readinessOf('Deployment', { ...base, status: { observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2 } })).toEqual({ ready: true, summary: '2/2 available' });
    expect(readinessOf('Deployment', { ...base, status: { observedGeneration: 2, updatedReplicas: 2, availableReplicas: 1 } })).toEqual({ ready: false, summary: '1/2 available' });
    // Status of the previous generation: not ready yet, whatever it counts.
    expect(readinessOf('Deployment', { ...base, status: { observedGeneration: 1, updatedReplicas: 2, availableReplicas: 2 } }).ready).toBe(false);
    // No status at all (no controller ran): 0 of the default 1.
    expect(readinessOf('Deployment', { metadata: { generation: 1 }, spec: {} })).toEqual({ ready: false, summary: '0/1 available' });
  });

  test('StatefulSet, DaemonSet, PVC, Job and Service each by their own rule; other kinds have none', () => {
    expect(readinessOf('StatefulSet', { spec: { replicas: 3 }, status: { readyReplicas: 3 } }).ready).toBe(true);
    expect(readinessOf('DaemonSet', { status: { desiredNumberScheduled: 2, numberReady: 1 } })).toEqual({ ready: false, summary: '1/2 ready' });
    expect(readinessOf('PersistentVolumeClaim', { status: { phase: 'Bound' } })).toEqual({ ready: true, summary: 'Bound' });
    expect(readinessOf('PersistentVolumeClaim', {})).toEqual({ ready: false, summary: 'Pending' });
    expect(readinessOf('Job', { status: { conditions: [{ type: 'Complete', status: 'True' }] } })).toEqual({ ready: true, summary: 'complete' });
    expect(readinessOf('Job', { status: { conditions: [{ type: 'Failed', status: 'True' }] } })).toEqual({ ready: false, summary: 'failed' });
    expect(readinessOf('Service', { spec: { type: 'ClusterIP' } }).ready).toBe(true);
    expect(readinessOf('Service', { spec: { type: 'LoadBalancer' }, status: { loadBalancer: {} } }).ready).toBe(false);
    expect(readinessOf('ConfigMap', { data: {} })).toEqual({ ready: null, summary: 'present' });
  });
});

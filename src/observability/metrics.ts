import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every Prometheus series Caelus exposes, on one registry per process so that
 * tests (and `caelus dev`, which runs operator + API together) never collide
 * with prom-client's global registry.
 */
export function createMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  // Read at scrape time from the caches themselves: counting per watch event would cost a pass per change.
  const driftWatchCounts = new Set<() => ReadonlyMap<string, number>>();
  return {
    registry,
    reconcileDuration: new Histogram({
      name: 'caelus_reconcile_duration_seconds',
      help: 'Duration of one reconcile of a CaelusInstance, by result',
      labelNames: ['result'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    workqueueDepth: new Gauge({
      name: 'caelus_workqueue_depth',
      help: 'Keys waiting in the work queue',
      registers,
    }),
    workqueueLatency: new Histogram({
      name: 'caelus_workqueue_queue_duration_seconds',
      help: 'Time a key waits in the work queue before a worker takes it',
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers,
    }),
    workqueueRetries: new Counter({
      name: 'caelus_workqueue_retries_total',
      help: 'Keys re-queued with backoff after a failed reconcile',
      registers,
    }),
    helmInvocations: new Counter({
      name: 'caelus_helm_invocations_total',
      help: 'helm processes spawned, by verb and result',
      labelNames: ['verb', 'result'] as const,
      registers,
    }),
    helmDuration: new Histogram({
      name: 'caelus_helm_duration_seconds',
      help: 'Wall time of helm processes, by verb',
      labelNames: ['verb'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    }),
    instancesByPhase: new Gauge({
      name: 'caelus_instances',
      help: 'CaelusInstances by phase',
      labelNames: ['phase'] as const,
      registers,
    }),
    driftDetections: new Counter({
      name: 'caelus_drift_detections_total',
      help: 'Drift detections, by instance mode',
      labelNames: ['mode'] as const,
      registers,
    }),
    driftCorrections: new Counter({
      name: 'caelus_drift_corrections_total',
      help: 'Drift corrections applied',
      registers,
    }),
    driftCorrectionLatency: new Histogram({
      name: 'caelus_drift_correction_latency_seconds',
      help: 'Time from drift detection to correction',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    }),
    syncActions: new Counter({
      name: 'caelus_sync_actions_total',
      help: 'DB ↔ CR sync actions carried out (Apply, Import, Conflict, Adopt, DeleteCR, MarkRowDeleted), by result',
      labelNames: ['action', 'result'] as const,
      registers,
    }),
    syncPropagationDelay: new Histogram({
      name: 'caelus_sync_propagation_delay_seconds',
      help: 'From a row change (updated_at) to its server-side apply on the CaelusInstance',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    syncAnnotationWrites: new Counter({
      name: 'caelus_sync_annotation_writes_total',
      help: 'Annotation patches the sync made on CaelusInstances (last-activity: coalesced activity reports; secrets-fingerprint: a secret write to roll out)',
      labelNames: ['annotation'] as const,
      registers,
    }),
    lifecycleActions: new Counter({
      name: 'caelus_lifecycle_actions_total',
      help: 'Instance lifecycle actions: hibernate and wake (workloads scaled), expire (deleted by the TTL job), idle-hibernate (hibernated by the idle job); by result',
      labelNames: ['action', 'result'] as const,
      registers,
    }),
    policyRefusals: new Counter({
      name: 'caelus_policy_refusals_total',
      help: 'Releases refused by the kinds allow-list (ForbiddenResource), by the kind of the first forbidden object',
      labelNames: ['kind'] as const,
      registers,
    }),
    guardrailsApplies: new Counter({
      name: 'caelus_guardrails_applies_total',
      help: 'Guardrail applies to an instance namespace (quota, limits, network policies, secrets Secret) when their inputs changed, by result',
      labelNames: ['result'] as const,
      registers,
    }),
    rolloutInstances: new Gauge({
      name: 'caelus_rollout_instances',
      help: 'Instances of a fleet rollout run, by run and instance state (Pending, Upgrading, Baking, Succeeded, Failed, Skipped, Deferred, RolledBack)',
      labelNames: ['rollout', 'state'] as const,
      registers,
    }),
    rolloutWave: new Gauge({
      name: 'caelus_rollout_wave',
      help: 'The wave a fleet rollout run is in (1 = canary)',
      labelNames: ['rollout'] as const,
      registers,
    }),
    driftWatchObjects: new Gauge({
      name: 'caelus_drift_watch_objects',
      help: "Objects in this operator's drift-watch caches, by the caelus.io/shard label they carry (none: unlabelled; other: not a configured shard)",
      labelNames: ['shard'] as const,
      registers,
      collect() {
        this.reset();
        for (const counts of driftWatchCounts) for (const [shard, n] of counts()) this.inc({ shard }, n);
      },
    }),
    /** Makes `counts` part of caelus_drift_watch_objects until the returned function is called. */
    countDriftWatchObjects(counts: () => ReadonlyMap<string, number>): () => void {
      driftWatchCounts.add(counts);
      return () => driftWatchCounts.delete(counts);
    },
    rolloutInstanceDuration: new Histogram({
      name: 'caelus_rollout_instance_duration_seconds',
      help: 'From writing the target version of an instance to its proof after the bake (or its failure), by result',
      labelNames: ['result'] as const,
      buckets: [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
    rolloutDuration: new Histogram({
      name: 'caelus_rollout_duration_seconds',
      help: 'From the start of a fleet rollout run to its end, by final state',
      labelNames: ['state'] as const,
      buckets: [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
      registers,
    }),
    apiRequestDuration: new Histogram({
      name: 'caelus_api_request_duration_seconds',
      help: 'REST API request duration, by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

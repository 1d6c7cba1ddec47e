// The read-only CaelusRollout custom resource: a mirror of a run's row for
// `kubectl get caelusrollouts`. The database is the only source of truth; the
// runner re-applies the mirror when what it shows changed, and nothing reads
// it back (an edit by anyone else is overwritten at the next change).
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Rollout } from '../db/repositories/rollouts.ts';
import type { RolloutInstanceState } from '../domain/rollout.ts';
import { GROUP, VERSION } from '../domain/instance.ts';
import { ObjectClient } from '../k8s/apply.ts';
import type { Logger } from '../observability/logger.ts';

export const ROLLOUT_KIND = 'CaelusRollout';
export const ROLLOUT_FIELD_MANAGER = 'caelus-rollouts';

export type RolloutMirror = (r: Rollout, counts: Record<RolloutInstanceState, number>) => Promise<void>;

export function rolloutObject(r: Rollout, counts: Record<RolloutInstanceState, number>): KubernetesObject & Record<string, unknown> {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: ROLLOUT_KIND,
    metadata: { name: r.id, labels: { 'app.kubernetes.io/managed-by': 'caelus' } },
    spec: {
      template: r.templateName,
      target: `${r.templateName}@${r.targetVersion}`,
      targetVersionId: r.targetVersionId,
      strategy: r.strategy,
    },
    status: {
      state: r.state,
      wave: r.currentWave,
      waves: r.waveCount,
      succeeded: counts.Succeeded,
      failed: counts.Failed,
      total,
      counts,
      ...(r.message ? { message: r.message } : {}),
    },
  };
}

/** Applies the mirror only when its content changed since this process last applied it. */
export function mirrorRollout(kc: KubeConfig, log: Logger): RolloutMirror {
  const objects = new ObjectClient(kc, { logger: log });
  const last = new Map<string, string>();
  return async (r, counts) => {
    const body = rolloutObject(r, counts);
    const key = JSON.stringify(body);
    if (last.get(r.id) === key) return;
    await objects.apply(body, { fieldManager: ROLLOUT_FIELD_MANAGER, force: true });
    last.set(r.id, key);
  };
}

// The rollout runner (DESIGN §5b): a leader-only loop that moves runs along
// from their rows alone, so a restart or a new leader resumes where the last
// one stopped. It only edits desired state — an instance's template version,
// through the same write the API's single-instance upgrade uses — and waits
// for proof on the CaelusInstance; the sync pushes the edit and the reconciler
// does the helm work. Rollback is desired state too: the source version back.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Kysely } from 'kysely';
import semverCompare from 'semver/functions/compare.js';
import { ConflictError, NotFoundError } from '../db/errors.ts';
import { updateInstanceSpec } from '../db/repositories/instances.ts';
import {
  listRolloutInstances,
  listWorkingRollouts,
  updateRollout,
  updateRolloutInstance,
  type Rollout,
  type RolloutInstance,
  type RolloutInstancePatch,
} from '../db/repositories/rollouts.ts';
import type { Database } from '../db/schema.ts';
import { API_VERSION, ConditionType, KIND, type CaelusInstance } from '../domain/instance.ts';
import {
  IN_FLIGHT,
  RolloutInstanceState as RIS,
  RolloutState,
  classify,
  countStates,
  failureBudgetSpent,
  judgeRollback,
  judgeUpgrade,
  type InstanceObservation,
  type ProofDecision,
} from '../domain/rollout.ts';
import { ObjectClient } from '../k8s/apply.ts';
import type { InvolvedObject } from '../k8s/events.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { mirrorRollout, type RolloutMirror } from './mirror.ts';

export const ROLLOUT_EVENT = { Upgrade: 'RolloutUpgrade', UpgradeFailed: 'RolloutUpgradeFailed', RolledBack: 'RolloutRolledBack' } as const;

export interface RolloutRunnerDeps {
  db: Kysely<Database>;
  kc: KubeConfig;
  events: { event(obj: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): void };
  log: Logger;
  metrics: Pick<Metrics, 'rolloutInstances' | 'rolloutWave' | 'rolloutInstanceDuration' | 'rolloutDuration'>;
  /** How often runs are advanced. Default 1 s. */
  tickMs?: number;
  now?: () => Date;
}

const TERMINAL_ROW: readonly RIS[] = [RIS.Succeeded, RIS.Failed, RIS.Skipped, RIS.RolledBack];
/** Judging in-flight instances reads one CR each; bounded so a large wave does not flood the API server. */
const READ_CONCURRENCY = 8;

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

function observe(cr: CaelusInstance | undefined): InstanceObservation | undefined {
  if (!cr) return undefined;
  const ready = cr.status?.conditions?.find((c) => c.type === ConditionType.Ready);
  return {
    generation: cr.metadata.generation ?? 0,
    specVersionRef: cr.spec.productTemplateVersion,
    observedGeneration: cr.status?.observedGeneration,
    phase: cr.status?.phase,
    ready: ready && { status: ready.status, reason: ready.reason, ...(ready.message ? { message: ready.message } : {}) },
    releaseRevision: cr.status?.release?.revision,
    releaseChartVersion: cr.status?.release?.version,
    statusVersionId: cr.status?.templateVersion?.id,
  };
}

export class RolloutRunner {
  readonly #d: RolloutRunnerDeps;
  readonly #objects: ObjectClient;
  readonly #mirror: RolloutMirror;
  readonly #now: () => Date;

  constructor(deps: RolloutRunnerDeps) {
    this.#d = deps;
    this.#objects = new ObjectClient(deps.kc, { logger: deps.log });
    this.#mirror = mirrorRollout(deps.kc, deps.log);
    this.#now = deps.now ?? (() => new Date());
  }

  /** Advances every run with work left, once per tick, until `signal` ends this leadership term. */
  async run(signal: AbortSignal): Promise<void> {
    this.#d.log.info({ tickMs: this.#d.tickMs ?? 1000 }, 'rollout runner running');
    while (!signal.aborted) {
      await this.tick().catch((err: unknown) => this.#d.log.error({ err }, 'rollout tick failed'));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.#d.tickMs ?? 1000);
        signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
    }
    this.#d.log.info('rollout runner stopped');
  }

  async tick(): Promise<void> {
    for (const r of await listWorkingRollouts(this.#d.db)) {
      try {
        await this.#advance(r);
      } catch (err) {
        this.#d.log.error({ err, rollout: r.id }, 'advancing rollout failed; retried next tick');
      }
    }
  }

  async #advance(r: Rollout): Promise<void> {
    const log = this.#d.log.child({ rollout: r.id });
    if (r.state === RolloutState.Pending && (await updateRollout(this.#d.db, r.id, { state: RolloutState.Running, started_at: this.#now() }, { from: [RolloutState.Pending] }))) {
      r = { ...r, state: RolloutState.Running, startedAt: this.#now() };
      log.info({ target: `${r.templateName}@${r.targetVersion}` }, 'rollout started');
    }
    let rows = await listRolloutInstances(this.#d.db, r.id);
    const set = async (row: RolloutInstance, patch: RolloutInstancePatch): Promise<void> => {
      await updateRolloutInstance(this.#d.db, r.id, row.instanceId, patch);
    };

    if (r.rollbackRequestedAt) {
      await this.#rollback(r, rows, set, log);
      await this.#publish(r, await listRolloutInstances(this.#d.db, r.id));
      return;
    }

    // In-flight upgrades are judged in every state: pause and abort let them finish.
    await inBatches(
      rows.filter((x) => IN_FLIGHT.includes(x.state)),
      READ_CONCURRENCY,
      (row) => this.#judge(r, row, set, log),
    );
    await this.#wakeDeferred(r, rows, set);
    rows = await listRolloutInstances(this.#d.db, r.id);

    const inFlight = rows.filter((x) => IN_FLIGHT.includes(x.state)).length;
    const failed = rows.filter((x) => x.state === RIS.Failed).length;
    const waved = rows.filter((x) => x.wave !== null).length;

    if (r.state === RolloutState.Running && failureBudgetSpent(failed, waved, r.strategy)) {
      // Nothing new starts; the run ends once what is in flight has finished.
      if (inFlight === 0) {
        if (r.strategy.onFailure === 'rollback') {
          await this.#d.db.updateTable('rollout').set({ rollback_requested_at: this.#now(), message: `${failed} instance(s) failed: rolling back` }).where('id', '=', r.id).execute();
          log.warn({ failed }, 'failure budget spent: rolling back');
        } else {
          await this.#finish(r, rows, RolloutState.Failed, `${failed} of ${waved} instance(s) failed (maxFailures ${r.strategy.maxFailures}${r.strategy.maxFailurePercent === null ? '' : `, maxFailurePercent ${r.strategy.maxFailurePercent}`})`);
          log.warn({ failed }, 'failure budget spent: rollout failed');
        }
      }
    } else if (r.state === RolloutState.Aborted) {
      if (inFlight === 0) await this.#skipUnreached(r, rows, 'not reached: the run was aborted');
    } else if (r.state === RolloutState.Running) {
      await this.#startWork(r, rows, set, log);
    } else if (r.state === RolloutState.Succeeded) {
      // Late work of a finished run: instances deferred while hibernated, woken since.
      const woken = rows.filter((x) => x.state === RIS.Pending);
      const upgrading = rows.filter((x) => x.state === RIS.Upgrading).length;
      for (const row of woken.slice(0, Math.max(0, r.strategy.maxConcurrent - upgrading))) await this.#start(r, row, set, log);
    }
    await this.#publish(r, await listRolloutInstances(this.#d.db, r.id));
  }

  /** Opens waves one after the other: the next starts only when every instance of the current one is done (baked). */
  async #startWork(r: Rollout, rows: RolloutInstance[], set: (row: RolloutInstance, p: RolloutInstancePatch) => Promise<void>, log: Logger): Promise<void> {
    let wave = Math.max(1, r.currentWave);
    const open = (w: number) => rows.filter((x) => x.wave === w && !TERMINAL_ROW.includes(x.state) && x.state !== RIS.Deferred);
    while (open(wave).length === 0) {
      if (wave >= r.waveCount) {
        await this.#finish(r, rows, RolloutState.Succeeded, undefined);
        log.info('rollout succeeded');
        return;
      }
      if (wave === 1 && r.strategy.approval === 'manual' && !r.approvedAt) {
        if (r.message !== 'waiting for approval after the canary wave') await updateRollout(this.#d.db, r.id, { message: 'waiting for approval after the canary wave' });
        return;
      }
      wave++;
    }
    if (wave !== r.currentWave) {
      await updateRollout(this.#d.db, r.id, { current_wave: wave, message: null });
      r.currentWave = wave;
      log.info({ wave, size: rows.filter((x) => x.wave === wave).length }, 'wave started');
    }
    const upgrading = rows.filter((x) => x.state === RIS.Upgrading).length;
    const startable = open(wave).filter((x) => x.state === RIS.Pending);
    for (const row of startable.slice(0, Math.max(0, r.strategy.maxConcurrent - upgrading))) await this.#start(r, row, set, log);
  }

  /** Checks the instance once more, records where it starts from, then writes the target version as its desired state. */
  async #start(r: Rollout, row: RolloutInstance, set: (row: RolloutInstance, p: RolloutInstancePatch) => Promise<void>, log: Logger): Promise<void> {
    const now = this.#now();
    const inst = await this.#d.db
      .selectFrom('deployment_instance as i')
      .innerJoin('product_template_version as v', 'v.id', 'i.product_template_version_id')
      .select(['i.id', 'i.source', 'i.state', 'i.expires_at', 'i.deleted_at', 'i.helm_revision', 'v.version'])
      .where('i.id', '=', row.instanceId)
      .executeTakeFirst();
    const verdict = classify(
      {
        source: inst?.source ?? 'api',
        state: inst?.state ?? 'Running',
        versionVsTarget: inst ? semverCompare(inst.version, r.targetVersion) : -1,
        expiresAt: inst?.expires_at ?? null,
        deleted: !inst || inst.deleted_at !== null,
      },
      { includeHibernated: r.includeHibernated, now },
    );
    if (verdict.state !== RIS.Pending) {
      await set(row, { state: verdict.state, reason: verdict.reason, finished_at: verdict.state === RIS.Skipped ? now : null });
      return;
    }
    const cr = await this.#cr(row.namespace);
    // Marked first: a crash after this line resumes by judging (and, if needed, writing) — never by starting again.
    await set(row, { state: RIS.Upgrading, started_at: now, before_revision: cr?.status?.release?.revision ?? inst!.helm_revision ?? 0, reason: null });
    await this.#ensureVersion(r, row, r.targetVersionId);
    if (cr) this.#d.events.event(cr, 'Normal', ROLLOUT_EVENT.Upgrade, `rollout ${r.id}: upgrading ${row.sourceVersion} → ${r.targetVersion} (wave ${row.wave ?? '-'})`);
    log.info({ instance: row.namespace, wave: row.wave }, 'instance upgrade started');
  }

  /** Makes `versionId` the instance's desired version unless it already is (so a resumed run writes it at most once). */
  async #ensureVersion(r: Rollout, row: RolloutInstance, versionId: string): Promise<void> {
    const current = await this.#d.db.selectFrom('deployment_instance').select(['product_template_version_id', 'spec_version', 'deleted_at']).where('id', '=', row.instanceId).executeTakeFirst();
    if (!current || current.deleted_at || current.product_template_version_id === versionId) return;
    try {
      await updateInstanceSpec(this.#d.db, row.instanceId, { productTemplateVersionId: versionId }, { actor: `rollout:${r.id}`, expectedSpecVersion: current.spec_version });
    } catch (err) {
      // A concurrent edit: the next tick looks again.
      if (!(err instanceof ConflictError) && !(err instanceof NotFoundError)) throw err;
    }
  }

  async #judge(r: Rollout, row: RolloutInstance, set: (row: RolloutInstance, p: RolloutInstancePatch) => Promise<void>, log: Logger): Promise<void> {
    if (row.targetGeneration === null) await this.#ensureVersion(r, row, r.targetVersionId);
    const cr = await this.#cr(row.namespace);
    const now = this.#now();
    const d: ProofDecision = judgeUpgrade(
      observe(cr),
      { versionId: r.targetVersionId, chartVersion: r.targetChartVersion },
      { beforeRevision: row.beforeRevision, targetGeneration: row.targetGeneration, startedAt: row.startedAt ?? now, bakingSince: row.bakingSince },
      r.strategy,
      now,
    );
    const seconds = (now.getTime() - (row.startedAt ?? now).getTime()) / 1000;
    switch (d.kind) {
      case 'wait':
        return;
      case 'generation':
        await set(row, { target_generation: d.generation });
        return;
      case 'baking':
        await set(row, { state: RIS.Baking, baking_since: now });
        return;
      case 'succeeded':
        await set(row, { state: RIS.Succeeded, finished_at: now, reason: null });
        this.#d.metrics.rolloutInstanceDuration.observe({ result: 'succeeded' }, seconds);
        log.info({ instance: row.namespace, seconds }, 'instance upgraded and baked');
        return;
      case 'failed':
        await set(row, { state: RIS.Failed, finished_at: now, reason: d.reason });
        this.#d.metrics.rolloutInstanceDuration.observe({ result: 'failed' }, seconds);
        if (cr) this.#d.events.event(cr, 'Warning', ROLLOUT_EVENT.UpgradeFailed, `rollout ${r.id}: ${d.reason}`);
        log.warn({ instance: row.namespace, reason: d.reason }, 'instance upgrade failed');
        return;
    }
  }

  /** Deferred (hibernated) instances that woke join the run; deleted ones are listed as such. */
  async #wakeDeferred(r: Rollout, rows: RolloutInstance[], set: (row: RolloutInstance, p: RolloutInstancePatch) => Promise<void>): Promise<void> {
    const deferred = rows.filter((x) => x.state === RIS.Deferred);
    if (deferred.length === 0) return;
    const live = await this.#d.db
      .selectFrom('deployment_instance')
      .select(['id', 'state', 'deleted_at'])
      .where('id', 'in', deferred.map((x) => x.instanceId))
      .execute();
    const byId = new Map(live.map((x) => [x.id, x]));
    const ended = r.state === RolloutState.Failed || r.state === RolloutState.Aborted || r.state === RolloutState.RolledBack;
    for (const row of deferred) {
      const inst = byId.get(row.instanceId);
      if (!inst || inst.deleted_at) await set(row, { state: RIS.Skipped, reason: 'deleted while deferred', finished_at: this.#now() });
      else if (ended) await set(row, { state: RIS.Skipped, reason: `not reached: the run ended ${r.state} while it was hibernated`, finished_at: this.#now() });
      else if (inst.state === 'Running') await set(row, { state: RIS.Pending, wave: row.wave ?? Math.max(1, r.currentWave), reason: 'woke up: upgraded now' });
    }
  }

  async #rollback(r: Rollout, rows: RolloutInstance[], set: (row: RolloutInstance, p: RolloutInstancePatch) => Promise<void>, log: Logger): Promise<void> {
    const now = this.#now();
    // Every instance the run wrote the target for goes back to its source version; values are not touched.
    for (const row of rows.filter((x) => x.startedAt !== null && x.rollbackStartedAt === null && x.state !== RIS.RolledBack)) {
      await set(row, { rollback_started_at: now });
      await this.#ensureVersion(r, row, row.sourceVersionId);
      const cr = await this.#cr(row.namespace);
      if (cr) this.#d.events.event(cr, 'Normal', ROLLOUT_EVENT.RolledBack, `rollout ${r.id}: desired version set back to ${row.sourceVersion}`);
      log.info({ instance: row.namespace }, 'instance rolled back (desired state)');
    }
    const fresh = await listRolloutInstances(this.#d.db, r.id);
    const waiting = fresh.filter((x) => x.rollbackStartedAt !== null && x.state !== RIS.RolledBack);
    await inBatches(waiting, READ_CONCURRENCY, async (row) => {
      const obs = observe(await this.#cr(row.namespace));
      const d = judgeRollback(obs, row.sourceVersionId, row.rollbackGeneration);
      const overdue = now.getTime() - row.rollbackStartedAt!.getTime() > r.strategy.progressDeadlineSeconds * 1000;
      if (d.kind === 'generation') await set(row, { rollback_generation: d.generation });
      else if (d.kind === 'succeeded') await set(row, { state: RIS.RolledBack, reason: `rolled back to ${row.sourceVersion}`, finished_at: now });
      else if (d.kind === 'failed' || overdue) {
        await set(row, { state: RIS.RolledBack, reason: `desired version set back to ${row.sourceVersion}, not proven: ${d.kind === 'failed' ? d.reason : d.kind === 'wait' ? d.why : d.kind}`, finished_at: now });
      }
    });
    const left = (await listRolloutInstances(this.#d.db, r.id)).filter((x) => x.rollbackStartedAt !== null && x.state !== RIS.RolledBack);
    if (left.length === 0) await this.#finish(r, fresh, RolloutState.RolledBack, r.message ?? 'rolled back');
  }

  async #finish(r: Rollout, rows: RolloutInstance[], state: RolloutState, message: string | undefined): Promise<void> {
    const now = this.#now();
    if (state !== RolloutState.Succeeded) await this.#skipUnreached(r, rows, `not reached: the run ended ${state}`);
    await updateRollout(this.#d.db, r.id, { state, finished_at: now, message: message ?? null });
    r.state = state;
    if (r.startedAt) this.#d.metrics.rolloutDuration.observe({ state }, (now.getTime() - r.startedAt.getTime()) / 1000);
  }

  async #skipUnreached(r: Rollout, rows: RolloutInstance[], reason: string): Promise<void> {
    const now = this.#now();
    for (const row of rows.filter((x) => x.state === RIS.Pending || x.state === RIS.Deferred)) {
      await updateRolloutInstance(this.#d.db, r.id, row.instanceId, { state: RIS.Skipped, reason, finished_at: now });
    }
  }

  async #cr(name: string): Promise<CaelusInstance | undefined> {
    return (await this.#objects.get({ apiVersion: API_VERSION, kind: KIND, name })) as CaelusInstance | undefined;
  }

  /** Metrics and the CaelusRollout mirror. */
  async #publish(r: Rollout, rows: RolloutInstance[]): Promise<void> {
    const counts = countStates(rows);
    for (const [state, n] of Object.entries(counts)) this.#d.metrics.rolloutInstances.set({ rollout: r.id, state }, n);
    const fresh = (await this.#d.db.selectFrom('rollout').select(['state', 'current_wave', 'message']).where('id', '=', r.id).executeTakeFirst()) ?? { state: r.state, current_wave: r.currentWave, message: r.message };
    this.#d.metrics.rolloutWave.set({ rollout: r.id }, fresh.current_wave);
    await this.#mirror({ ...r, state: fresh.state as RolloutState, currentWave: fresh.current_wave, message: fresh.message }, counts);
  }
}

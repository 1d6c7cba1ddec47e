// The secrets a template version declares (issue 17), before anything is
// installed: generated ones are created once (crypto-random; kept across
// upgrades, including template upgrades that still declare them), and an
// instance whose required secrets have no value waits in Pending with
// Ready=False/SecretsMissing naming them. Setting one through the API makes
// the sync stamp a new secrets fingerprint on the CR, which reconciles it.
import { CONTINUE, condition, setPhase, stopHere, type ResolvedContext, type Step } from '../context.ts';
import { missingRequired, type DeclaredSecret } from '../../domain/declared-secrets.ts';
import { ConditionType, Phase, Reason, type CaelusInstance } from '../../domain/instance.ts';
import type { EventSink } from '../ports.ts';

export interface DeclaredSecretsPort {
  /**
   * For the database row the CR is bound to (namespace, user and uid agree):
   * creates the declared generated secrets it lacks, and returns the names it
   * has (no values). Undefined when the CR is bound to no row.
   */
  prepare(instance: CaelusInstance, declared: readonly DeclaredSecret[]): Promise<{ instanceId: string; created: string[]; names: Set<string> } | undefined>;
}

// Nothing changes until someone sets a secret, and that edit requeues at once.
const MISSING_RETRY_MS = 300_000;

export function declaredSecretsStep(deps: { secrets: DeclaredSecretsPort | undefined; events: EventSink }): Step<ResolvedContext> {
  return {
    name: 'declared-secrets',
    async run(ctx) {
      const declared = ctx.template.secrets ?? [];
      if (declared.length === 0) return CONTINUE;
      if (!deps.secrets) {
        // GitOps-only install (file catalog, no database): nothing here can hold or generate secrets, so the
        // chart's <release>-secrets must come from elsewhere (README "Secrets"). Said once per reconcile in the log.
        ctx.log.warn({ declared: declared.map((s) => s.name) }, 'template declares secrets but this operator has no database to keep them; <release>-secrets must be provided');
        return CONTINUE;
      }
      const bound = await deps.secrets.prepare(ctx.instance, declared);
      // Secrets live with the instance's database row; a CR not (yet) bound to one waits for it.
      const missing = bound ? missingRequired(declared, bound.names) : declared.map((s) => s.name);
      if (bound && bound.created.length > 0) ctx.log.info({ generated: bound.created }, 'generated declared secrets');
      const instanceId = bound?.instanceId;
      if (missing.length === 0) return CONTINUE;
      const how = instanceId ? `set them with PUT /instances/${instanceId}/secrets/{name}` : 'the CaelusInstance is not bound to a database row yet';
      const message = `waiting for required secrets: ${missing.join(', ')} (${how})`;
      const before = ctx.status.persisted?.conditions?.find((c) => c.type === ConditionType.Ready);
      setPhase(ctx, Phase.Pending, message);
      condition(ctx, { type: ConditionType.Ready, status: 'False', reason: Reason.SecretsMissing, message });
      ctx.status.update({ observedGeneration: ctx.instance.metadata.generation });
      if (before?.reason !== Reason.SecretsMissing || before.message !== message) deps.events.record(ctx.instance, 'Warning', Reason.SecretsMissing, message);
      ctx.log.info({ missing }, 'required secrets missing');
      return stopHere(MISSING_RETRY_MS);
    },
  };
}

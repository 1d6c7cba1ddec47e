import type { Extender, PlacedContext, ResolvedContext } from '../context.ts';
import { PodSecurityLevel } from '../../domain/catalog.ts';
import { INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, Reason, instanceNamespace } from '../../domain/instance.ts';
import type { NamespacePort } from '../ports.ts';
import { ReconcileError } from '../errors.ts';

/** The level when the template version asks for none. */
export const POD_SECURITY_LEVEL: PodSecurityLevel = PodSecurityLevel.Restricted;

/**
 * Labels every instance namespace carries: ownership (never adopt another's)
 * and Pod Security Admission at the template version's level. warn and audit
 * stay at restricted even when baseline is enforced, so what a template would
 * need to become restricted-clean still shows up.
 */
export function namespaceLabels(instanceName: string, level: PodSecurityLevel = POD_SECURITY_LEVEL): Record<string, string> {
  return {
    [INSTANCE_LABEL]: instanceName,
    [MANAGED_BY_LABEL]: MANAGED_BY,
    'pod-security.kubernetes.io/enforce': level,
    'pod-security.kubernetes.io/enforce-version': 'latest',
    'pod-security.kubernetes.io/warn': PodSecurityLevel.Restricted,
    'pod-security.kubernetes.io/audit': PodSecurityLevel.Restricted,
  };
}

export function namespaceStep(namespaces: NamespacePort): Extender<ResolvedContext, PlacedContext> {
  return {
    name: 'namespace',
    async run(ctx) {
      const name = instanceNamespace(ctx.instance);
      const owner = ctx.instance.metadata.name;
      const wanted = namespaceLabels(owner, ctx.template.podSecurity);
      const existing = await namespaces.get(name);
      if (!existing) {
        await namespaces.create(name, wanted);
        ctx.log.info({ namespace: name }, 'created namespace');
      } else {
        const current = existing.labels[INSTANCE_LABEL];
        if (current !== owner) {
          const who = current ? `instance "${current}"` : 'something other than Caelus';
          throw new ReconcileError(Reason.NamespaceConflict, `namespace ${name} already exists and belongs to ${who}; Caelus does not adopt it`, {
            requeueAfterMs: 60_000,
          });
        }
        if (existing.terminating) {
          throw new ReconcileError(Reason.Progressing, `namespace ${name} is still terminating; waiting to recreate it`, {
            requeueAfterMs: 2_000,
          });
        }
        const missing = Object.entries(wanted).filter(([k, v]) => existing.labels[k] !== v);
        if (missing.length > 0) await namespaces.label(name, Object.fromEntries(missing));
      }
      ctx.status.update({ namespace: name });
      return Object.assign(ctx, { namespace: name });
    },
  };
}

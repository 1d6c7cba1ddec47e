import type { Extender, PlacedContext, ResolvedContext } from '../context.ts';
import { PodSecurityLevel } from '../../domain/catalog.ts';
import {
  INSTANCE_LABEL,
  INSTANCE_UID_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  Reason,
  instanceNamespace,
  type CaelusInstance,
} from '../../domain/instance.ts';
import type { NamespaceInfo, NamespacePort } from '../ports.ts';
import { ReconcileError } from '../errors.ts';

/** The level when the template version asks for none. */
export const POD_SECURITY_LEVEL: PodSecurityLevel = PodSecurityLevel.Restricted;

/**
 * Labels every instance namespace carries: ownership (instance name and uid:
 * never adopt another's, nor an earlier same-named instance's) and Pod
 * Security Admission at the template version's level. warn and audit stay at
 * restricted even when baseline is enforced, so what a template would need to
 * become restricted-clean still shows up.
 */
export function namespaceLabels(instance: Pick<CaelusInstance, 'metadata'>, level: PodSecurityLevel = POD_SECURITY_LEVEL): Record<string, string> {
  return {
    [INSTANCE_LABEL]: instance.metadata.name,
    ...(instance.metadata.uid ? { [INSTANCE_UID_LABEL]: instance.metadata.uid } : {}),
    [MANAGED_BY_LABEL]: MANAGED_BY,
    'pod-security.kubernetes.io/enforce': level,
    'pod-security.kubernetes.io/enforce-version': 'latest',
    'pod-security.kubernetes.io/warn': PodSecurityLevel.Restricted,
    'pod-security.kubernetes.io/audit': PodSecurityLevel.Restricted,
  };
}

/**
 * Whose namespace this is, from the instance's point of view: `owned` (its
 * name and uid), or a conflict with the reason. A namespace labelled before
 * uids were recorded is owned only if this very CR object's status already
 * names it: status belongs to one object, so a new CR with a reused name has
 * none and cannot claim a retained namespace that way.
 */
export type Ownership = { owned: true } | { owned: false; reason: string };

export function namespaceOwnership(ns: NamespaceInfo, instance: Pick<CaelusInstance, 'metadata' | 'status'>): Ownership {
  const name = instance.metadata.name;
  const uid = instance.metadata.uid;
  const owner = ns.labels[INSTANCE_LABEL];
  if (owner !== name) return { owned: false, reason: owner ? `belongs to instance "${owner}"` : 'belongs to something other than Caelus' };
  const ownerUid = ns.labels[INSTANCE_UID_LABEL];
  if (ownerUid !== undefined) {
    if (ownerUid === uid) return { owned: true };
    return {
      owned: false,
      reason: `was left (deletionPolicy Retain) by an earlier instance named "${name}" (uid ${ownerUid}); delete the namespace or use another instance name`,
    };
  }
  if (instance.status?.namespace === ns.name) return { owned: true };
  return { owned: false, reason: `is labelled for an instance named "${name}" but records no uid, and this instance never created it` };
}

export function namespaceStep(namespaces: NamespacePort): Extender<ResolvedContext, PlacedContext> {
  return {
    name: 'namespace',
    async run(ctx) {
      const name = instanceNamespace(ctx.instance);
      const wanted = namespaceLabels(ctx.instance, ctx.template.podSecurity);
      const existing = await namespaces.get(name);
      const namespaceCreated = !existing;
      if (!existing) {
        await namespaces.create(name, wanted);
        ctx.log.info({ namespace: name }, 'created namespace');
      } else {
        // Whoever owned it, a terminating namespace is on its way out: wait and create a fresh one.
        if (existing.terminating) {
          throw new ReconcileError(Reason.Progressing, `namespace ${name} is still terminating; waiting to recreate it`, {
            requeueAfterMs: 2_000,
          });
        }
        const ownership = namespaceOwnership(existing, ctx.instance);
        if (!ownership.owned) {
          throw new ReconcileError(Reason.NamespaceConflict, `namespace ${name} already exists and ${ownership.reason}; Caelus does not adopt it`, {
            requeueAfterMs: 60_000,
          });
        }
        const missing = Object.entries(wanted).filter(([k, v]) => existing.labels[k] !== v);
        if (missing.length > 0) await namespaces.label(name, Object.fromEntries(missing));
      }
      ctx.status.update({ namespace: name });
      return Object.assign(ctx, { namespace: name, namespaceCreated });
    },
  };
}

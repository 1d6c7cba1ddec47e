import type { Extender, ReconcileContext, ResolvedContext } from '../context.ts';
import type { TemplateCatalog } from '../../domain/catalog.ts';
import { Reason } from '../../domain/instance.ts';
import { ReconcileError } from '../errors.ts';

// A missing version is fixed by a human publishing it (or fixing the CR, which
// requeues at once); polling faster than this only adds load.
export const TEMPLATE_RETRY_MS = 60_000;

export function resolveStep(catalog: TemplateCatalog): Extender<ReconcileContext, ResolvedContext> {
  return {
    name: 'resolve',
    async run(ctx) {
      const ref = ctx.instance.spec.productTemplateVersion;
      let template;
      try {
        template = await catalog.resolve(ref);
      } catch (err) {
        // The catalog could not answer (the database is down): nothing is wrong with the instance.
        // Versions resolved before are cached, so only instances new to this process wait here.
        throw new ReconcileError(
          Reason.Progressing,
          `waiting for the template catalog to resolve "${ref}": ${err instanceof Error ? err.message : String(err)}`,
          { cause: err, transient: true },
        );
      }
      if (!template) {
        throw new ReconcileError(Reason.TemplateVersionNotFound, `product template version "${ref}" does not exist`, {
          requeueAfterMs: TEMPLATE_RETRY_MS,
        });
      }
      // ref feeds kubectl's Template column: API-created CRs name the version by its id.
      ctx.status.update({
        templateVersion: { id: template.id, template: template.templateName, version: template.version, ref: `${template.templateName}@${template.version}` },
      });
      return Object.assign(ctx, { template });
    },
  };
}

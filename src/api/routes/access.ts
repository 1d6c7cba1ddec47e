// Lookups shared by the instance routes: what the caller may see, and what
// the API may change.
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { getScopedInstance, type TenantInstance } from '../../db/repositories/tenant-instances.ts';
import type { Database } from '../../db/schema.ts';
import { ownerScope, principalOf, type Principal } from '../auth.ts';
import { ApiProblem, ProblemType, notFound } from '../problems.ts';

/** The instance in the path if the caller may see it; another tenant's instance is a 404, exactly like a missing one. */
export async function visibleInstance(db: Kysely<Database>, request: FastifyRequest<{ Params: { id: string } }>): Promise<{ principal: Principal; instance: TenantInstance }> {
  const principal = principalOf(request);
  const { id } = request.params;
  const instance = await getScopedInstance(db, id, ownerScope(principal));
  if (!instance) throw notFound(`instance ${id}`);
  return { principal, instance };
}

/** Instances adopted from GitOps CRs are changed in git, not here (DESIGN §5). */
export function assertApiManaged(instance: TenantInstance): void {
  if (instance.source === 'cluster') {
    throw new ApiProblem(
      409,
      ProblemType.ReadOnlyInstance,
      `instance ${instance.id} was adopted from a CaelusInstance applied from git; its source of truth is git: change the CR there`,
      { extensions: { source: instance.source } },
    );
  }
}

/** The instance after a write, as the caller sees it. */
export async function rereadInstance(db: Kysely<Database>, id: string, principal: Principal): Promise<TenantInstance> {
  const fresh = await getScopedInstance(db, id, ownerScope(principal));
  // Deleted between the write and this read: the caller's view of it is gone.
  if (!fresh) throw notFound(`instance ${id}`);
  return fresh;
}

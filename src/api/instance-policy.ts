// What a caller may ask of an instance, beyond the shape the schemas check:
// admin-only fields, the namespace rule the CRD applies, and which host names
// a tenant may claim. Uniqueness of namespaces and domains is the database's
// (partial unique indexes → 409).
import { DeletionPolicy } from '../domain/instance.ts';
import { domainAllowed, namespaceProblem } from '../domain/naming.ts';
import type { Principal } from './auth.ts';
import { ApiProblem, ProblemType, unprocessable } from './problems.ts';

const adminOnly = (field: string, what = `${field} may only be set with an admin token`): ApiProblem =>
  new ApiProblem(403, ProblemType.Forbidden, what, { errors: [{ field, message: 'is admin only' }] });

/** Fields only an admin may set. Retain is one: a retained namespace outlives its instance and the tenant's quota would not see its volumes go. */
export function assertMayWrite(p: Principal, fields: { namespace?: string | undefined; userId?: string | undefined; deletionPolicy?: DeletionPolicy | undefined }): void {
  if (p.role === 'admin') return;
  if (fields.namespace !== undefined) throw adminOnly('/body/namespace');
  if (fields.userId !== undefined) throw adminOnly('/body/userId');
  if (fields.deletionPolicy === DeletionPolicy.Retain) {
    throw adminOnly('/body/deletionPolicy', '/body/deletionPolicy Retain may only be set with an admin token (a retained namespace outlives its instance)');
  }
}

/** The CRD's namespace rule (src/domain/naming.ts), answered before a row exists that the CRD would then refuse. */
export function checkNamespace(namespace: string): void {
  const problem = namespaceProblem(namespace);
  if (problem) throw unprocessable(ProblemType.Validation, '/body/namespace', problem);
}

/**
 * A tenant's host name must fall under a suffix the template version allows
 * (or, when the version declares none, one the platform allows:
 * CAELUS_DOMAIN_SUFFIXES). With neither, tenants may not choose a domain at
 * all: an unrestricted name would let one tenant serve another's host. Admins
 * may set any name; uniqueness still applies to them.
 */
export function checkDomain(p: Principal, domain: string, owner: string, versionSuffixes: readonly string[] | null, platformSuffixes: readonly string[]): void {
  if (p.role === 'admin') return;
  const suffixes = versionSuffixes ?? platformSuffixes;
  if (suffixes.length === 0) {
    throw unprocessable(ProblemType.Validation, '/body/domainName', 'this template version allows no domain names chosen by tenants; ask an admin to set one');
  }
  if (!domainAllowed(domain, suffixes, owner)) {
    throw unprocessable(ProblemType.Validation, '/body/domainName', `must fall under one of ${suffixes.join(', ')} ({userId} = your user id; * = one DNS label)`, {
      allowedDomainSuffixes: suffixes,
    });
  }
}

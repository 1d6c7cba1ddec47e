// The post-renderer's whole job on one rendered stream, parsed once: the
// kinds policy on exactly what helm is about to apply (upgrade renders,
// `lookup` results and, in Helm 4, hooks included), then the instance labels.
import { checkManifest, type KindsPolicy, type Violation } from '../../domain/kinds-policy.ts';
import { labelDocuments, parseStream } from './add-labels.ts';

export type PostRenderResult = { ok: true; output: string } | { ok: false; violations: Violation[] };

export function postRender(stream: string, labels: Readonly<Record<string, string>>, policy?: KindsPolicy): PostRenderResult {
  const docs = parseStream(stream);
  if (policy) {
    // Failsafe parsing leaves every scalar a string: the kinds, names,
    // namespaces and labels the policy reads are exactly as helm wrote them.
    const violations = checkManifest(
      docs.map((d) => d.toJSON() as unknown),
      policy,
    );
    if (violations.length > 0) return { ok: false, violations };
  }
  return { ok: true, output: labelDocuments(docs, labels) };
}

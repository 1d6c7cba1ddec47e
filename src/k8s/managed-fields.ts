// Who wrote what, from an object's managedFields. A forced server-side apply
// takes over every field its manager sets, but leaves alone the fields only
// other writers set: a rule added to a NetworkPolicy by `kubectl edit`
// survives it. Objects that must be exactly as Caelus builds them are checked
// with this after their apply (operator/k8s-adapters.ts).

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}

/** The top-level fields that hold an object's content; metadata (labels others may add) and status are not. */
const CONTENT_FIELDS = ['f:spec', 'f:data', 'f:stringData', 'f:binaryData'];

/** Anything with managedFields: a live object as the API server answered it. */
export interface WithManagedFields {
  metadata?: { managedFields?: readonly ManagedFieldsEntry[] };
}

/** Managers other than `ours` that own part of the object's content, status and other subresources aside. */
export function otherContentWriters(live: WithManagedFields, ours: string): string[] {
  const writers = new Set<string>();
  for (const entry of live.metadata?.managedFields ?? []) {
    if (entry.subresource || entry.manager === ours) continue;
    if (CONTENT_FIELDS.some((f) => entry.fieldsV1 && f in entry.fieldsV1)) writers.add(entry.manager ?? '');
  }
  return [...writers];
}

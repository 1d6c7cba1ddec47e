// Row facts the sync copies to CR annotations rather than to the spec: the
// last activity reported through the API (read by the idle job) and the
// fingerprint of the instance's secrets (its change makes the operator
// reconcile and roll the namespace Secret). Annotations do not bump
// metadata.generation, so neither costs a helm run. Pure: a table test
// covers it (test/unit/sync/annotations.test.ts).
import { LAST_ACTIVITY_ANNOTATION, SECRETS_FINGERPRINT_ANNOTATION } from '../domain/instance.ts';

export interface AnnotationFacts {
  /** deployment_instance.last_activity_at. */
  lastActivityAt: Date | null;
  /** The secrets fingerprint; undefined when the CR does not read secrets (no instance-id link). */
  secretsFingerprint: string | undefined;
  /** The fingerprint of an instance without secrets: not stamped on a CR that never had one. */
  emptyFingerprint: string;
}

export interface AnnotationPlan {
  /** Annotations to merge-patch now (absent: nothing to write). */
  patch?: Record<string, string>;
  /** Activity moved but was written less than the granularity ago: look again after this long. */
  recheckAfterMs?: number;
}

function parseTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * What to write so the CR's annotations catch up with the row.
 *
 * Activity can be reported many times a second, so it is coalesced: a newer
 * value is written at once when the annotated one is at least `granularityMs`
 * old, else once it is (recheckAfterMs). The annotation thus trails the row
 * by at most the granularity and the CR sees at most one activity write per
 * granularity; an idleTimeout longer than the granularity is never cut short.
 * Activity never moves backwards (a slower API replica reporting late).
 */
export function planAnnotations(facts: AnnotationFacts, annotations: Record<string, string> | undefined, now: Date, granularityMs: number): AnnotationPlan {
  const patch: Record<string, string> = {};
  let recheckAfterMs: number | undefined;

  const row = facts.lastActivityAt?.getTime();
  const annotated = parseTime(annotations?.[LAST_ACTIVITY_ANNOTATION]);
  if (row !== undefined && (annotated === undefined || row > annotated)) {
    const due = annotated === undefined ? 0 : annotated + granularityMs - now.getTime();
    if (due <= 0) patch[LAST_ACTIVITY_ANNOTATION] = new Date(row).toISOString();
    else recheckAfterMs = due;
  }

  const fingerprint = facts.secretsFingerprint;
  const stamped = annotations?.[SECRETS_FINGERPRINT_ANNOTATION];
  if (fingerprint !== undefined && fingerprint !== stamped && !(stamped === undefined && fingerprint === facts.emptyFingerprint)) {
    patch[SECRETS_FINGERPRINT_ANNOTATION] = fingerprint;
  }

  return {
    ...(Object.keys(patch).length > 0 ? { patch } : {}),
    ...(recheckAfterMs !== undefined ? { recheckAfterMs } : {}),
  };
}

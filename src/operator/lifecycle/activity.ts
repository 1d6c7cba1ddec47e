// When an instance was last used, for idle hibernation.
import { LAST_ACTIVITY_ANNOTATION, type CaelusInstance } from '../../domain/instance.ts';

export interface ActivitySource {
  /** The latest moment the instance counts as active; undefined when nothing is known. */
  lastActivity(instance: CaelusInstance): Date | undefined;
}

function parseTime(text: string | undefined | Date): Date | undefined {
  if (text === undefined) return undefined;
  const d = text instanceof Date ? text : new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * Activity from the CR: the caelus.io/last-activity annotation, floored by the
 * creation time (a new instance is not idle) and by the last wake-up (waking
 * an idle instance by hand must not put it straight back to sleep).
 */
export const annotationActivity: ActivitySource = {
  lastActivity(instance) {
    const candidates = [
      parseTime(instance.metadata.annotations?.[LAST_ACTIVITY_ANNOTATION]),
      parseTime(instance.metadata.creationTimestamp),
      parseTime(instance.status?.hibernation?.wokeAt),
    ].filter((d): d is Date => d !== undefined);
    if (candidates.length === 0) return undefined;
    return new Date(Math.max(...candidates.map((d) => d.getTime())));
  },
};

// Go-style durations ("1h30m"): spec.idleTimeout as the CRD's pattern admits
// it ("500ms" too), and token lifetimes, which add days ("90d").
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const LIFETIME_PATTERN = '^([0-9]{1,6}(s|m|h|d))+$';
const IDLE_TIMEOUT = /^([0-9]+(ms|s|m|h))+$/;

/** The sum of the `<number><unit>` terms of text that `form` already admitted; undefined when zero. */
function sum(text: string, form: RegExp): number | undefined {
  if (!form.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+)(ms|s|m|h|d)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total > 0 ? total : undefined;
}

/** An idleTimeout in milliseconds, or undefined when the text is not such a duration (or is zero). */
export function parseDuration(text: string): number | undefined {
  return sum(text, IDLE_TIMEOUT);
}

/** A token lifetime in milliseconds, or undefined when the text is not such a duration (or is zero). */
export function parseLifetime(text: string): number | undefined {
  return sum(text, new RegExp(LIFETIME_PATTERN));
}

/**
 * When a token given `expires` (a lifetime such as "90d", or an RFC 3339
 * date-time) expires, from `now`; undefined when the text is neither or
 * names a time that is not in the future.
 */
export function expiryOf(expires: string, now: Date = new Date()): Date | undefined {
  const ms = parseLifetime(expires);
  if (ms !== undefined) return new Date(now.getTime() + ms);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(expires)) return undefined;
  const at = new Date(expires);
  return Number.isNaN(at.getTime()) || at.getTime() <= now.getTime() ? undefined : at;
}

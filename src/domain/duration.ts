// Token lifetimes ("90d", "12h", "1h30m"): Go-style durations, as the CRD's
// idleTimeout, plus days, which is what people give tokens.
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const LIFETIME_PATTERN = '^([0-9]{1,6}(s|m|h|d))+$';

/** Milliseconds, or undefined when the text is not such a duration (or is zero). */
export function parseLifetime(text: string): number | undefined {
  if (!new RegExp(LIFETIME_PATTERN).test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+)(s|m|h|d)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total > 0 ? total : undefined;
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

import { expiryOf, parseDuration, parseLifetime } from '../../../src/domain/duration.ts';

describe('durations', () => {
  it('idleTimeout: ms, s, m, h; no days', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1d')).toBeUndefined();
    expect(parseDuration('0s')).toBeUndefined();
    expect(parseDuration('10')).toBeUndefined();
  });

  it('token lifetimes: s, m, h, d, at most six digits a term; no ms', () => {
    expect(parseLifetime('90d')).toBe(90 * 86_400_000);
    expect(parseLifetime('1h30m')).toBe(5_400_000);
    expect(parseLifetime('500ms')).toBeUndefined();
    expect(parseLifetime('1234567s')).toBeUndefined();
    const now = new Date('2026-01-01T00:00:00Z');
    expect(expiryOf('12h', now)).toEqual(new Date('2026-01-01T12:00:00Z'));
    expect(expiryOf('2026-02-01T00:00:00Z', now)).toEqual(new Date('2026-02-01T00:00:00Z'));
    expect(expiryOf('2025-12-31T00:00:00Z', now)).toBeUndefined();
  });
});

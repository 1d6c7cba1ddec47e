import { percentile, roundSummary, summarize } from '../../../bench/lib/stats.ts';

describe('percentile (nearest rank)', () => {
  const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  it.each([
    [50, 5],
    [90, 9],
    [99, 10],
    [100, 10],
    [0, 1],
    [10, 1],
    [11, 2],
  ])('p%d of 1..10 is %d', (p, want) => expect(percentile(xs, p)).toBe(want));

  it('p99 of 100 samples is the 99th smallest, not the largest', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 50)).toBe(50);
  });

  it('is NaN without samples and refuses p outside 0..100', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
  });

  it('does not reorder the caller’s array', () => {
    const a = [3, 1, 2];
    percentile(a, 50);
    expect(a).toEqual([3, 1, 2]);
  });
});

describe('summarize', () => {
  it('gives count, min, mean, p50/p90/p99 and max', () => {
    expect(summarize([4, 1, 3, 2])).toEqual({ count: 4, min: 1, mean: 2.5, p50: 2, p90: 4, p99: 4, max: 4 });
  });

  it('is all NaN (count 0) when empty', () => {
    const s = summarize([]);
    expect(s.count).toBe(0);
    expect(s.p50).toBeNaN();
  });

  it('rounds for JSON', () => {
    expect(roundSummary(summarize([1.234, 2.345]), 1)).toEqual({ count: 2, min: 1.2, mean: 1.8, p50: 1.2, p90: 2.3, p99: 2.3, max: 2.3 });
  });
});

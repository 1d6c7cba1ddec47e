// Percentiles and summaries of latency samples (pure; unit-tested in
// test/unit/bench-stats.test.ts).

/** Nearest-rank percentile (p in 0..100) of the samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Count, min, mean, p50/p90/p99 (nearest rank) and max; NaN fields when empty. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { count: 0, min: NaN, mean: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return {
    count: sorted.length,
    min: sorted[0]!,
    mean: sorted.reduce((s, x) => s + x, 0) / sorted.length,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: sorted[sorted.length - 1]!,
  };
}

/** Rounds every number of a summary to `digits` decimals (JSON results stay readable). */
export function roundSummary(s: Summary, digits = 1): Summary {
  const f = 10 ** digits;
  const r = (x: number) => (Number.isFinite(x) ? Math.round(x * f) / f : x);
  return { count: s.count, min: r(s.min), mean: r(s.mean), p50: r(s.p50), p90: r(s.p90), p99: r(s.p99), max: r(s.max) };
}

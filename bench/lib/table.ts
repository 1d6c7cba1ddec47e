// Plain-text tables for the terminal (pure; unit-tested in test/unit/bench-table.test.ts).

export type Cell = string | number | undefined;

/** Formats a number for a table: integers as is, others with `digits` decimals; NaN/undefined as '-'. */
export function formatCell(v: Cell, digits = 1): string {
  if (v === undefined) return '-';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return '-';
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

/**
 * A table with a header row and a rule under it; numeric columns are right-aligned,
 * text columns left-aligned. Rows shorter than the header are padded with '-'.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[], digits = 1): string {
  const cells = rows.map((r) => header.map((_, i) => formatCell(r[i], digits)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === undefined));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** A two-column key/value table (figures of one run). */
export function formatPairs(pairs: readonly (readonly [string, Cell])[], digits = 1): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(w)}  ${formatCell(v, digits)}`).join('\n');
}

/** Milliseconds as `27.0 s` or `2m45s` (the anchor's style above a minute). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const total = Math.round(s);
  return `${Math.floor(total / 60)}m${String(total % 60).padStart(2, '0')}s`;
}

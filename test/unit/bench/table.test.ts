import { formatCell, formatDuration, formatPairs, formatTable } from '../../../bench/lib/table.ts';

describe('formatTable', () => {
  it('aligns text left and numbers right under a rule', () => {
    const out = formatTable(
      ['route', 'p50 (ms)'],
      [
        ['POST /instances', 12.345],
        ['GET /x', 3],
      ],
    );
    expect(out.split('\n')).toEqual([
      'route            p50 (ms)',
      '---------------  --------',
      'POST /instances      12.3',
      'GET /x                  3',
    ]);
  });

  it('shows missing and non-finite cells as "-"', () => {
    const out = formatTable(['a', 'b'], [[1], [NaN, 2]]);
    expect(out.split('\n').slice(2)).toEqual([`1  -`, `-  2`]);
  });
});

describe('formatCell / formatPairs / formatDuration', () => {
  it('formats numbers with the given decimals, integers as they are', () => {
    expect(formatCell(1.25, 2)).toBe('1.25');
    expect(formatCell(7)).toBe('7');
    expect(formatCell(undefined)).toBe('-');
    expect(formatCell(Infinity)).toBe('-');
  });

  it('pads keys to one column', () => {
    expect(formatPairs([['instances', 100], ['peak RSS (MiB)', 180.25]])).toBe('instances       100\npeak RSS (MiB)  180.3');
  });

  it('writes durations in seconds below a minute and as the anchor does above', () => {
    expect(formatDuration(27_000)).toBe('27.0 s');
    expect(formatDuration(165_000)).toBe('2m45s');
    expect(formatDuration(119_600)).toBe('2m00s');
    expect(formatDuration(NaN)).toBe('-');
  });
});

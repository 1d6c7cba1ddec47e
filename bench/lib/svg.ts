// Instances Ready over time as a standalone SVG line chart (pure; unit-tested
// in test/unit/bench/flux.test.ts): one step line per run, seconds on x,
// instances Ready on y.

export interface ReadySeries {
  label: string;
  color: string;
  /** Seconds at which each instance became Ready. */
  timeline: readonly number[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A step ("nice") axis maximum: 1, 2 or 5 × 10^k at or above x. */
export function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return ([1, 2, 5, 10].find((m) => m * p >= x) ?? 10) * p;
}

export function readyChart(title: string, series: readonly ReadySeries[], width = 640, height = 360): string {
  const m = { l: 56, r: 16, t: 36, b: 44 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const xMax = niceMax(Math.max(0, ...series.flatMap((s) => s.timeline)));
  const yMax = niceMax(Math.max(0, ...series.map((s) => s.timeline.length)));
  const x = (t: number) => (m.l + (t / xMax) * w).toFixed(1);
  const y = (n: number) => (m.t + h - (n / yMax) * h).toFixed(1);
  const ticks = (max: number) => [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  for (const t of ticks(xMax)) {
    out.push(`<line x1="${x(t)}" y1="${m.t}" x2="${x(t)}" y2="${m.t + h}" stroke="#e5e5e5"/>`, `<text x="${x(t)}" y="${m.t + h + 16}" text-anchor="middle">${t}</text>`);
  }
  for (const n of ticks(yMax)) {
    out.push(`<line x1="${m.l}" y1="${y(n)}" x2="${m.l + w}" y2="${y(n)}" stroke="#e5e5e5"/>`, `<text x="${m.l - 6}" y="${y(n)}" text-anchor="end" dominant-baseline="middle">${n}</text>`);
  }
  out.push(
    `<text x="${m.l + w / 2}" y="${height - 8}" text-anchor="middle">seconds after the instances were created</text>`,
    `<text transform="translate(14 ${m.t + h / 2}) rotate(-90)" text-anchor="middle">instances Ready</text>`,
  );
  series.forEach((s, i) => {
    const sorted = [...s.timeline].sort((a, b) => a - b);
    const pts = [`${x(0)},${y(0)}`];
    sorted.forEach((t, k) => pts.push(`${x(t)},${y(k)}`, `${x(t)},${y(k + 1)}`));
    out.push(`<polyline fill="none" stroke="${esc(s.color)}" stroke-width="2" points="${pts.join(' ')}"/>`);
    // Bottom right: empty once every run is Ready.
    const ly = m.t + h - 14 - (series.length - 1 - i) * 18;
    const last = sorted.at(-1);
    out.push(
      `<line x1="${m.l + w - 190}" y1="${ly}" x2="${m.l + w - 170}" y2="${ly}" stroke="${esc(s.color)}" stroke-width="2"/>`,
      `<text x="${m.l + w - 164}" y="${ly}" dominant-baseline="middle">${esc(s.label)}${last === undefined ? '' : ` (all in ${last.toFixed(1)} s)`}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

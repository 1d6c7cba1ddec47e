// Display helpers: ages, times, JSON pointers and value flattening.

export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  return `${Math.floor(h / 24)}d`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Leaves of a JSON value by JSON pointer ('/a/b/0'); empty objects and arrays are leaves too. */
export function flatten(value: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (v: unknown, p: string) => {
    if (v !== null && typeof v === 'object' && Object.keys(v).length > 0) {
      for (const [k, child] of Object.entries(v)) walk(child, `${p}/${escape(k)}`);
    } else out.set(p === '' ? '/' : p, v);
  };
  walk(value, prefix);
  return out;
}

/** The source recorded for a pointer: the entry itself or its nearest recorded parent. */
export function sourceOf(pointer: string, provenance: Record<string, string>): string | undefined {
  for (let p = pointer; ; ) {
    if (provenance[p] !== undefined) return provenance[p];
    const i = p.lastIndexOf('/');
    if (i <= 0) return provenance[''] ?? provenance['/'];
    p = p.slice(0, i);
  }
}

export function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export interface DiffRow {
  pointer: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

export function diffValues(before: unknown, after: unknown): DiffRow[] {
  const a = flatten(before);
  const b = flatten(after);
  const rows: DiffRow[] = [];
  for (const [p, v] of a) {
    if (!b.has(p)) rows.push({ pointer: p, kind: 'removed', before: v });
    else if (JSON.stringify(b.get(p)) !== JSON.stringify(v)) rows.push({ pointer: p, kind: 'changed', before: v, after: b.get(p) });
  }
  for (const [p, v] of b) if (!a.has(p)) rows.push({ pointer: p, kind: 'added', after: v });
  return rows.sort((x, y) => x.pointer.localeCompare(y.pointer));
}

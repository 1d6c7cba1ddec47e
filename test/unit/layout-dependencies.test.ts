// DESIGN §3: dependencies point one way, cli → dev → compose → api |
// operator | sync | rollout → domain + db + k8s + helm + drift; domain imports nothing
// of ours; adapters never import operator or api. Checked on the import
// statements of src/.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
/**
 * The composition, top down: `caelus` itself (src/cli.ts, src/cli/), then
 * `caelus dev` (src/dev/, operator + API in one process), then the operator
 * with the sync (src/compose/). Each imports only levels below it.
 */
const COMPOSITION = ['cli', 'dev', 'compose'];
const PEERS = ['api', 'operator', 'sync', 'rollout'];
const BELOW = ['domain', 'db', 'k8s', 'helm', 'charts', 'drift', 'config', 'observability'];

/** The src/ folder (or top-level file without .ts) a path belongs to; undefined outside src/. */
function area(path: string): string | undefined {
  const rel = relative(SRC, path);
  if (rel.startsWith('..')) return undefined;
  return rel.split('/')[0]!.replace(/\.ts$/, '');
}

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Every relative module specifier of a file: static imports, re-exports and import(). */
function relativeImports(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) specs.push(m[1]!);
  return specs;
}

interface Edge {
  from: string;
  to: string;
  file: string;
  spec: string;
}

async function edges(): Promise<Edge[]> {
  const all: Edge[] = [];
  for (const file of await sources(SRC)) {
    const from = area(file)!;
    for (const spec of relativeImports(await readFile(file, 'utf8'))) {
      const to = area(resolve(dirname(file), spec));
      if (to && to !== from) all.push({ from, to, file: relative(SRC, file), spec });
    }
  }
  return all;
}

const show = (e: Edge) => `src/${e.file} imports ${e.spec}`;

describe('src/ dependency direction (DESIGN §3)', () => {
  let all: Edge[];
  beforeAll(async () => {
    all = await edges();
  });

  it('sees the imports it checks', () => {
    // Guards the scan itself: with no edges every rule below would pass.
    expect(all.some((e) => e.from === 'operator' && e.to === 'domain')).toBe(true);
    expect(all.some((e) => e.from === 'compose' && e.to === 'sync')).toBe(true);
    expect(all.some((e) => e.from === 'dev' && e.to === 'compose')).toBe(true);
  });

  it('each composition level imports only the levels below it (cli → dev → compose)', () => {
    const upward = all.filter((e) => COMPOSITION.includes(e.from) && COMPOSITION.indexOf(e.to) !== -1 && COMPOSITION.indexOf(e.to) < COMPOSITION.indexOf(e.from));
    expect(upward.map(show)).toEqual([]);
  });

  it('domain imports nothing of ours', () => {
    expect(all.filter((e) => e.from === 'domain').map(show)).toEqual([]);
  });

  it('api, operator, sync and rollout import neither each other nor the composition levels', () => {
    expect(all.filter((e) => PEERS.includes(e.from) && (PEERS.includes(e.to) || COMPOSITION.includes(e.to))).map(show)).toEqual([]);
  });

  it('adapters and shared modules import none of api, operator, sync or the composition levels', () => {
    expect(all.filter((e) => BELOW.includes(e.from) && (PEERS.includes(e.to) || COMPOSITION.includes(e.to))).map(show)).toEqual([]);
  });

  it('every src/ area is one the rule names', () => {
    expect([...new Set(all.flatMap((e) => [e.from, e.to]))].filter((a) => ![...COMPOSITION, ...PEERS, ...BELOW].includes(a)).sort()).toEqual([]);
  });
});

// Issue 19: a module graph with a cycle has no order to read it in, and one
// half of the cycle always sees the other half-initialised.
describe('src/ import graph', () => {
  it('has no import cycle (type-only imports count too)', async () => {
    const graph = new Map<string, string[]>();
    for (const file of await sources(SRC)) {
      const targets = relativeImports(await readFile(file, 'utf8')).map((spec) => relative(SRC, resolve(dirname(file), spec)));
      graph.set(relative(SRC, file), targets);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done' || !graph.has(file)) return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(graph.size).toBeGreaterThan(50);
    expect(cycles).toEqual([]);
  });
});

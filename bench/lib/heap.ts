// What a V8 heap snapshot (node --heapsnapshot-signal) holds, grouped the way
// DevTools' Summary view groups it: by constructor (or by node type for
// strings, code, arrays), with counts and self sizes, largest first. Pure
// over the snapshot's JSON; unit-tested in test/unit/bench-heap.test.ts.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: unknown[] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  name: string;
  count: number;
  selfMiB: number;
}

/** Node types whose name is not a constructor: grouped under the type, like `(string)` in DevTools. */
const BY_TYPE = new Set(['string', 'concatenated string', 'sliced string', 'code', 'array', 'number', 'hidden', 'synthetic', 'symbol', 'bigint']);

export function summarizeHeap(snapshot: Snapshot, top = 15): { totalMiB: number; groups: HeapGroup[] } {
  const fields = snapshot.snapshot.meta.node_fields;
  // node_types[0] names the values of the `type` field.
  const types = snapshot.snapshot.meta.node_types[0] as string[];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const groups = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const size = snapshot.nodes[i + sizeAt]!;
    total += size;
    const name = BY_TYPE.has(type) ? `(${type})` : snapshot.strings[snapshot.nodes[i + nameAt]!]!;
    const g = groups.get(name) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(name, g);
  }
  const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;
  return {
    totalMiB: mib(total),
    groups: [...groups.entries()]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, top)
      .map(([name, g]) => ({ name, count: g.count, selfMiB: mib(g.bytes) })),
  };
}

/** Sends the signal, waits until a new snapshot file in `dir` stops growing, and summarizes it. */
export async function takeHeapSnapshot(pid: number, dir: string, timeoutMs = 120_000): Promise<{ file: string; totalMiB: number; groups: HeapGroup[] }> {
  const list = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')) : []);
  const before = new Set(list());
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  let file: string | undefined;
  let lastSize = -1;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`no heap snapshot from pid ${pid} in ${dir} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1_000));
    file ??= list().find((f) => !before.has(f));
    if (!file) continue;
    // V8 writes the snapshot in one go: done once the size holds still and the JSON closes.
    const size = statSync(join(dir, file)).size;
    if (size === lastSize && size > 0) {
      try {
        return { file: join(dir, file), ...summarizeHeap(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Snapshot) };
      } catch {
        // not complete yet
      }
    }
    lastSize = size;
  }
}

import { summarizeHeap } from '../../../bench/lib/heap.ts';

// A V8 heap snapshot reduced to what summarizeHeap reads: node fields, node types, strings.
const snapshot = {
  snapshot: {
    meta: {
      node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'],
      node_types: [['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic', 'concatenated string', 'sliced string']],
    },
  },
  strings: ['', 'Map', 'Object', 'some text', 'other text'],
  // type, name, id, self_size, edge_count
  nodes: [
    3, 1, 1, 1_048_576, 0, // Map, 1 MiB
    3, 1, 3, 1_048_576, 0, // Map, 1 MiB
    3, 2, 5, 524_288, 0, // Object, 0.5 MiB
    2, 3, 7, 3_145_728, 0, // string, 3 MiB
    10, 4, 9, 1_048_576, 0, // concatenated string, 1 MiB
  ],
};

describe('heap snapshot summary', () => {
  it('groups by constructor, strings by type, largest first, with the total', () => {
    const s = summarizeHeap(snapshot);
    expect(s.totalMiB).toBe(6.5);
    expect(s.groups).toEqual([
      { name: '(string)', count: 1, selfMiB: 3 },
      { name: 'Map', count: 2, selfMiB: 2 },
      { name: '(concatenated string)', count: 1, selfMiB: 1 },
      { name: 'Object', count: 1, selfMiB: 0.5 },
    ]);
    expect(summarizeHeap(snapshot, 1).groups).toHaveLength(1);
  });
});

import { mergeValues, valuesProvenance } from '../../../src/domain/values.ts';

describe('values merge', () => {
  it('deep-merges maps, lets later layers win, and replaces lists', () => {
    const defaults = { image: { repository: 'nginx', tag: '1.27' }, args: ['a', 'b'], replicas: 1 };
    const overrides = { image: { tag: '1.28' }, args: ['c'] };
    expect(mergeValues(defaults, overrides)).toEqual({ image: { repository: 'nginx', tag: '1.28' }, args: ['c'], replicas: 1 });
  });

  it('does not mutate its inputs', () => {
    const defaults = { a: { b: 1 } };
    mergeValues(defaults, { a: { b: 2 } });
    expect(defaults).toEqual({ a: { b: 1 } });
  });

  it('tells where each leaf came from', () => {
    const p = valuesProvenance({ image: { repository: 'nginx', tag: '1' }, 'a/b': 1 }, { image: { tag: '2' }, extra: [1] });
    expect(p).toEqual({
      '/image/repository': 'template',
      '/image/tag': 'instance',
      '/a~1b': 'template',
      '/extra': 'instance',
    });
  });
});

import { effectiveValues, mergeValues } from '../../../src/domain/values.ts';

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

  it('tells where each leaf came from: template, instance or caelus', () => {
    const { provenance } = effectiveValues({ defaults: { image: { repository: 'nginx', tag: '1' }, 'a/b': 1 }, overrides: { image: { tag: '2' }, extra: [1] } });
    expect(provenance).toEqual({
      '/image/repository': 'template',
      '/image/tag': 'instance',
      '/a~1b': 'template',
      '/extra': 'instance',
      '/domainName': 'caelus',
    });
  });

  it('merges the values Caelus provides last: a tenant cannot choose the host through values.domainName', () => {
    const { values, provenance } = effectiveValues({
      defaults: { domainName: '', replicaCount: 1 },
      overrides: { domainName: 'victim.example.com', replicaCount: 2 },
      domainName: 'mine.apps.example.com',
    });
    expect(values).toEqual({ domainName: 'mine.apps.example.com', replicaCount: 2 });
    expect(provenance).toEqual({ '/domainName': 'caelus', '/replicaCount': 'instance' });
    // Without a domain of its own the instance gets none, whatever its values say.
    expect(effectiveValues({ defaults: {}, overrides: { domainName: 'victim.example.com' } }).values).toEqual({ domainName: '' });
  });
});

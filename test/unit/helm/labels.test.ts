import { assertValidLabels, labelsFromArgs, labelsToArgs } from '../../../src/helm/labels.ts';

describe('labels', () => {
  it.each<Record<string, string>>([
    { 'caelus.io/instance': 'demo' },
    { app: '' },
    { 'a.b-c.d/x_y.z': 'A-1_b.2' },
  ])('accepts %j', (labels) => {
    expect(() => assertValidLabels(labels)).not.toThrow();
  });

  it.each<[Record<string, string>]>([
    [{ 'caelus.io/': 'x' }],
    [{ '/name': 'x' }],
    [{ 'Caelus.IO/name': 'x' }],
    [{ 'a/b/c': 'x' }],
    [{ name: '-x' }],
    [{ name: 'a'.repeat(64) }],
    [{ name: 'with space' }],
    [{ name: '$HOME' }],
  ])('rejects %j', (labels) => {
    expect(() => assertValidLabels(labels)).toThrow(TypeError);
  });

  it('round-trips through argv in a stable order', () => {
    const labels = { 'z.io/b': '2', 'a.io/a': '1', empty: '' };
    const args = labelsToArgs(labels);
    expect(args).toEqual(['a.io/a=1', 'empty=', 'z.io/b=2']);
    expect(labelsFromArgs(args)).toEqual(labels);
  });

  it('rejects argv that is not key=value', () => {
    expect(() => labelsFromArgs(['novalue'])).toThrow(TypeError);
    expect(() => labelsFromArgs(['=x'])).toThrow(TypeError);
  });
});

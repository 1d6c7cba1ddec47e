import { newestVersions } from '../../../src/domain/newest-version.ts';

describe('newestVersions', () => {
  test('the highest semantic version per template wins, not the last published', () => {
    const newest = newestVersions([
      { id: 'a1', templateId: 'a', version: '1.0.0' },
      { id: 'a2', templateId: 'a', version: '2.0.0' },
      { id: 'a3', templateId: 'a', version: '1.4.1' },
      { id: 'a4', templateId: 'a', version: '2.0.0-rc.1' },
      { id: 'b1', templateId: 'b', version: '0.10.0' },
      { id: 'b2', templateId: 'b', version: '0.9.0' },
    ]);
    expect(newest.get('a')?.id).toBe('a2');
    expect(newest.get('b')?.id).toBe('b1');
  });

  test('a version that is not semver never wins; a template without any has no newest', () => {
    const newest = newestVersions([
      { id: 'x', templateId: 'a', version: 'latest' },
      { id: 'y', templateId: 'a', version: '0.0.1' },
      { id: 'z', templateId: 'c', version: 'main' },
    ]);
    expect(newest.get('a')?.id).toBe('y');
    expect(newest.has('c')).toBe(false);
  });
});

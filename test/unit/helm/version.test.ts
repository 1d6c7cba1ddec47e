import { parseHelmVersion, UnsupportedHelmVersionError } from '../../../src/helm/version.ts';

describe('parseHelmVersion', () => {
  it.each([
    ['v4.1.4', { major: 4, minor: 1, patch: 4, raw: 'v4.1.4' }],
    ['v3.17.3+ge4da497\n', { major: 3, minor: 17, patch: 3, raw: 'v3.17.3' }],
    ['v4.0.0-rc.1', { major: 4, minor: 0, patch: 0, raw: 'v4.0.0-rc.1' }],
  ])('%j', (out, expected) => {
    expect(parseHelmVersion(out)).toEqual(expected);
  });

  it.each(['v2.17.0', 'v5.0.0', 'version.BuildInfo{Version:"v3"}', ''])('refuses %j', (out) => {
    expect(() => parseHelmVersion(out)).toThrow(UnsupportedHelmVersionError);
  });
});

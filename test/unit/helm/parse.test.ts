import { HelmOutputError, parseHistory, parseRelease, parseValues } from '../../../src/helm/parse.ts';

// Trimmed real outputs (Helm 4.1.4 `upgrade --install -o json`; Helm 3.17.3 `status -o json`).
const upgrade4 = JSON.stringify({
  name: 'web',
  info: { first_deployed: '2026-11-23T08:32:40.2Z', last_deployed: '2026-11-23T08:32:40.2Z', description: 'Install complete', status: 'deployed' },
  chart: { metadata: { name: 'webapp', version: '0.1.0', appVersion: '1.27', apiVersion: 'v2' }, templates: [], values: {} },
  config: { message: 'hi' },
  manifest: '---\n# Source: webapp/templates/configmap.yaml\n',
  version: 1,
  namespace: 'e4',
  apply_method: 'ssa',
});
const status3 = JSON.stringify({
  name: 'web',
  info: { first_deployed: '2026-11-23T08:32:40.6Z', last_deployed: '2026-11-23T08:35:00.0Z', deleted: '', description: 'Upgrade complete', status: 'pending-upgrade' },
  config: null,
  manifest: 'x',
  version: 2,
  namespace: 'e3',
});

describe('parseRelease', () => {
  it('reads upgrade output including the chart', () => {
    expect(parseRelease('upgrade', upgrade4)).toEqual({
      name: 'web',
      namespace: 'e4',
      revision: 1,
      status: 'deployed',
      description: 'Install complete',
      firstDeployed: '2026-11-23T08:32:40.2Z',
      lastDeployed: '2026-11-23T08:32:40.2Z',
      chart: { name: 'webapp', version: '0.1.0', appVersion: '1.27' },
      manifest: '---\n# Source: webapp/templates/configmap.yaml\n',
      values: { message: 'hi' },
    });
  });

  it('reads status output (no chart, null config)', () => {
    const r = parseRelease('status', status3);
    expect(r.status).toBe('pending-upgrade');
    expect(r.revision).toBe(2);
    expect(r.chart).toBeUndefined();
    expect(r.values).toEqual({});
  });

  it('maps a status it does not know to unknown', () => {
    const out = JSON.parse(status3) as { info: { status: string } };
    out.info.status = 'pending-something-new';
    expect(parseRelease('status', JSON.stringify(out)).status).toBe('unknown');
  });

  it.each([
    ['Release "x" does not exist. Installing it now.'],
    ['{"name":"x"}'],
    ['{"name":"x","namespace":"n","version":"1","info":{"status":"deployed"}}'],
  ])('fails loudly on %s', (out) => {
    expect(() => parseRelease('status', out)).toThrow(HelmOutputError);
  });
});

describe('parseHistory', () => {
  it('sorts oldest first and renames fields', () => {
    const out = JSON.stringify([
      { revision: 2, updated: '2026-11-23T08:33:41Z', status: 'failed', chart: 'slow-0.1.0', app_version: '', description: 'Upgrade "k" failed: context canceled' },
      { revision: 1, updated: '2026-11-23T08:33:39Z', status: 'superseded', chart: 'slow-0.1.0', app_version: '1.0', description: 'Install complete' },
    ]);
    expect(parseHistory(out)).toEqual([
      { revision: 1, updated: '2026-11-23T08:33:39Z', status: 'superseded', chart: 'slow-0.1.0', appVersion: '1.0', description: 'Install complete' },
      { revision: 2, updated: '2026-11-23T08:33:41Z', status: 'failed', chart: 'slow-0.1.0', appVersion: '', description: 'Upgrade "k" failed: context canceled' },
    ]);
  });

  it('rejects a non-array', () => {
    expect(() => parseHistory('{}')).toThrow(HelmOutputError);
  });
});

describe('parseValues', () => {
  it('treats null as no values', () => {
    expect(parseValues('null\n')).toEqual({});
    expect(parseValues('{"a":1}')).toEqual({ a: 1 });
    expect(() => parseValues('[1]')).toThrow(HelmOutputError);
  });
});

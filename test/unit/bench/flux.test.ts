import { compareRows, type CaelusFigures, type FluxFigures } from '../../../bench/lib/compare.ts';
import { parseEnvFile } from '../../../bench/lib/flux.ts';
import { niceMax, readyChart } from '../../../bench/lib/svg.ts';
import { catalogEntry } from '../../../bench/scenarios/flux.ts';

describe('parseEnvFile', () => {
  it('reads KEY=value lines, skipping comments and blanks and unquoting values', () => {
    expect(parseEnvFile('# pinned\nHELM_CONTROLLER_VERSION=1.6.4\n\nSOURCE_CONTROLLER_VERSION="1.9.6"\n')).toEqual({
      HELM_CONTROLLER_VERSION: '1.6.4',
      SOURCE_CONTROLLER_VERSION: '1.9.6',
    });
  });

  it('names a line it cannot read', () => {
    expect(() => parseEnvFile('export X=1')).toThrow(/unexpected line in versions.env: "export X=1"/);
  });
});

describe('catalogEntry', () => {
  const catalog = `templates:
  - name: webapp
    versions:
      - version: 1.0.0
        chart: ../charts/webapp
        defaultValues: { message: bench }
      - version: 2.0.0
        chart: ../charts/webapp2
`;

  it('resolves the chart against the catalog directory and returns its default values', () => {
    expect(catalogEntry(catalog, '/repo/bench', 'webapp@1.0.0')).toEqual({ name: 'webapp', version: '1.0.0', chartDir: '/repo/charts/webapp', values: { message: 'bench' } });
    expect(catalogEntry(catalog, '/repo/bench', 'webapp@2.0.0').values).toEqual({});
  });

  it('rejects a template the catalog does not have', () => {
    expect(() => catalogEntry(catalog, '/repo/bench', 'webapp@9.9.9')).toThrow('template webapp@9.9.9 is not in the bench catalog');
  });
});

describe('compareRows', () => {
  const caelus: CaelusFigures = {
    wallSeconds: 30,
    readySeconds: { p50: 15 },
    operator: { peakRssMiB: 300, cpuSeconds: 5, helmChildrenCpuSeconds: 35 },
    controlPlaneCpuSeconds: { apiserver: 8, etcd: 2 },
    apiserverRequests: { operator: 4000 },
  };
  const flux: FluxFigures = {
    wallSeconds: 20,
    readySeconds: { p50: 10 },
    controllers: { 'helm-controller': { peakRssMiB: 160, cpuSeconds: 15 }, 'source-controller': { peakRssMiB: 90, cpuSeconds: 1 } },
    controlPlaneCpuSeconds: { apiserver: 5, etcd: 0 },
    apiserverRequests: { flux: 0 },
  };

  it('adds up each side (operator + helm children; both controllers) and divides Caelus by Flux', () => {
    const rows = compareRows(caelus, flux);
    const by = Object.fromEntries(rows.map((r) => [r.measure, r]));
    expect(by['all Ready (s)']).toMatchObject({ caelus: 30, flux: 20, ratio: 1.5 });
    expect(by['median Ready (s)']).toMatchObject({ caelus: 15, flux: 10, ratio: 1.5 });
    expect(by['CPU (s)']).toMatchObject({ caelus: 40, flux: 16, ratio: 2.5, caelusDetail: 'operator 5 + helm, post-renderer and spawner 35' });
    expect(by['peak RSS (MiB)']).toMatchObject({ caelus: 300, flux: 250, ratio: 1.2, fluxDetail: 'helm-controller 160 + source-controller 90' });
    expect(by['kube-apiserver + etcd CPU (s)']).toMatchObject({ caelus: 10, flux: 5, ratio: 2 });
  });

  it('gives no ratio when Flux measured 0', () => {
    const row = compareRows(caelus, flux).find((r) => r.measure === 'API-server requests')!;
    expect(row.caelus).toBe(4000);
    expect(row.ratio).toBeNaN();
  });
});

describe('readyChart', () => {
  it('draws one step line per run up to its instance count, with a legend naming when all were Ready', () => {
    const svg = readyChart('3 instances', [
      { label: 'Caelus', color: '#1f77b4', timeline: [3, 1, 2] },
      { label: 'Flux <helm-controller>', color: '#ff7f0e', timeline: [1.5] },
    ]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const lines = [...svg.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' '));
    // origin + two points per instance
    expect(lines.map((l) => l.length)).toEqual([7, 3]);
    expect(svg).toContain('Caelus (all in 3.0 s)');
    expect(svg).toContain('Flux &lt;helm-controller&gt; (all in 1.5 s)');
  });

  it('rounds axes up to 1, 2 or 5 × 10^k', () => {
    expect([niceMax(0), niceMax(3), niceMax(31.7), niceMax(100), niceMax(101)]).toEqual([1, 5, 50, 100, 200]);
  });
});

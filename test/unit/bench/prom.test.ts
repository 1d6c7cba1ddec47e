import { diffCounts, groupBy, parseMetrics, sumOf } from '../../../bench/lib/prom.ts';

const TEXT = `# HELP caelus_helm_invocations_total helm processes spawned, by verb and result
# TYPE caelus_helm_invocations_total counter
caelus_helm_invocations_total{verb="upgrade",result="success"} 100
caelus_helm_invocations_total{verb="status",result="success"} 100
caelus_helm_invocations_total{verb="status",result="error"} 2
apiserver_request_total{code="201",component="apiserver",group="",resource="namespaces",scope="resource",subresource="",verb="POST",version="v1"} 50
apiserver_request_total{code="200",component="apiserver",group="",resource="",scope="",subresource="/readyz",verb="GET",version=""} 3
weird_label{path="a \\"quoted\\" \\\\ value"} 1 1700000000000
histogram_bucket{le="+Inf"} 7
up 1
`;

describe('Prometheus text', () => {
  const samples = parseMetrics(TEXT);

  it('parses names, labels (escapes included) and values; skips comments', () => {
    expect(samples).toHaveLength(8);
    expect(samples.find((s) => s.name === 'weird_label')?.labels['path']).toBe('a "quoted" \\ value');
    expect(samples.find((s) => s.name === 'up')).toEqual({ name: 'up', labels: {}, value: 1 });
    expect(samples.find((s) => s.name === 'histogram_bucket')?.labels['le']).toBe('+Inf');
  });

  it('sums a counter over label sets, optionally filtered', () => {
    expect(sumOf(samples, 'caelus_helm_invocations_total')).toBe(202);
    expect(sumOf(samples, 'caelus_helm_invocations_total', { verb: 'status' })).toBe(102);
    expect(sumOf(samples, 'nothing')).toBe(0);
  });

  it('groups by labels and diffs two scrapes', () => {
    const before = groupBy(samples, 'apiserver_request_total', ['verb', 'resource']);
    expect(before).toEqual({ 'POST namespaces': 50, 'GET ': 3 });
    expect(diffCounts(before, { 'POST namespaces': 60, 'GET ': 3, 'PATCH secrets': 4 })).toEqual({ 'POST namespaces': 10, 'PATCH secrets': 4 });
  });
});

import { DEFAULT_TIERS, chooseTier, limitRangeFor, resourceQuotaFor } from '../../../src/domain/tiers.ts';

describe('chooseTier', () => {
  it('uses the template tier, else the default', () => {
    expect(chooseTier({ templateTier: 'micro' }, DEFAULT_TIERS, 'small')).toMatchObject({ ok: true, tier: { name: 'micro' } });
    expect(chooseTier({}, DEFAULT_TIERS, 'small')).toMatchObject({ ok: true, tier: { name: 'small' } });
  });

  it('lets spec.tier pick only a tier the template version allows', () => {
    const input = { templateTier: 'micro', allowedTiers: ['small'] };
    expect(chooseTier({ ...input, requested: 'small' }, DEFAULT_TIERS, 'small')).toMatchObject({ ok: true, tier: { name: 'small' } });
    expect(chooseTier({ ...input, requested: 'micro' }, DEFAULT_TIERS, 'small')).toMatchObject({ ok: true, tier: { name: 'micro' } });
    const refused = chooseTier({ ...input, requested: 'large' }, DEFAULT_TIERS, 'small');
    expect(refused).toEqual({ ok: false, message: 'spec.tier "large" is not allowed by this template version (allowed: micro, small)' });
  });

  it('refuses a tier that is not configured', () => {
    expect(chooseTier({ templateTier: 'huge' }, DEFAULT_TIERS, 'small')).toMatchObject({ ok: false, message: expect.stringContaining('"huge" is not configured') });
  });
});

describe('tier objects', () => {
  const micro = DEFAULT_TIERS.find((t) => t.name === 'micro')!;
  it('turns a tier into a ResourceQuota over requests, limits, storage, volumes and Services', () => {
    expect(resourceQuotaFor(micro, 'ns1', { a: 'b' })).toEqual({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'caelus-quota', namespace: 'ns1', labels: { a: 'b', 'caelus.io/tier': 'micro' } },
      spec: {
        hard: {
          'requests.cpu': '500m',
          'requests.memory': '1Gi',
          'limits.cpu': '500m',
          'limits.memory': '1Gi',
          'requests.storage': '5Gi',
          persistentvolumeclaims: '4',
          services: '5',
          'services.loadbalancers': '0',
          'services.nodeports': '0',
        },
      },
    });
  });
  it('lets extraHard override an object limit', () => {
    const rq = resourceQuotaFor({ ...micro, extraHard: { 'services.loadbalancers': '1', pods: '10' } }, 'ns1', {}) as { spec: { hard: Record<string, string> } };
    expect(rq.spec.hard).toMatchObject({ 'services.loadbalancers': '1', pods: '10', services: '5' });
  });
  it('gives no built-in tier a LoadBalancer or NodePort, and more of everything to bigger tiers', () => {
    expect(DEFAULT_TIERS.map((t) => [t.name, t.objects])).toEqual([
      ['micro', { storage: '5Gi', persistentVolumeClaims: 4, services: 5, loadBalancers: 0, nodePorts: 0 }],
      ['small', { storage: '20Gi', persistentVolumeClaims: 8, services: 10, loadBalancers: 0, nodePorts: 0 }],
      ['large', { storage: '100Gi', persistentVolumeClaims: 20, services: 20, loadBalancers: 0, nodePorts: 0 }],
    ]);
  });
  it('turns a tier into a LimitRange with container defaults and the tier as max', () => {
    const lr = limitRangeFor(micro, 'ns1', {}) as { spec: { limits: Array<Record<string, unknown>> } };
    expect(lr.spec.limits[0]).toEqual({
      type: 'Container',
      default: { cpu: '250m', memory: '256Mi' },
      defaultRequest: { cpu: '50m', memory: '64Mi' },
      max: { cpu: '500m', memory: '1Gi' },
    });
  });
  it('has the documented sizes', () => {
    expect(DEFAULT_TIERS.map((t) => [t.name, t.quota.cpu, t.quota.memory])).toEqual([
      ['micro', '500m', '1Gi'],
      ['small', '2', '4Gi'],
      ['large', '8', '16Gi'],
    ]);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guardrailsConfig } from '../../../src/config/guardrails.ts';
import { DEFAULT_TIER_OBJECTS } from '../../../src/domain/tiers.ts';

describe('guardrailsConfig', () => {
  it('has safe defaults', () => {
    const c = guardrailsConfig({});
    expect(c.tiers.map((t) => t.name)).toEqual(['micro', 'small', 'large']);
    expect(c).toMatchObject({ defaultTier: 'small', ingressNamespace: 'ingress-nginx', allowedKinds: [], allowedClusterRoles: [], lifecycleSchedule: '* * * * *' });
  });

  it('reads tiers from a YAML file, deriving container defaults', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tiers-')), 'tiers.yaml');
    writeFileSync(file, 'tiers:\n  - { name: tiny, cpu: 200m, memory: 512Mi }\n  - { name: big, cpu: 4, memory: 8Gi, storage: 200Gi, persistentVolumeClaims: 30, services: 40, loadBalancers: 2, nodePorts: 1, extraHard: { pods: 50 } }\n');
    const c = guardrailsConfig({ CAELUS_TIERS_FILE: file, CAELUS_DEFAULT_TIER: 'tiny' });
    expect(c.tiers).toEqual([
      { name: 'tiny', quota: { cpu: '200m', memory: '512Mi' }, defaultLimit: { cpu: '50m', memory: '128Mi' }, defaultRequest: { cpu: '20m', memory: '51Mi' }, objects: DEFAULT_TIER_OBJECTS },
      { name: 'big', quota: { cpu: '4', memory: '8Gi' }, defaultLimit: { cpu: '1000m', memory: '2048Mi' }, defaultRequest: { cpu: '400m', memory: '819Mi' }, objects: { storage: '200Gi', persistentVolumeClaims: 30, services: 40, loadBalancers: 2, nodePorts: 1 }, extraHard: { pods: '50' } },
    ]);
    expect(c.defaultTier).toBe('tiny');
  });

  it('reads tiers from JSON in CAELUS_TIERS and lists from comma-separated env', () => {
    const c = guardrailsConfig({
      CAELUS_TIERS: '[{"name":"one","cpu":"1","memory":"1Gi"}]',
      CAELUS_ALLOWED_KINDS: 'ServiceMonitor, monitoring.coreos.com/PodMonitor',
      CAELUS_ALLOWED_CLUSTER_ROLES: 'view,edit',
      CAELUS_INGRESS_NAMESPACE: 'traefik',
      CAELUS_LIFECYCLE_SCHEDULE: '*/5 * * * * *',
    });
    expect(c).toMatchObject({ defaultTier: 'one', ingressNamespace: 'traefik', allowedKinds: ['ServiceMonitor', 'monitoring.coreos.com/PodMonitor'], allowedClusterRoles: ['view', 'edit'], lifecycleSchedule: '*/5 * * * * *' });
  });

  it.each([
    [{ CAELUS_TIERS: '[]' }, 'CAELUS_TIERS: must be a non-empty list'],
    [{ CAELUS_TIERS: '[{"name":"x","cpu":"lots","memory":"1Gi"}]' }, 'cpu must be a Kubernetes quantity'],
    [{ CAELUS_DEFAULT_TIER: 'nope' }, 'CAELUS_DEFAULT_TIER: "nope" is not one of the configured tiers'],
    [{ CAELUS_LIFECYCLE_SCHEDULE: 'soon' }, 'CAELUS_LIFECYCLE_SCHEDULE: "soon" is not a cron expression'],
    [{ CAELUS_ALLOWED_KINDS: 'configmaps' }, 'must look like Kind or group/Kind'],
    [{ CAELUS_TIERS: '[{"name":"x","cpu":"1","memory":"1Gi","storage":"lots"}]' }, 'tiers[0].storage must be a Kubernetes quantity'],
    [{ CAELUS_TIERS: '[{"name":"x","cpu":"1","memory":"1Gi","loadBalancers":-1}]' }, 'tiers[0].loadBalancers must be a whole number'],
    [{ CAELUS_TIERS: '[{"name":"x","cpu":"1","memory":"1Gi","services":"10"}]' }, 'tiers[0].services must be a whole number'],
    [{ CAELUS_TIERS_FILE: '/nonexistent/tiers.yaml' }, 'cannot read /nonexistent/tiers.yaml'],
  ])('names the bad setting: %j', (env, message) => {
    expect(() => guardrailsConfig(env)).toThrow(message);
  });
});

// The NetworkPolicies of an instance namespace, judged as a CNI would judge
// them (test/support/network-policy.ts): egress is denied by default; only
// DNS, the own namespace and what the template version declares get out.
import { networkPolicies } from '../../../src/operator/steps/guardrails.ts';
import { egressAllowed, egressVerdict, type Destination, type PolicyLike } from '../../support/network-policy.ts';

const ns = 'tenant-a';
const dns = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };
const pod = { namespace: ns, podLabels: { app: 'web' } };
const policies = (egressRules?: Record<string, unknown>[]) =>
  networkPolicies(ns, { 'caelus.io/instance': ns }, { ingressNamespace: 'ingress-nginx', dns, egressRules }) as PolicyLike[];
const podIn = (namespace: string, labels: Record<string, string>, port: number, protocol: 'TCP' | 'UDP' = 'TCP'): Destination => ({
  pod: { namespace, namespaceLabels: { 'kubernetes.io/metadata.name': namespace }, labels },
  port,
  protocol,
});

describe('tenant egress (issue 14 point 7)', () => {
  it.each<[string, Destination]>([
    ['the kube-apiserver service address', { ip: '10.0.0.1', port: 443 }],
    ['the kube-apiserver host address', { ip: '127.0.0.1', port: 6443 }],
    ['PostgreSQL', { ip: '127.0.0.1', port: 5432 }],
    ['PostgreSQL on a cluster address', { ip: '10.0.12.7', port: 5432 }],
    ['the cloud metadata address', { ip: '169.254.169.254', port: 80 }],
    ['the internet', { ip: '203.0.113.9', port: 443 }],
    ['the Caelus API pod', podIn('caelus-system', { 'app.kubernetes.io/component': 'api' }, 8080)],
    ["another tenant's pod", podIn('tenant-b', { app: 'web' }, 80)],
    ['kube-dns on a port other than 53', podIn('kube-system', { 'k8s-app': 'kube-dns' }, 9153)],
    ['another kube-system pod on port 53', podIn('kube-system', { component: 'etcd' }, 53, 'UDP')],
  ])('denies %s', (_what, dest) => {
    expect(egressVerdict(policies(), pod, dest)).toEqual({ isolated: true, allowedBy: [] });
  });

  it.each<[string, Destination, string]>([
    ['DNS over UDP', podIn('kube-system', { 'k8s-app': 'kube-dns' }, 53, 'UDP'), 'caelus-allow-dns'],
    ['DNS over TCP', podIn('kube-system', { 'k8s-app': 'kube-dns' }, 53, 'TCP'), 'caelus-allow-dns'],
    ['a pod of its own namespace, any port', podIn(ns, { app: 'redis' }, 6379), 'caelus-allow-same-namespace'],
  ])('allows %s', (_what, dest, by) => {
    expect(egressVerdict(policies(), pod, dest)).toEqual({ isolated: true, allowedBy: [by] });
  });

  it("allows exactly the template version's declared egress, nothing more", () => {
    const withRules = policies([{ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] }]);
    expect(egressVerdict(withRules, pod, { ip: '203.0.113.9', port: 443 })).toEqual({ isolated: true, allowedBy: ['caelus-template-egress'] });
    expect(egressAllowed(withRules, pod, { ip: '203.0.113.9', port: 80 })).toBe(false);
    expect(egressAllowed(withRules, pod, { ip: '169.254.169.254', port: 443 })).toBe(false);
    expect(egressAllowed(withRules, pod, { ip: '10.0.0.1', port: 443 })).toBe(false);
  });

  it('judges a namespace without policies as open (the evaluator can say yes)', () => {
    expect(egressVerdict([], pod, { ip: '10.0.0.1', port: 443 })).toEqual({ isolated: false, allowedBy: [] });
    expect(egressAllowed([], pod, { ip: '10.0.0.1', port: 443 })).toBe(true);
  });

  it('keeps ingress default-deny with the same-namespace and ingress-controller allows', () => {
    const byName = Object.fromEntries(policies().map((p) => [p.metadata!.name, p.spec]));
    expect(byName['caelus-default-deny']).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(byName['caelus-allow-same-namespace']).toMatchObject({ ingress: [{ from: [{ podSelector: {} }] }], egress: [{ to: [{ podSelector: {} }] }] });
    expect(Object.keys(byName).sort()).toEqual(['caelus-allow-dns', 'caelus-allow-ingress-controller', 'caelus-allow-same-namespace', 'caelus-default-deny']);
  });
});

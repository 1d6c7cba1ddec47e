// Decides, from NetworkPolicy objects alone, whether a pod may open a
// connection to a destination — the semantics of networking.k8s.io/v1 as a
// CNI enforces them (policies are additive; a pod selected by any policy with
// policyType Egress may only reach what one of their rules allows). No CNI
// runs in the test control plane, so the tests assert the policies' content
// through this.
import { BlockList, isIPv4 } from 'node:net';

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}
interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface Port {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}
interface EgressRule {
  to?: Peer[];
  ports?: Port[];
}
export interface PolicyLike {
  metadata?: { name?: string; namespace?: string };
  spec?: { podSelector?: LabelSelector; policyTypes?: string[]; egress?: EgressRule[]; ingress?: unknown[] };
}

export interface Source {
  namespace: string;
  podLabels: Record<string, string>;
}

/** A pod (namespace with its labels, pod labels) or a plain address outside the pod network. */
export type Destination =
  | { pod: { namespace: string; namespaceLabels: Record<string, string>; labels: Record<string, string> }; port: number; protocol?: 'TCP' | 'UDP' }
  | { ip: string; port: number; protocol?: 'TCP' | 'UDP' };

export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const ok =
      e.operator === 'In' ? has && (e.values ?? []).includes(value!)
      : e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(value!)
      : e.operator === 'Exists' ? has
      : e.operator === 'DoesNotExist' ? !has
      : false;
    if (!ok) return false;
  }
  return true;
}

function inBlock(ip: string, block: { cidr: string; except?: string[] }): boolean {
  const family = isIPv4(ip) ? 'ipv4' : 'ipv6';
  const add = (list: BlockList, cidr: string): boolean => {
    const [net, bits] = cidr.split('/');
    const netFamily = isIPv4(net!) ? 'ipv4' : 'ipv6';
    if (netFamily !== family) return false;
    list.addSubnet(net!, Number(bits), netFamily);
    return true;
  };
  const inside = new BlockList();
  if (!add(inside, block.cidr) || !inside.check(ip, family)) return false;
  const except = new BlockList();
  const any = (block.except ?? []).map((c) => add(except, c)).some(Boolean);
  return !(any && except.check(ip, family));
}

function peerMatches(peer: Peer, policyNamespace: string, dest: Destination): boolean {
  if (peer.ipBlock) return 'ip' in dest && inBlock(dest.ip, peer.ipBlock);
  if (!('pod' in dest)) return false;
  const { pod } = dest;
  if (peer.namespaceSelector) {
    if (!selects(peer.namespaceSelector, pod.namespaceLabels)) return false;
  } else if (pod.namespace !== policyNamespace) {
    return false;
  }
  return selects(peer.podSelector, pod.labels);
}

function portMatches(ports: Port[] | undefined, dest: Destination): boolean {
  if (!ports || ports.length === 0) return true;
  const protocol = dest.protocol ?? 'TCP';
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    // Named ports resolve against the destination pod's container ports, which these tests never declare.
    if (typeof p.port === 'string') return false;
    return p.endPort === undefined ? dest.port === p.port : dest.port >= p.port && dest.port <= p.endPort;
  });
}

/** The names of the policies whose rules allow this connection; [] = denied. `isolated` false = no policy restricts egress at all. */
export function egressVerdict(policies: readonly PolicyLike[], from: Source, dest: Destination): { isolated: boolean; allowedBy: string[] } {
  const applying = policies.filter(
    (p) => p.metadata?.namespace === from.namespace && (p.spec?.policyTypes ?? []).includes('Egress') && selects(p.spec?.podSelector, from.podLabels),
  );
  const allowedBy = applying
    .filter((p) => (p.spec?.egress ?? []).some((rule) => portMatches(rule.ports, dest) && (!rule.to || rule.to.length === 0 || rule.to.some((peer) => peerMatches(peer, from.namespace, dest)))))
    .map((p) => p.metadata?.name ?? '?');
  return { isolated: applying.length > 0, allowedBy };
}

export function egressAllowed(policies: readonly PolicyLike[], from: Source, dest: Destination): boolean {
  const v = egressVerdict(policies, from, dest);
  return !v.isolated || v.allowedBy.length > 0;
}

// The naming rules the API applies (src/domain/naming.ts) and the ones the
// CaelusInstance CRD applies (crds/caelusinstance.yaml) are one rule: this
// test reads the CRD and holds them together.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  DNS_LABEL_SOURCE,
  DOMAIN_SOURCE,
  SYSTEM_NAMESPACES,
  SYSTEM_NAMESPACE_PREFIX,
  domainAllowed,
  generateNamespace,
  isSystemNamespace,
  namespaceProblem,
} from '../../../src/domain/naming.ts';
import { parseVersionRef } from '../../../src/domain/version-ref.ts';

interface PropSchema {
  pattern?: string;
  maxLength?: number;
  'x-kubernetes-validations'?: Array<{ rule: string; message: string }>;
}
const crd = parse(readFileSync(new URL('../../../crds/caelusinstance.yaml', import.meta.url), 'utf8')) as {
  spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, PropSchema> } } } } }> };
};
const specProps = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties;

/** The CEL rule `!(self in [a, b]) && !self.startsWith(p)` as data. */
function celSystemNamespaces(rule: string): { names: string[]; prefix: string } {
  const m = /^!\(self in \[([^\]]*)\]\) && !self\.startsWith\('([^']*)'\)$/.exec(rule.trim());
  if (!m) throw new Error(`the CRD's namespace rule changed shape; update src/domain/naming.ts and this parser together: ${rule}`);
  return { names: [...m[1]!.matchAll(/'([^']*)'/g)].map((x) => x[1]!), prefix: m[2]! };
}

test("the CRD's spec.namespace rule is the system-namespace rule the API applies", () => {
  const ns = specProps['namespace']!;
  expect(ns.pattern).toBe(`^${DNS_LABEL_SOURCE}$`);
  const rules = ns['x-kubernetes-validations'] ?? [];
  expect(rules).toHaveLength(1);
  const cel = celSystemNamespaces(rules[0]!.rule);
  expect(cel.names).toEqual([...SYSTEM_NAMESPACES]);
  expect(cel.prefix).toBe(SYSTEM_NAMESPACE_PREFIX);
  const celRefuses = (name: string) => cel.names.includes(name) || name.startsWith(cel.prefix);
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'kube-x', 'kube', 'kubeflow', 'alice-1234', 'defaults']) {
    expect({ name, refused: isSystemNamespace(name) }).toEqual({ name, refused: celRefuses(name) });
  }
});

test("the CRD's spec.domainName pattern is the API's DOMAIN", () => {
  expect(specProps['domainName']!.pattern).toBe(`^${DOMAIN_SOURCE}$`);
  expect(specProps['domainName']!.maxLength).toBe(253);
});

test('generated namespaces are DNS labels of at most 53 characters that the CRD accepts, also for kube… user ids', () => {
  for (const user of ['kube', 'kube-system', 'KUBE-admin', 'kube-', 'default', '', '---', 'alice', 'kubeflow']) {
    const ns = generateNamespace(user, () => 'abcd1234');
    expect({ user, problem: namespaceProblem(ns) }).toEqual({ user, problem: undefined });
  }
  expect(generateNamespace('kube-system', () => 'abcd1234')).toBe('u-kube-system-abcd1234');
  expect(generateNamespace('kubeflow', () => 'abcd1234')).toBe('kubeflow-abcd1234');
  expect(namespaceProblem('kube-system')).toMatch(/system namespace/);
  expect(namespaceProblem('default')).toMatch(/system namespace/);
  expect(namespaceProblem('a'.repeat(54))).toMatch(/53/);
});

test.each([
  ['shop.apps.example.com', ['*.apps.example.com'], 'alice', true],
  ['apps.example.com', ['*.apps.example.com'], 'alice', false],
  ['a.b.apps.example.com', ['*.apps.example.com'], 'alice', false],
  ['evilapps.example.com', ['*.apps.example.com'], 'alice', false],
  ['alice.dev.example.com', ['{userId}.dev.example.com'], 'Alice', true],
  ['bob.dev.example.com', ['{userId}.dev.example.com'], 'alice', false],
  ['x.alice.dev.example.com', ['*.{userId}.dev.example.com'], 'alice', true],
  // A user id that is no DNS label cannot be substituted into a host: nothing matches.
  ['a.b.dev.example.com', ['{userId}.dev.example.com'], 'a.b', false],
  ['exact.example.com', ['exact.example.com'], 'alice', true],
  ['*.apps.example.com', ['*.apps.example.com'], 'alice', false],
])('domainAllowed(%s, %j, %s) = %s', (domain, suffixes, user, want) => {
  expect(domainAllowed(domain, suffixes, user)).toBe(want);
});

test('version references: uuid or name@version, parsed once', () => {
  expect(parseVersionRef('webapp@1.2.0')).toEqual({ kind: 'name', templateName: 'webapp', version: '1.2.0' });
  expect(parseVersionRef('0b8f6a9e-34f5-4d7e-9f59-7d1c1d3c2b1a')).toEqual({ kind: 'id', id: '0b8f6a9e-34f5-4d7e-9f59-7d1c1d3c2b1a' });
  expect(parseVersionRef('Web App@1')).toBeUndefined();
  expect(parseVersionRef('webapp@')).toBeUndefined();
  expect(parseVersionRef('')).toBeUndefined();
});

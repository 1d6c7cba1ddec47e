// Naming rules shared by every writer of an instance: the REST API (request
// schemas and defaults), the database layer (input checks) and the
// CaelusInstance CRD (crds/caelusinstance.yaml, whose pattern and CEL rule a
// unit test compares with these). One rule, one place.
/** DNS-1123 label: namespaces, template names. */
export const DNS_LABEL_SOURCE = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
export const DNS_LABEL = new RegExp(`^${DNS_LABEL_SOURCE}$`);

/**
 * A host name an instance is served under: lower-case DNS labels separated by
 * dots, at most 253 characters. No wildcards, no trailing dot: it names one
 * host, and it is what the chart renders into its Ingress.
 */
export const DOMAIN_SOURCE = `(${DNS_LABEL_SOURCE}\\.)*${DNS_LABEL_SOURCE}`;
export const DOMAIN = new RegExp(`^(?=.{1,253}$)${DOMAIN_SOURCE}$`);
export const MAX_DOMAIN = 253;

/** Namespaces also name the CaelusInstance and the Helm release: Helm caps release names at 53. */
export const MAX_INSTANCE_NAME = 53;

/**
 * Namespaces Kubernetes itself uses (and `kube-*`, reserved for it): an
 * instance may never own one. The CRD's CEL rule on spec.namespace says the
 * same (test/unit/naming-crd.test.ts holds them together).
 */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;
export const SYSTEM_NAMESPACE_PREFIX = 'kube-';

export function isSystemNamespace(name: string): boolean {
  return (SYSTEM_NAMESPACES as readonly string[]).includes(name) || name.startsWith(SYSTEM_NAMESPACE_PREFIX);
}

/** Why `name` cannot be an instance namespace, or undefined when it can. */
export function namespaceProblem(name: string): string | undefined {
  if (name.length > MAX_INSTANCE_NAME) return `must be at most ${MAX_INSTANCE_NAME} characters (it names the Helm release)`;
  if (!DNS_LABEL.test(name)) return 'must be a DNS label: lower-case letters, digits and "-", starting and ending alphanumeric';
  if (isSystemNamespace(name)) return `must not be a Kubernetes system namespace (${SYSTEM_NAMESPACES.join(', ')} or ${SYSTEM_NAMESPACE_PREFIX}*)`;
  return undefined;
}

const SUFFIX_HEX = 8;

/**
 * Default namespace of a new instance. It starts with the user id so an
 * operator looking at `kubectl get ns` can tell whose it is, and ends with a
 * random suffix so one user's instances never collide. A stem the CRD would
 * refuse (`kube-…`, `default`) gets a `u-` prefix, so every generated name is
 * one the CRD accepts.
 */
export function generateNamespace(userId: string, random: () => string = randomHex): string {
  const suffix = random();
  const room = MAX_INSTANCE_NAME - suffix.length - 1;
  let stem = userId
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '');
  if (stem === '' || isSystemNamespace(`${stem.slice(0, room)}-${suffix}`)) stem = `u-${stem}`;
  stem = stem.slice(0, room).replace(/-+$/g, '');
  return `${stem || 'u'}-${suffix}`;
}

/**
 * A domain suffix pattern a template version declares: a host name in which
 * `{userId}` stands for the owner's user id, optionally starting with `*.`
 * (exactly one more DNS label in front, like a wildcard certificate).
 */
export const DOMAIN_SUFFIX_PATTERN = /^(\*\.)?(([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?|\{userId\})\.)*([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?|\{userId\})$/;

/**
 * Whether `domain` falls under one of `suffixes` for the instance owner
 * `userId`. `{userId}` is replaced by the user id in lower case; a user id
 * that is not a DNS label makes that pattern match nothing, so no other
 * tenant's name can be forged through it.
 */
export function domainAllowed(domain: string, suffixes: readonly string[], userId: string): boolean {
  if (!DOMAIN.test(domain)) return false;
  const user = userId.toLowerCase();
  const userIsLabel = DNS_LABEL.test(user);
  return suffixes.some((pattern) => {
    if (pattern.includes('{userId}') && !userIsLabel) return false;
    const host = pattern.replaceAll('{userId}', user);
    if (!host.startsWith('*.')) return domain === host;
    const parent = host.slice(1); // ".apps.example.com"
    return domain.endsWith(parent) && DNS_LABEL.test(domain.slice(0, -parent.length));
  });
}

// Web Crypto rather than node:crypto: the domain's rules are also read by the console's type check (ui/src/types.ts).
function randomHex(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(SUFFIX_HEX / 2)), (b) => b.toString(16).padStart(2, '0')).join('');
}

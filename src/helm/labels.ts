// Kubernetes label syntax, checked before labels reach helm's command line or
// the post-renderer: a label that the API server would reject must fail here,
// with a message naming it, instead of as an opaque helm error mid-upgrade.
// The same checks also guarantee that a label can never smuggle shell or
// Helm plugin `$VAR` expansion syntax into an argument.

const NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Returns why `key` is not a valid label key, or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key ${JSON.stringify(key)}: prefix must be a DNS subdomain of at most 253 characters`;
  }
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) {
    return `label key ${JSON.stringify(key)}: name must be 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric`;
  }
  return undefined;
}

/** Returns why `value` is not a valid label value, or undefined when it is. */
export function labelValueProblem(key: string, value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME.test(value)) {
    return `label ${key}: value ${JSON.stringify(value)} must be at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric`;
  }
  return undefined;
}

/** Throws a TypeError listing every invalid label (a caller bug, not a helm failure). */
export function assertValidLabels(labels: Readonly<Record<string, string>>): void {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    const p = labelKeyProblem(k) ?? labelValueProblem(k, v);
    if (p) problems.push(p);
  }
  if (problems.length > 0) throw new TypeError(`invalid labels: ${problems.join('; ')}`);
}

/** `key=value` arguments in a stable order (so identical labels give identical argv). */
export function labelsToArgs(labels: Readonly<Record<string, string>>): string[] {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
}

/** Inverse of labelsToArgs; validates, since the post-renderer trusts nothing on its argv. */
export function labelsFromArgs(args: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new TypeError(`expected key=value, got ${JSON.stringify(arg)}`);
    labels[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  assertValidLabels(labels);
  return labels;
}

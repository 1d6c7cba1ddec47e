// Tenant guardrail and lifecycle settings from the environment, validated once
// at start: resource tiers, the ingress controller's namespace, the kinds a
// tenant chart may render, and the lifecycle job schedule.
import { readFileSync } from 'node:fs';
import cron from 'node-cron';
import { parse } from 'yaml';
import { DEFAULT_TIERS, DEFAULT_TIER_NAME, DEFAULT_TIER_OBJECTS, type ContainerResources, type Tier, type TierObjects } from '../domain/tiers.ts';
import { ConfigError } from './errors.ts';

export interface GuardrailsConfig {
  tiers: readonly Tier[];
  /** Tier of template versions that name none. */
  defaultTier: string;
  /** Namespace of the ingress controller, allowed to reach every instance (matched by kubernetes.io/metadata.name). */
  ingressNamespace: string;
  /** The cluster DNS pods tenant pods may query (UDP/TCP 53); all other egress is denied unless a template allows it. */
  dns: { namespace: string; podLabels: Record<string, string> };
  /** Kinds beyond the built-in allow-list (`Kind` or `group/Kind`). */
  allowedKinds: readonly string[];
  /** ClusterRoles a chart's RoleBinding may reference. */
  allowedClusterRoles: readonly string[];
  /** node-cron expression of the TTL/idle job (5 fields, or 6 with seconds). */
  lifecycleSchedule: string;
}

export const GUARDRAILS_ENV = {
  tiersFile: 'CAELUS_TIERS_FILE',
  tiers: 'CAELUS_TIERS',
  defaultTier: 'CAELUS_DEFAULT_TIER',
  ingressNamespace: 'CAELUS_INGRESS_NAMESPACE',
  dnsNamespace: 'CAELUS_DNS_NAMESPACE',
  dnsPodLabels: 'CAELUS_DNS_POD_LABELS',
  allowedKinds: 'CAELUS_ALLOWED_KINDS',
  allowedClusterRoles: 'CAELUS_ALLOWED_CLUSTER_ROLES',
  lifecycleSchedule: 'CAELUS_LIFECYCLE_SCHEDULE',
} as const;

type Env = Record<string, string | undefined>;

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// A Kubernetes quantity: digits with an optional decimal part and suffix (m, Ki, Mi, Gi, k, M, G, …).
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function resources(setting: string, where: string, raw: unknown): ContainerResources {
  if (!isObject(raw)) throw new ConfigError(setting, `${where} must be a map with cpu and memory`);
  const out: Record<string, string> = {};
  for (const key of ['cpu', 'memory'] as const) {
    const v = raw[key];
    const text = typeof v === 'number' ? String(v) : v;
    if (typeof text !== 'string' || !QUANTITY.test(text)) throw new ConfigError(setting, `${where}.${key} must be a Kubernetes quantity such as 500m or 1Gi`);
    out[key] = text;
  }
  return { cpu: out['cpu']!, memory: out['memory']! };
}

function objectLimits(setting: string, where: string, t: Record<string, unknown>): TierObjects {
  const storage = t['storage'] ?? DEFAULT_TIER_OBJECTS.storage;
  if (typeof storage !== 'string' || !QUANTITY.test(storage)) throw new ConfigError(setting, `${where}.storage must be a Kubernetes quantity such as 10Gi`);
  const count = (key: Exclude<keyof TierObjects, 'storage'>): number => {
    const v = t[key] ?? DEFAULT_TIER_OBJECTS[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigError(setting, `${where}.${key} must be a whole number (0 or more)`);
    return v;
  };
  return {
    storage,
    persistentVolumeClaims: count('persistentVolumeClaims'),
    services: count('services'),
    loadBalancers: count('loadBalancers'),
    nodePorts: count('nodePorts'),
  };
}

/**
 * Tiers file/JSON shape: a list (or `{ tiers: [...] }`) of
 * `{ name, cpu, memory, defaultLimit?: {cpu, memory}, defaultRequest?: {cpu, memory},
 *    storage?, persistentVolumeClaims?, services?, loadBalancers?, nodePorts?, extraHard?: {…} }`.
 * Container defaults left out are a quarter (limit) and a tenth (request) of
 * the tier, and object limits left out are DEFAULT_TIER_OBJECTS, so a short
 * file only needs name, cpu and memory.
 */
export function parseTiers(setting: string, doc: unknown): Tier[] {
  const list = isObject(doc) && Array.isArray(doc['tiers']) ? doc['tiers'] : doc;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(setting, 'must be a non-empty list of tiers');
  const tiers: Tier[] = [];
  list.forEach((t: unknown, i) => {
    const where = `tiers[${i}]`;
    if (!isObject(t)) throw new ConfigError(setting, `${where} must be a map`);
    const name = t['name'];
    if (typeof name !== 'string' || !NAME.test(name)) throw new ConfigError(setting, `${where}.name must be a DNS label such as small`);
    if (tiers.some((x) => x.name === name)) throw new ConfigError(setting, `tier "${name}" is listed twice`);
    const quota = resources(setting, where, { cpu: t['cpu'], memory: t['memory'] });
    const defaultLimit = t['defaultLimit'] === undefined ? scaled(quota, 4) : resources(setting, `${where}.defaultLimit`, t['defaultLimit']);
    const defaultRequest = t['defaultRequest'] === undefined ? scaled(quota, 10) : resources(setting, `${where}.defaultRequest`, t['defaultRequest']);
    const extra = t['extraHard'];
    if (extra !== undefined && !(isObject(extra) && Object.values(extra).every((v) => typeof v === 'string' || typeof v === 'number'))) {
      throw new ConfigError(setting, `${where}.extraHard must map ResourceQuota resource names to quantities`);
    }
    tiers.push({
      name,
      quota,
      defaultLimit,
      defaultRequest,
      objects: objectLimits(setting, where, t),
      ...(extra ? { extraHard: Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, String(v)])) } : {}),
    });
  });
  return tiers;
}

/** quantity / divisor in millicores or MiB, so the defaults always fit the tier. */
function scaled(q: ContainerResources, divisor: number): ContainerResources {
  return { cpu: `${Math.max(1, Math.floor(millicores(q.cpu) / divisor))}m`, memory: `${Math.max(1, Math.floor(mebibytes(q.memory) / divisor))}Mi` };
}

function millicores(cpu: string): number {
  return cpu.endsWith('m') ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000;
}

const BINARY: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 ** 2, Pi: 1024 ** 3, Ei: 1024 ** 4 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
function mebibytes(memory: string): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(memory)!;
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (suffix in BINARY) return n * BINARY[suffix]!;
  if (suffix in DECIMAL) return (n * DECIMAL[suffix]!) / 1024 ** 2;
  if (suffix === 'm') return n / 1000 / 1024 ** 2;
  return n / 1024 ** 2;
}

function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

// A label key (optional DNS-subdomain prefix) and value as Kubernetes allows them.
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** `k=v,k2=v2` → a non-empty label map. */
function labelMap(setting: string, raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of list(raw)) {
    const eq = pair.indexOf('=');
    const [k, v] = eq < 0 ? [pair, undefined] : [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
    if (v === undefined || !LABEL_KEY.test(k) || !LABEL_VALUE.test(v)) throw new ConfigError(setting, `"${pair}" must be key=value with a valid label key and value`);
    out[k] = v;
  }
  if (Object.keys(out).length === 0) throw new ConfigError(setting, 'must name at least one label (key=value)');
  return out;
}

function loadTiers(env: Env): Tier[] {
  const file = env[GUARDRAILS_ENV.tiersFile];
  const inline = env[GUARDRAILS_ENV.tiers];
  if (file && inline) throw new ConfigError(GUARDRAILS_ENV.tiers, `set either ${GUARDRAILS_ENV.tiersFile} or ${GUARDRAILS_ENV.tiers}, not both`);
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(GUARDRAILS_ENV.tiersFile, `cannot read ${file}: ${(err as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (err) {
      throw new ConfigError(GUARDRAILS_ENV.tiersFile, `${file} is not valid YAML/JSON: ${(err as Error).message}`);
    }
    return parseTiers(`${GUARDRAILS_ENV.tiersFile} (${file})`, doc);
  }
  if (inline) {
    let doc: unknown;
    try {
      doc = JSON.parse(inline);
    } catch (err) {
      throw new ConfigError(GUARDRAILS_ENV.tiers, `is not valid JSON: ${(err as Error).message}`);
    }
    return parseTiers(GUARDRAILS_ENV.tiers, doc);
  }
  return DEFAULT_TIERS.map((t) => ({ ...t, objects: { ...t.objects } }));
}

export function guardrailsConfig(env: Env = process.env): GuardrailsConfig {
  const tiers = loadTiers(env);
  const defaultTier = env[GUARDRAILS_ENV.defaultTier] || (tiers.some((t) => t.name === DEFAULT_TIER_NAME) ? DEFAULT_TIER_NAME : tiers[0]!.name);
  if (!tiers.some((t) => t.name === defaultTier)) {
    throw new ConfigError(GUARDRAILS_ENV.defaultTier, `"${defaultTier}" is not one of the configured tiers (${tiers.map((t) => t.name).join(', ')})`);
  }
  const ingressNamespace = env[GUARDRAILS_ENV.ingressNamespace] || 'ingress-nginx';
  if (!NAME.test(ingressNamespace)) throw new ConfigError(GUARDRAILS_ENV.ingressNamespace, 'must be a namespace name');
  const dnsNamespace = env[GUARDRAILS_ENV.dnsNamespace] || 'kube-system';
  if (!NAME.test(dnsNamespace)) throw new ConfigError(GUARDRAILS_ENV.dnsNamespace, 'must be a namespace name');
  const dnsPodLabels = labelMap(GUARDRAILS_ENV.dnsPodLabels, env[GUARDRAILS_ENV.dnsPodLabels] || 'k8s-app=kube-dns');
  const allowedKinds = list(env[GUARDRAILS_ENV.allowedKinds]);
  for (const k of allowedKinds) {
    if (!/^([a-z0-9.-]+\/)?[A-Z][A-Za-z0-9]*$/.test(k)) throw new ConfigError(GUARDRAILS_ENV.allowedKinds, `"${k}" must look like Kind or group/Kind`);
  }
  const lifecycleSchedule = env[GUARDRAILS_ENV.lifecycleSchedule] || '* * * * *';
  if (!cron.validate(lifecycleSchedule)) throw new ConfigError(GUARDRAILS_ENV.lifecycleSchedule, `"${lifecycleSchedule}" is not a cron expression`);
  return {
    tiers,
    defaultTier,
    ingressNamespace,
    dns: { namespace: dnsNamespace, podLabels: dnsPodLabels },
    allowedKinds,
    allowedClusterRoles: list(env[GUARDRAILS_ENV.allowedClusterRoles]),
    lifecycleSchedule,
  };
}

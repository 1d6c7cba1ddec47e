// A TemplateCatalog read from a YAML/JSON file: the product templates of a
// GitOps-only install (no database), chosen with `caelus operator --catalog`.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { isPodSecurityLevel, type ChartReference, type ResolvedTemplateVersion, type TemplateCatalog } from '../domain/catalog.ts';
import { digestOf } from '../domain/digest.ts';
import { DOMAIN_SUFFIX_PATTERN } from '../domain/naming.ts';
import { parseVersionRef } from '../domain/version-ref.ts';
import { parseChartReference } from '../db/chart-reference.ts';

/**
 * File shape:
 * ```yaml
 * templates:
 *   - name: webapp
 *     versions:
 *       - version: 1.0.0
 *         chart: ./charts/webapp          # local dir/.tgz (relative to this file), oci://…, or https://repo#chart
 *         chartVersion: 1.0.0              # optional
 *         tier: small                      # optional
 *         allowedTiers: [micro, large]     # optional: what spec.tier may pick besides tier
 *         podSecurity: baseline            # optional: restricted (default) or baseline
 *         domainSuffixes: ["*.apps.example.com", "{userId}.dev.example.com"]  # optional: hosts instances may use
 *         networkRules:                    # optional: extra NetworkPolicy ingress rules
 *           - from: [{ namespaceSelector: { matchLabels: { team: monitoring } } }]
 *         egressRules:                     # optional: egress allowed beyond the namespace and DNS
 *           - to: [{ ipBlock: { cidr: 203.0.113.0/24 } }]
 *             ports: [{ port: 443, protocol: TCP }]
 *         defaultValues: { replicaCount: 1 }
 *         valuesSchema: { type: object }   # optional
 * ```
 */
export class CatalogFileError extends Error {
  override readonly name = 'CatalogFileError';
  readonly file: string;
  constructor(file: string, message: string, cause?: unknown) {
    super(`catalog ${file}: ${message}`, { cause });
    this.file = file;
  }
}

interface FileVersion {
  version?: unknown;
  id?: unknown;
  chart?: unknown;
  chartVersion?: unknown;
  tier?: unknown;
  allowedTiers?: unknown;
  podSecurity?: unknown;
  networkRules?: unknown;
  egressRules?: unknown;
  domainSuffixes?: unknown;
  defaultValues?: unknown;
  valuesSchema?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(file: string, where: string, v: unknown, required: true): string;
function str(file: string, where: string, v: unknown, required: false): string | undefined;
function str(file: string, where: string, v: unknown, required: boolean): string | undefined {
  if (v === undefined || v === null) {
    if (required) throw new CatalogFileError(file, `${where} is required`);
    return undefined;
  }
  if (typeof v !== 'string' && typeof v !== 'number') throw new CatalogFileError(file, `${where} must be a string`);
  return String(v);
}

function chartOf(file: string, where: string, raw: unknown): ChartReference {
  const text = str(file, where, raw, true);
  let ref: ChartReference;
  try {
    ref = parseChartReference(text);
  } catch (err) {
    throw new CatalogFileError(file, `${where}: ${(err as Error).message}`, err);
  }
  if (ref.kind === 'local' && !isAbsolute(ref.path)) ref = { kind: 'local', path: resolve(dirname(file), ref.path) };
  return ref;
}

export function parseCatalog(file: string, text: string): ResolvedTemplateVersion[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new CatalogFileError(file, `not valid YAML/JSON: ${(err as Error).message}`, err);
  }
  if (!isObject(doc) || !Array.isArray(doc['templates'])) throw new CatalogFileError(file, 'must have a top-level "templates" list');
  const out: ResolvedTemplateVersion[] = [];
  doc['templates'].forEach((t: unknown, ti: number) => {
    if (!isObject(t)) throw new CatalogFileError(file, `templates[${ti}] must be a map`);
    const templateName = str(file, `templates[${ti}].name`, t['name'], true);
    if (!Array.isArray(t['versions'])) throw new CatalogFileError(file, `templates[${ti}].versions must be a list`);
    t['versions'].forEach((v: FileVersion, vi: number) => {
      const where = `templates[${ti}].versions[${vi}]`;
      if (!isObject(v)) throw new CatalogFileError(file, `${where} must be a map`);
      const version = str(file, `${where}.version`, v.version, true);
      const defaults = v.defaultValues ?? {};
      if (!isObject(defaults)) throw new CatalogFileError(file, `${where}.defaultValues must be a map`);
      if (v.valuesSchema !== undefined && !isObject(v.valuesSchema)) throw new CatalogFileError(file, `${where}.valuesSchema must be a map`);
      const chartVersion = str(file, `${where}.chartVersion`, v.chartVersion, false);
      const tier = str(file, `${where}.tier`, v.tier, false);
      if (v.podSecurity !== undefined && !isPodSecurityLevel(v.podSecurity)) throw new CatalogFileError(file, `${where}.podSecurity must be restricted or baseline`);
      if (v.allowedTiers !== undefined && !(Array.isArray(v.allowedTiers) && v.allowedTiers.every((t) => typeof t === 'string'))) {
        throw new CatalogFileError(file, `${where}.allowedTiers must be a list of tier names`);
      }
      if (v.domainSuffixes !== undefined && !(Array.isArray(v.domainSuffixes) && v.domainSuffixes.every((d) => typeof d === 'string' && DOMAIN_SUFFIX_PATTERN.test(d)))) {
        throw new CatalogFileError(file, `${where}.domainSuffixes must be a list of host names, optionally starting with "*." and using {userId}`);
      }
      if (v.networkRules !== undefined && !(Array.isArray(v.networkRules) && v.networkRules.every(isObject))) {
        throw new CatalogFileError(file, `${where}.networkRules must be a list of NetworkPolicy ingress rules`);
      }
      if (v.egressRules !== undefined && !(Array.isArray(v.egressRules) && v.egressRules.every(isObject))) {
        throw new CatalogFileError(file, `${where}.egressRules must be a list of NetworkPolicy egress rules`);
      }
      out.push({
        // Stable ids without a database: derived from name@version.
        id: str(file, `${where}.id`, v.id, false) ?? digestOf({ templateName, version }).slice(7, 43),
        templateId: templateName,
        templateName,
        version,
        chart: chartOf(file, `${where}.chart`, v.chart),
        ...(chartVersion ? { chartVersion } : {}),
        defaultValues: defaults,
        ...(v.valuesSchema ? { valuesSchema: v.valuesSchema as Record<string, unknown> } : {}),
        ...(tier ? { tier } : {}),
        ...(v.allowedTiers ? { allowedTiers: v.allowedTiers as string[] } : {}),
        ...(isPodSecurityLevel(v.podSecurity) ? { podSecurity: v.podSecurity } : {}),
        ...(v.networkRules ? { networkRules: v.networkRules as Record<string, unknown>[] } : {}),
        ...(v.egressRules ? { egressRules: v.egressRules as Record<string, unknown>[] } : {}),
        ...(v.domainSuffixes ? { domainSuffixes: v.domainSuffixes as string[] } : {}),
      });
    });
  });
  return out;
}

/** Reads the file once at start; restart the operator (or roll its Deployment) to pick up changes. */
/** The catalog file's absolute path and text; an unreadable file is a CatalogFileError naming it. */
export async function readCatalogFile(file: string): Promise<{ path: string; text: string }> {
  const path = resolve(file);
  try {
    return { path, text: await readFile(path, 'utf8') };
  } catch (err) {
    throw new CatalogFileError(path, `cannot be read: ${(err as Error).message}`, err);
  }
}

export class FileCatalog implements TemplateCatalog {
  readonly #versions: ResolvedTemplateVersion[];

  private constructor(versions: ResolvedTemplateVersion[]) {
    this.#versions = versions;
  }

  static async load(file: string): Promise<FileCatalog> {
    const { path, text } = await readCatalogFile(file);
    return new FileCatalog(parseCatalog(path, text));
  }

  async resolve(ref: string): Promise<ResolvedTemplateVersion | undefined> {
    const parsed = parseVersionRef(ref);
    if (!parsed) return undefined;
    if (parsed.kind === 'id') return this.#versions.find((v) => v.id === parsed.id);
    return this.#versions.find((v) => v.templateName === parsed.templateName && v.version === parsed.version);
  }
}

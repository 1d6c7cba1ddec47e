// Parsers for helm's JSON output. Helm's JSON is not a versioned API, so each
// field we rely on is checked; a shape we do not understand is a
// HelmOutputError naming the verb and the field rather than an `undefined`
// that surfaces three modules later.
import { RELEASE_STATUSES, type ChartInfo, type HelmHistoryEntry, type HelmRelease, type ReleaseStatus } from './types.ts';

export class HelmOutputError extends Error {
  readonly verb: string;
  constructor(verb: string, message: string, cause?: unknown) {
    super(`unexpected output of helm ${verb}: ${message}`, cause === undefined ? undefined : { cause });
    this.name = 'HelmOutputError';
    this.verb = verb;
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(verb: string, stdout: string): unknown {
  try {
    return JSON.parse(stdout) as unknown;
  } catch (err) {
    throw new HelmOutputError(verb, `not JSON (${stdout.slice(0, 80).trim() || 'empty'})`, err);
  }
}

function str(verb: string, o: Json, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new HelmOutputError(verb, `${where}.${key} is not a string`);
  return v;
}

function optStr(o: Json, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function int(verb: string, o: Json, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new HelmOutputError(verb, `${where}.${key} is not an integer`);
  return v;
}

/** Known statuses map to themselves; a status a future helm invents maps to 'unknown' (never a pending one). */
export function toReleaseStatus(s: string): ReleaseStatus {
  return (RELEASE_STATUSES as readonly string[]).includes(s) ? (s as ReleaseStatus) : 'unknown';
}

function values(o: Json, key: string): Record<string, unknown> {
  const v = o[key];
  return isObject(v) ? v : {};
}

function chartInfo(o: Json): ChartInfo | undefined {
  const chart = o['chart'];
  if (!isObject(chart) || !isObject(chart['metadata'])) return undefined;
  const md = chart['metadata'];
  const name = optStr(md, 'name');
  const version = optStr(md, 'version');
  if (!name || !version) return undefined;
  const appVersion = optStr(md, 'appVersion');
  return appVersion ? { name, version, appVersion } : { name, version };
}

/** `helm status -o json` and `helm upgrade -o json` print the same release object. */
export function parseRelease(verb: string, stdout: string): HelmRelease {
  const o = parseJson(verb, stdout);
  if (!isObject(o)) throw new HelmOutputError(verb, 'release is not an object');
  const info = o['info'];
  if (!isObject(info)) throw new HelmOutputError(verb, 'release.info is missing');
  const release: HelmRelease = {
    name: str(verb, o, 'name', 'release'),
    namespace: str(verb, o, 'namespace', 'release'),
    revision: int(verb, o, 'version', 'release'),
    status: toReleaseStatus(str(verb, info, 'status', 'release.info')),
    description: optStr(info, 'description') ?? '',
    manifest: typeof o['manifest'] === 'string' ? o['manifest'] : '',
    values: values(o, 'config'),
  };
  const firstDeployed = optStr(info, 'first_deployed');
  const lastDeployed = optStr(info, 'last_deployed');
  const chart = chartInfo(o);
  if (firstDeployed) release.firstDeployed = firstDeployed;
  if (lastDeployed) release.lastDeployed = lastDeployed;
  if (chart) release.chart = chart;
  return release;
}

/** `helm history -o json`: oldest revision first. */
export function parseHistory(stdout: string): HelmHistoryEntry[] {
  const verb = 'history';
  const arr = parseJson(verb, stdout);
  if (!Array.isArray(arr)) throw new HelmOutputError(verb, 'history is not an array');
  return arr
    .map((e: unknown, i): HelmHistoryEntry => {
      if (!isObject(e)) throw new HelmOutputError(verb, `history[${i}] is not an object`);
      const where = `history[${i}]`;
      return {
        revision: int(verb, e, 'revision', where),
        updated: str(verb, e, 'updated', where),
        status: toReleaseStatus(str(verb, e, 'status', where)),
        chart: str(verb, e, 'chart', where),
        appVersion: optStr(e, 'app_version') ?? '',
        description: optStr(e, 'description') ?? '',
      };
    })
    .sort((a, b) => a.revision - b.revision);
}

/** `helm get values -o json` prints `null` for a release installed without values. */
export function parseValues(stdout: string): Record<string, unknown> {
  const v = parseJson('get values', stdout);
  if (v === null) return {};
  if (!isObject(v)) throw new HelmOutputError('get values', 'values are not an object');
  return v;
}

// `caelus api` settings: flags win over environment variables, which win over
// defaults; validated once at start so a typo fails fast with its name.
import cron from 'node-cron';
import { DOMAIN_SUFFIX_PATTERN } from '../domain/naming.ts';
import { ConfigError } from './errors.ts';

export interface ApiConfig {
  port: number;
  host: string;
  /** Optional: with a kubeconfig, GET /instances/{id} reads conditions and drift live from the CR. */
  kubeconfig: string | undefined;
  /** Default maximum of live instances per user; an admin may override it per user. */
  maxInstancesPerUser: number;
  /** Largest request body accepted, in bytes (larger → 413). */
  bodyLimitBytes: number;
  /** helm binary for the chart check of new template versions. */
  helmBin: string;
  /** Grace for in-flight requests on shutdown before connections are cut. */
  shutdownGraceMs: number;
  /** Idempotency keys are kept (and replayed) at least this long, then purged. */
  idempotencyRetentionHours: number;
  /** node-cron schedule of the purge of expired idempotency keys. */
  idempotencyPurgeSchedule: string;
  /** Domain suffixes tenants may use when a template version declares none (comma-separated); default none. */
  domainSuffixes: string[];
  /** Requests per token per minute (429 beyond); 0 disables request limits. */
  rateLimitPerMinute: number;
  /** Failed authentications per client IP per minute (429 beyond). */
  authFailuresPerMinute: number;
  /** Reverse-proxy hops in front of the API whose X-Forwarded-For is trusted for the client IP (0: none). */
  trustProxyHops: number;
}

export type ApiFlags = Partial<Record<keyof ApiConfig, string | undefined>>;
type Env = Record<string, string | undefined>;

const ENV: Record<keyof ApiConfig, string> = {
  port: 'CAELUS_API_PORT',
  host: 'CAELUS_API_HOST',
  kubeconfig: 'KUBECONFIG',
  maxInstancesPerUser: 'CAELUS_MAX_INSTANCES_PER_USER',
  bodyLimitBytes: 'CAELUS_API_BODY_LIMIT_BYTES',
  helmBin: 'HELM_BIN',
  shutdownGraceMs: 'CAELUS_API_SHUTDOWN_GRACE_MS',
  idempotencyRetentionHours: 'CAELUS_API_IDEMPOTENCY_RETENTION_HOURS',
  idempotencyPurgeSchedule: 'CAELUS_API_IDEMPOTENCY_PURGE_SCHEDULE',
  domainSuffixes: 'CAELUS_DOMAIN_SUFFIXES',
  rateLimitPerMinute: 'CAELUS_API_RATE_LIMIT_PER_MINUTE',
  authFailuresPerMinute: 'CAELUS_API_AUTH_FAILURES_PER_MINUTE',
  trustProxyHops: 'CAELUS_API_TRUST_PROXY_HOPS',
};

export const DEFAULT_API_PORT = 8081;
export const DEFAULT_MAX_INSTANCES_PER_USER = 10;
export const DEFAULT_BODY_LIMIT_BYTES = 256 * 1024;
/** Hourly, off the full hour so many installs do not all purge at :00. */
export const DEFAULT_IDEMPOTENCY_PURGE_SCHEDULE = '17 * * * *';
export const DEFAULT_IDEMPOTENCY_RETENTION_HOURS = 24;

/** Request limits of the API (src/api/rate-limit.ts). */
export interface RateLimitSettings {
  /** Requests per token per window. */
  perToken: number;
  /** Failed authentications per client IP per window. */
  authFailuresPerIp: number;
  /** Window length, ms. */
  windowMs: number;
}
export const RATE_LIMIT_DEFAULTS: RateLimitSettings = { perToken: 1200, authFailuresPerIp: 30, windowMs: 60_000 };

export function apiConfig(flags: ApiFlags = {}, env: Env = process.env): ApiConfig {
  const p = (k: keyof ApiConfig): string | undefined => {
    const flag = flags[k];
    if (flag !== undefined) return flag;
    const v = env[ENV[k]];
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (k: keyof ApiConfig, def: number, min: number, max: number): number => {
    const raw = p(k);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max) {
      throw new ConfigError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} / ${ENV[k]}`, `must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return n;
  };
  return {
    port: int('port', DEFAULT_API_PORT, 0, 65_535),
    host: p('host') ?? '0.0.0.0',
    kubeconfig: p('kubeconfig'),
    maxInstancesPerUser: int('maxInstancesPerUser', DEFAULT_MAX_INSTANCES_PER_USER, 0, 100_000),
    bodyLimitBytes: int('bodyLimitBytes', DEFAULT_BODY_LIMIT_BYTES, 1024, 64 * 1024 * 1024),
    helmBin: p('helmBin') ?? 'helm',
    shutdownGraceMs: int('shutdownGraceMs', 10_000, 0, 600_000),
    idempotencyRetentionHours: int('idempotencyRetentionHours', DEFAULT_IDEMPOTENCY_RETENTION_HOURS, 1, 24 * 365),
    idempotencyPurgeSchedule: schedule(p('idempotencyPurgeSchedule') ?? DEFAULT_IDEMPOTENCY_PURGE_SCHEDULE),
    domainSuffixes: suffixes(p('domainSuffixes')),
    rateLimitPerMinute: int('rateLimitPerMinute', RATE_LIMIT_DEFAULTS.perToken, 0, 10_000_000),
    authFailuresPerMinute: int('authFailuresPerMinute', RATE_LIMIT_DEFAULTS.authFailuresPerIp, 1, 10_000_000),
    trustProxyHops: int('trustProxyHops', 0, 0, 16),
  };
}

/** The request limits of a config: per minute, none when rateLimitPerMinute is 0. */
export function rateLimitOf(c: Pick<ApiConfig, 'rateLimitPerMinute' | 'authFailuresPerMinute'>): RateLimitSettings | false {
  return c.rateLimitPerMinute === 0 ? false : { perToken: c.rateLimitPerMinute, authFailuresPerIp: c.authFailuresPerMinute, windowMs: 60_000 };
}

function suffixes(raw: string | undefined): string[] {
  const list = (raw ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const x of list) {
    if (!DOMAIN_SUFFIX_PATTERN.test(x)) throw new ConfigError(ENV.domainSuffixes, `"${x}" is not a host name pattern (e.g. *.apps.example.com or {userId}.dev.example.com)`);
  }
  return list;
}

function schedule(raw: string): string {
  if (!cron.validate(raw)) throw new ConfigError(ENV.idempotencyPurgeSchedule, `"${raw}" is not a cron expression`);
  return raw;
}

// Fetches a remote chart once, with `helm pull`, into a throw-away helm home:
// nothing is shared with other helm processes (no repositories.yaml, registry
// login or cache left behind), and credentials go to helm on stdin
// (`--password-stdin`), never on argv.
//   oci://host/path/chart   helm [registry login] + pull oci://… --version V
//   https://repo#chart      helm repo add [--username --password-stdin] + pull caelus/chart --version V
// `chartVersion` is required for both (a floating "latest" would pin whatever
// happened to be newest at publish time without saying so); a range is
// resolved by helm and the exact version read back from the package.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import type { ChartReference } from '../domain/catalog.ts';
import { ChartErrorReason, ChartSourceError } from './errors.ts';

export const ALLOW_HTTP_ENV = 'CAELUS_CHART_ALLOW_HTTP_REPOSITORIES';

export interface PullCredentials {
  username?: string;
  password?: string;
  /** PEM CA bundle for a registry/repository with a private CA (or a self-signed certificate). */
  caCert?: string;
}

export interface PulledChart {
  bytes: Uint8Array;
  /** The chart's exact version from its Chart.yaml. */
  version: string;
  name: string;
}

export interface PullOptions {
  /** Accept http:// repositories (labs only; CAELUS_CHART_ALLOW_HTTP_REPOSITORIES=true). */
  allowHttp: boolean;
  credentials?: PullCredentials;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Refuses what must not be fetched; no process runs for a refused reference. */
export function checkRemoteReference(chart: ChartReference, chartVersion: string | null | undefined, allowHttp: boolean): void {
  if (chart.kind === 'local') return;
  if (chart.kind === 'repo') {
    const url = new URL(chart.repoUrl);
    if (url.protocol === 'http:' && !allowHttp) {
      throw new ChartSourceError(
        ChartErrorReason.Refused,
        'chart.repoUrl',
        `plain http:// chart repositories are refused (charts would travel unauthenticated); use https://, or let an admin set ${ALLOW_HTTP_ENV}=true for a lab`,
      );
    }
    if (url.username || url.password) {
      throw new ChartSourceError(ChartErrorReason.Refused, 'chart.repoUrl', 'must not carry credentials; store them with POST /chart-credentials and name them in chartCredentials');
    }
  }
  if (chart.kind === 'oci' && /^oci:\/\/[^/]*@/.test(chart.ref)) {
    throw new ChartSourceError(ChartErrorReason.Refused, 'chart.ref', 'must not carry credentials; store them with POST /chart-credentials and name them in chartCredentials');
  }
  if (!chartVersion) {
    throw new ChartSourceError(ChartErrorReason.Refused, 'chartVersion', `is required for ${chart.kind === 'oci' ? 'oci://' : 'repository'} charts; it is resolved to an exact version when the version is published`);
  }
}

export class ChartPuller {
  readonly #helm: string;
  constructor(helmBinary: string) {
    this.#helm = helmBinary;
  }

  async pull(chart: Exclude<ChartReference, { kind: 'local' }>, chartVersion: string, opts: PullOptions): Promise<PulledChart> {
    checkRemoteReference(chart, chartVersion, opts.allowHttp);
    const home = await mkdtemp(join(tmpdir(), 'caelus-pull-'));
    try {
      const env = {
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
        HELM_REGISTRY_CONFIG: join(home, 'registry.json'),
        HELM_REPOSITORY_CONFIG: join(home, 'repositories.yaml'),
        HELM_REPOSITORY_CACHE: join(home, 'repository'),
      };
      const creds = opts.credentials ?? {};
      const tls: string[] = [];
      if (creds.caCert) {
        const caFile = join(home, 'ca.pem');
        await writeFile(caFile, creds.caCert, { mode: 0o600 });
        tls.push('--ca-file', caFile);
      }
      const run = (args: string[], input?: string) =>
        execa(this.#helm, args, {
          env,
          extendEnv: true,
          ...(input === undefined ? {} : { input }),
          timeout: opts.timeoutMs ?? 120_000,
          ...(opts.signal ? { cancelSignal: opts.signal } : {}),
          stripFinalNewline: true,
        });
      const dest = join(home, 'out');
      await mkdir(dest);
      const field = chart.kind === 'oci' ? 'chart.ref' : 'chart.repoUrl';
      try {
        if (chart.kind === 'oci') {
          if (creds.username) {
            const host = chart.ref.slice('oci://'.length).split('/')[0]!;
            await run(['registry', 'login', host, '--username', creds.username, '--password-stdin', ...tls], creds.password ?? '');
          }
          await run(['pull', chart.ref, '--version', chartVersion, '--destination', dest, ...tls]);
        } else {
          const auth = creds.username ? ['--username', creds.username, '--password-stdin'] : [];
          await run(['repo', 'add', 'caelus', chart.repoUrl, ...auth, ...tls], creds.username ? (creds.password ?? '') : undefined);
          await run(['pull', `caelus/${chart.chart}`, '--version', chartVersion, '--destination', dest, ...tls]);
        }
      } catch (err) {
        const stderr = (err as { stderr?: unknown }).stderr;
        const detail = typeof stderr === 'string' && stderr.trim() ? stderr.trim().split('\n').slice(-3).join(' ') : (err as Error).message;
        const f = /version/i.test(detail) ? 'chartVersion' : field;
        throw new ChartSourceError(ChartErrorReason.PullFailed, f, `helm could not pull the chart: ${detail}`, { cause: err });
      }
      const [file] = (await readdir(dest)).filter((f) => f.endsWith('.tgz'));
      if (!file) throw new ChartSourceError(ChartErrorReason.PullFailed, field, 'helm pull produced no chart package');
      const path = join(dest, file);
      const shown = await run(['show', 'chart', path]);
      const meta = parse(shown.stdout) as { name?: unknown; version?: unknown };
      if (typeof meta?.version !== 'string' || typeof meta.name !== 'string') {
        throw new ChartSourceError(ChartErrorReason.PullFailed, field, 'the pulled package has no Chart.yaml name/version');
      }
      return { bytes: await readFile(path), version: meta.version, name: meta.name };
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }
}

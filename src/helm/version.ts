import type { HelmMajor, HelmVersion } from './types.ts';

const SUPPORTED: readonly HelmMajor[] = [3, 4];

/** Helm's CLI changed incompatibly between majors (FACTS.md): refuse a major we have not verified. */
export class UnsupportedHelmVersionError extends Error {
  readonly raw: string;
  constructor(raw: string, why: string) {
    super(`unsupported helm version ${JSON.stringify(raw)}: ${why} (Caelus supports Helm 3.x and 4.x)`);
    this.name = 'UnsupportedHelmVersionError';
    this.raw = raw;
  }
}

/** Parses `helm version --template '{{.Version}}'` (`v4.1.4`) or `--short` (`v3.17.3+ge4da497`) output. */
export function parseHelmVersion(output: string): HelmVersion {
  const raw = output.trim();
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?$/.exec(raw);
  if (!m) throw new UnsupportedHelmVersionError(raw, 'not a semantic version');
  const major = Number(m[1]);
  if (!SUPPORTED.includes(major as HelmMajor)) throw new UnsupportedHelmVersionError(raw, `major version ${major}`);
  return { major: major as HelmMajor, minor: Number(m[2]), patch: Number(m[3]), raw: raw.replace(/\+.*$/, '') };
}

// Typed failures of chart sources. `field` names the publish input to fix
// (the API turns it into a problem+json pointer under /body).
export const ChartErrorReason = {
  /** The reference or its settings are refused before anything is fetched (http://, missing chartVersion, …). */
  Refused: 'Refused',
  /** helm could not fetch the chart (unreachable, unknown chart or version, TLS, auth). */
  PullFailed: 'PullFailed',
  /** The package's bytes do not hash to the digest the version is pinned to. */
  DigestMismatch: 'DigestMismatch',
  /** The pinned package is in neither the local cache nor the database. */
  PackageMissing: 'PackageMissing',
} as const;
export type ChartErrorReason = (typeof ChartErrorReason)[keyof typeof ChartErrorReason];

export class ChartSourceError extends Error {
  override readonly name = 'ChartSourceError';
  readonly reason: ChartErrorReason;
  readonly field: string;
  constructor(reason: ChartErrorReason, field: string, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.reason = reason;
    this.field = field;
  }
}

export function isChartSourceError(err: unknown, reason?: ChartErrorReason): err is ChartSourceError {
  return err instanceof ChartSourceError && (reason === undefined || err.reason === reason);
}

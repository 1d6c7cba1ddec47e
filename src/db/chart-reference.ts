// How a ChartReference is stored in product_template_version.helm_chart_path
// (one text column, unambiguous by prefix):
//   oci://registry/repo/chart              → { kind: 'oci' }
//   https://charts.example.com/path#chart  → { kind: 'repo', repoUrl, chart }  (http:// too)
//   anything else                          → { kind: 'local', path }  (a directory or a .tgz)
// The `#chart` fragment carries the chart name because a repository URL alone
// does not name a chart, and a fragment is never sent to the server, so the
// URL part stays exactly the repository URL helm is given.
import type { ChartReference } from '../domain/catalog.ts';
import { ValidationError } from './errors.ts';

const CHART_NAME = /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/i;
const MAX_LENGTH = 2048;

export function encodeChartReference(ref: ChartReference): string {
  const text = ref.kind === 'local' ? ref.path : ref.kind === 'oci' ? ref.ref : `${ref.repoUrl}#${ref.chart}`;
  // Round-trip check: rejects e.g. a local path that looks like a URL, or a repo URL that already has a fragment.
  const back = parseChartReference(text);
  if (JSON.stringify(back) !== JSON.stringify(ref)) {
    throw new ValidationError('helmChart', `cannot be stored unambiguously: ${JSON.stringify(ref)}`);
  }
  return text;
}

/** Parses the stored text; throws ValidationError (field helmChart) for text that is none of the three forms. */
export function parseChartReference(text: string): ChartReference {
  if (text.length === 0 || text.length > MAX_LENGTH) throw new ValidationError('helmChart', `must be 1..${MAX_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\s\u0000-\u001f]/.test(text)) throw new ValidationError('helmChart', 'must not contain whitespace or control characters');
  if (text.startsWith('oci://')) {
    if (text.length <= 'oci://'.length || text.includes('#')) throw new ValidationError('helmChart', 'oci:// reference is malformed');
    return { kind: 'oci', ref: text };
  }
  if (/^https?:\/\//i.test(text)) {
    const hash = text.indexOf('#');
    const chart = hash >= 0 ? text.slice(hash + 1) : '';
    if (hash < 0 || !CHART_NAME.test(chart)) {
      throw new ValidationError('helmChart', 'a repository URL must name the chart after "#", e.g. https://charts.example.com#webapp');
    }
    const repoUrl = text.slice(0, hash);
    try {
      new URL(repoUrl);
    } catch {
      throw new ValidationError('helmChart', `repository URL is not a valid URL: ${repoUrl}`);
    }
    return { kind: 'repo', repoUrl, chart };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw new ValidationError('helmChart', 'only oci://, http(s):// and local paths are supported');
  return { kind: 'local', path: text };
}

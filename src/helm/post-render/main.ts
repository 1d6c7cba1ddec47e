// Entry point of the post-renderer, run by helm as a child process:
//   Helm 3: helm … --post-renderer <node> --post-renderer-args <this file> --post-renderer-args … …
//   Helm 4: the `caelus-labels` postrenderer/v1 plugin runs `<node> <this file>` with the same args.
// Arguments (args.ts builds them): the kinds policy as --namespace=, --allow-kind=,
// --allow-cluster-role=, --reserve=Kind/name, --report=<file>, then key=value labels.
// Reads the rendered manifests on stdin, writes the labelled manifests on
// stdout. A policy violation writes {"violations":[…]} to the report file (Helm 4
// drops a plugin's stderr) and one line to stderr, and exits 3; any other
// problem writes one line to stderr and exits 1. Either way helm aborts the
// operation before anything reaches the cluster.
import { writeFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import type { KindsPolicy } from '../../domain/kinds-policy.ts';
import { labelsFromArgs } from '../labels.ts';
import { postRender } from './render.ts';

const VIOLATION_EXIT_CODE = 3;

try {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    strict: true,
    options: {
      namespace: { type: 'string' },
      'allow-kind': { type: 'string', multiple: true, default: [] },
      'allow-cluster-role': { type: 'string', multiple: true, default: [] },
      reserve: { type: 'string', multiple: true, default: [] },
      report: { type: 'string' },
    },
  });
  const labels = labelsFromArgs(positionals);
  const policy: KindsPolicy | undefined = values.namespace
    ? {
        namespace: values.namespace,
        allowedKinds: values['allow-kind'],
        allowedClusterRoles: values['allow-cluster-role'],
        reserved: values.reserve.map((r) => {
          const slash = r.indexOf('/');
          if (slash <= 0) throw new TypeError(`--reserve expects Kind/name, got ${JSON.stringify(r)}`);
          return { kind: r.slice(0, slash), name: r.slice(slash + 1) };
        }),
      }
    : undefined;
  const result = postRender(await text(process.stdin), labels, policy);
  if (result.ok) {
    process.stdout.write(result.output);
  } else {
    if (values.report) writeFileSync(values.report, JSON.stringify({ violations: result.violations }), { flag: 'wx', mode: 0o600 });
    process.stderr.write(`caelus post-renderer: refused by the kinds policy: ${result.violations.map((v) => v.message).join('; ')}\n`);
    process.exitCode = VIOLATION_EXIT_CODE;
  }
} catch (err) {
  process.stderr.write(`caelus post-renderer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

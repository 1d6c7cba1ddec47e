// One post-renderer invocation, as helm sees it: arguments and the rendered
// manifests in, stdout/stderr/exit code out. Shared by the two ways it runs:
// main.ts (a Node process per upgrade, the fallback) and server.ts (inside the
// operator, reached by the compiled client helm starts instead), so both give
// byte-identical output and the same refusals.
//
// Arguments (args.ts builds them): the kinds policy as --namespace=,
// --allow-kind=, --allow-cluster-role=, --reserve=Kind/name, --report=<file>,
// then key=value labels. A policy violation writes {"violations":[…]} to the
// report file (Helm 4 drops a plugin's stderr) and one line to stderr, and
// exits 3; any other problem writes one line to stderr and exits 1. Either way
// helm aborts the operation before anything reaches the cluster.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { KindsPolicy } from '../../domain/kinds-policy.ts';
import { labelsFromArgs } from '../labels.ts';
import { postRender } from './render.ts';

export const VIOLATION_EXIT_CODE = 3;

export interface Invocation {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function runPostRenderer(args: readonly string[], stdin: string): Invocation {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
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
    const result = postRender(stdin, labels, policy);
    if (result.ok) return { exitCode: 0, stdout: result.output, stderr: '' };
    if (values.report) writeFileSync(values.report, JSON.stringify({ violations: result.violations }), { flag: 'wx', mode: 0o600 });
    return {
      exitCode: VIOLATION_EXIT_CODE,
      stdout: '',
      stderr: `caelus post-renderer: refused by the kinds policy: ${result.violations.map((v) => v.message).join('; ')}\n`,
    };
  } catch (err) {
    return { exitCode: 1, stdout: '', stderr: `caelus post-renderer: ${err instanceof Error ? err.message : String(err)}\n` };
  }
}

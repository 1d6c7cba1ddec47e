// The Node post-renderer, run by helm as a child process when the compiled
// client (client.ts) is not built:
//   Helm 3: helm … --post-renderer <node> --post-renderer-args <this file> --post-renderer-args … …
//   Helm 4: the `caelus-labels` postrenderer/v1 plugin runs `<node> <this file>` with the same args.
// Reads the rendered manifests on stdin; run.ts does the rest.
import { text } from 'node:stream/consumers';
import { runPostRenderer } from './run.ts';

const r = runPostRenderer(process.argv.slice(2), await text(process.stdin));
process.stdout.write(r.stdout);
process.stderr.write(r.stderr);
process.exitCode = r.exitCode;

// Entry point of the label post-renderer, run by helm as a child process:
//   Helm 3: helm … --post-renderer <node> --post-renderer-args <this file> --post-renderer-args key=value …
//   Helm 4: the `caelus-labels` postrenderer/v1 plugin runs `<node> <this file>` with the same key=value args.
// Reads the rendered manifests on stdin, writes the labelled manifests on
// stdout; on any problem writes one line to stderr and exits 1, which makes
// helm abort the operation before anything reaches the cluster.
import { text } from 'node:stream/consumers';
import { labelsFromArgs } from '../labels.ts';
import { addLabels } from './add-labels.ts';

try {
  const labels = labelsFromArgs(process.argv.slice(2));
  const input = await text(process.stdin);
  process.stdout.write(addLabels(input, labels));
} catch (err) {
  process.stderr.write(`caelus post-renderer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

#!/usr/bin/env node
// Node 24 runs the TypeScript sources directly (type stripping); the container
// image runs the tsc output in dist/ instead. Under an older `node` first on
// PATH (a fresh terminal) the CLI is re-run with the project's Node
// (hack/node24.mjs), or stops with one line saying what to run.
if (Number(process.versions.node.split('.')[0]) >= 24) {
  await import('../src/cli.ts');
} else {
  const { fileURLToPath, URL } = await import('node:url');
  const { relaunch } = await import('../hack/node24.mjs');
  relaunch([fileURLToPath(new URL('../src/cli.ts', import.meta.url)), ...process.argv.slice(2)]);
}

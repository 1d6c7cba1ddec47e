#!/usr/bin/env node
// Runs `node <args>` under the project's Node (the version in .nvmrc), so
// every npm script and bin/caelus work from a fresh terminal whose `node` is
// older: the sources are TypeScript run by Node 24's type stripping, which
// Node 20 answers with ERR_UNKNOWN_FILE_EXTENSION. Plain JavaScript that any
// Node since 14 parses. Uses the running node when it is new enough, else the
// copy hack/ensure-node.sh installs; without that copy it stops with one line
// saying what to run. Usage: node hack/node24.mjs [node flags] <script> [args]
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The Node this project runs on: one place, .nvmrc (hack/ensure-node.sh reads it too). */
export function wantedVersion() {
  return readFileSync(join(root, '.nvmrc'), 'utf8').trim();
}

/** Where hack/ensure-node.sh installs that version. */
export function cachedNode(version, env = process.env) {
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'caelus', `node-${version}`, 'node_modules', 'node', 'bin', 'node');
}

/** The node binary to run the project with, or undefined when there is none. */
export function projectNode(env = process.env) {
  const version = wantedVersion();
  const major = Number(version.split('.')[0]);
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  const cached = cachedNode(version, env);
  return existsSync(cached) ? cached : undefined;
}

/** The one line printed when no suitable node is found. */
export function missingNodeMessage() {
  const major = wantedVersion().split('.')[0];
  return `caelus: needs Node ${major} (this is ${process.version}); run \`source hack/ensure-node.sh\` in this terminal, then run the command again`;
}

/** Runs `node <args>` under the project's Node and exits as it did. */
export function relaunch(args) {
  const node = projectNode();
  if (!node) {
    process.stderr.write(`${missingNodeMessage()}\n`);
    process.exit(1);
  }
  // Children that start `node` by name (helm's post-renderer, tests) get the same one.
  const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` };
  const child = spawn(node, args, { stdio: 'inherit', env });
  // Ctrl-C reaches the whole process group (the child too); SIGTERM only us: pass it on, then wait for the child.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (sig !== 'SIGINT') child.kill(sig);
    });
  }
  child.on('error', (err) => {
    process.stderr.write(`caelus: could not start ${node}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) relaunch(process.argv.slice(2));

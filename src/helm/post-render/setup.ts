// Makes the label post-renderer runnable by helm, in one of two forms:
//   compiled: hack/post-render/main.go (built by hack/build-go-helpers.sh)
//             forwards to server.ts in this process; no Node start per upgrade.
//   node:     node + main.ts, when the client is not built (a log line says so).
//   Helm 3: nothing to install; args.ts passes the command as the executable.
//   Helm 4: `--post-renderer` only names a plugin of type postrenderer/v1, looked
//           up in $HELM_PLUGINS. We write that plugin (a plugin.yaml whose
//           subprocess runtime runs the command) into a plugins directory
//           owned by Caelus and point HELM_PLUGINS at it. No `helm plugin
//           install`: Helm 4 loads any plugin directory found in HELM_PLUGINS,
//           and writing the file ourselves needs no extra helm process.
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { Logger } from '../../observability/logger.ts';
import type { PostRendererSpec } from '../args.ts';
import { goHelperPath } from '../go-helpers.ts';
import { PostRenderServer } from './server.ts';

export const POST_RENDERER_PLUGIN_NAME = 'caelus-labels';

/**
 * Version of what the post-renderer does to manifests. Part of the desired
 * digest (DESIGN §4 step 7): bump it whenever the transformation changes so
 * every release is re-rendered once.
 */
export const POST_RENDERER_VERSION = '2.0.0';

/** The node binary running us and main.ts beside this file (main.js in the tsc build). */
export function nodePostRenderer(): PostRendererSpec {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return {
    command: process.execPath,
    args: ['--no-warnings', fileURLToPath(new URL(`./main${ext}`, import.meta.url))],
    pluginName: POST_RENDERER_PLUGIN_NAME,
  };
}

/** The Helm 4 plugin.yaml (plugin apiVersion v1, type postrenderer/v1, subprocess runtime). */
export function pluginManifest(pr: PostRendererSpec): string {
  // Helm expands $VARS in the command and its args (os.ExpandEnv): a path with
  // '$' would silently become another path.
  for (const p of [pr.command, ...pr.args]) {
    if (p.includes('$')) throw new TypeError(`post-renderer path must not contain '$': ${p}`);
  }
  return stringify({
    apiVersion: 'v1',
    name: pr.pluginName,
    version: POST_RENDERER_VERSION,
    type: 'postrenderer/v1',
    runtime: 'subprocess',
    runtimeConfig: { platformCommand: [{ command: pr.command, args: [...pr.args] }] },
  });
}

/** How helm runs the post-renderer in this process, and the server when it is the compiled client. */
export interface PostRenderer {
  spec: PostRendererSpec;
  server?: PostRenderServer;
}

let shared: Promise<PostRenderer> | undefined;

/**
 * The post-renderer every HelmClient of this process uses, decided once: the
 * compiled client and its server when the client is built, else Node.
 */
export function sharedPostRenderer(log?: Logger): Promise<PostRenderer> {
  shared ??= (async () => {
    const client = goHelperPath('post-render');
    if (client === undefined) {
      log?.warn(
        { fallback: 'node' },
        'post-renderer client not built (hack/build-go-helpers.sh needs Go): helm starts a Node post-renderer for every install and upgrade',
      );
      return { spec: nodePostRenderer() };
    }
    const server = await PostRenderServer.start(join(privateWorkDir(), 'post-render.sock'), log);
    log?.info({ client, socket: server.socketPath }, 'post-renderer: compiled client, rendering in this process');
    return { spec: { command: client, args: [server.socketPath], pluginName: POST_RENDERER_PLUGIN_NAME }, server };
  })().catch((err: unknown) => {
    shared = undefined;
    throw err;
  });
  return shared;
}

let workDir: string | undefined;

/**
 * This process's own directory for what helm runs: mkdtemp creates it fresh
 * (mode 0700, owned by us) under the shared temp dir. A predictable path
 * there could be created first by another local user, who would then own the
 * plugin helm executes (or the compile cache node loads). Removed at exit.
 */
export function privateWorkDir(): string {
  if (workDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'caelus-helm-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    workDir = dir;
  }
  return workDir;
}

/** Default plugins directory: inside this process's private work dir, so nobody else can write the plugin helm runs. */
export function defaultPluginsDir(): string {
  return join(privateWorkDir(), 'plugins');
}

/**
 * NODE_COMPILE_CACHE for helm, inherited by the post-renderer node process it
 * starts for every install/upgrade: with node's on-disk compile cache that
 * process needs about half the CPU (compiling our TypeScript and the yaml
 * library was most of it; `npm run bench -- scale` measures the difference).
 * process.env's own NODE_COMPILE_CACHE wins when set.
 */
export function defaultCompileCacheDir(): string {
  return process.env['NODE_COMPILE_CACHE'] || join(privateWorkDir(), 'compile-cache');
}

/** Writes `<pluginsDir>/<name>/plugin.yaml` unless it already has this content; atomic (temp file + rename). */
export async function ensurePostRendererPlugin(pluginsDir: string, pr: PostRendererSpec): Promise<string> {
  const dir = join(pluginsDir, pr.pluginName);
  const file = join(dir, 'plugin.yaml');
  const content = pluginManifest(pr);
  try {
    if ((await readFile(file, 'utf8')) === content) return dir;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, content, { mode: 0o644 });
  await rename(tmp, file);
  return dir;
}

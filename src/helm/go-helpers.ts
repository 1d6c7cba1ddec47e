// Where the small Go programs the operator runs beside helm live
// (hack/build-go-helpers.sh builds them): the post-renderer client and the
// spawner. An environment variable names a prebuilt one (the container
// image); otherwise the build of this checkout's source in the cache, keyed
// by the source's sha256 so a stale binary is never picked.
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const GO_HELPERS = {
  'post-render': 'CAELUS_POST_RENDER_CLIENT',
  spawner: 'CAELUS_HELM_SPAWNER',
} as const;
export type GoHelper = keyof typeof GO_HELPERS;

/** The helper's executable, or undefined when it is neither named nor built (callers fall back to Node). */
export function goHelperPath(helper: GoHelper, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env[GO_HELPERS[helper]];
  if (explicit) {
    // Set on purpose: a wrong path is a configuration error, not a reason to fall back silently.
    accessSync(explicit, constants.X_OK);
    return explicit;
  }
  let source: Buffer;
  try {
    source = readFileSync(new URL(`../../hack/${helper}/main.go`, import.meta.url));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const key = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const binary = join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'caelus', helper, key, `caelus-${helper}`);
  try {
    accessSync(binary, constants.X_OK);
    return binary;
  } catch {
    return undefined;
  }
}

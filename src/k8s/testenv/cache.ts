import { homedir } from 'node:os';
import { join } from 'node:path';

/** Machine-wide cache shared by tests, `caelus dev` and benchmarks. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'caelus');
}

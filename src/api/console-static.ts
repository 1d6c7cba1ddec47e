// The web console (the SPA built from ui/ into ui/dist by `npm run build:ui`)
// served at /ui/ on the API's own origin: it is a client of the public REST
// API only, so serving files is all the server does for it. No route here
// reads data; the console's requests carry the bearer token like any client.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ApiProblem, ProblemType } from './problems.ts';

export const CONSOLE_PREFIX = '/ui/';
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../ui/dist', import.meta.url));

// Vite names every file under assets/ by its content hash: a changed file is a new URL.
const IMMUTABLE = 'public, max-age=31536000, immutable';
// index.html (and unhashed files) must be revalidated, or a browser keeps an old build's asset list.
const REVALIDATE = 'no-cache';
// Stricter than helmet's default: no inline styles and no upgrade-insecure-requests
// (which would break the console served over plain HTTP on a LAN address).
export const CONSOLE_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
].join('; ');

/** The built files, relative with forward slashes; undefined when the console was not built. */
function listBuild(dir: string): Set<string> | undefined {
  try {
    if (!statSync(join(dir, 'index.html')).isFile()) return undefined;
  } catch {
    return undefined;
  }
  const files = new Set<string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) files.add(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  return files;
}

export async function consoleRoutes(app: FastifyInstance, opts: { dir?: string }): Promise<void> {
  const dir = opts.dir ?? DEFAULT_CONSOLE_DIR;
  // Listed once: the build does not change under a running server, and a fixed
  // set means a request path is never joined onto the file system unchecked.
  const files = listBuild(dir);
  await app.register(fastifyStatic, { root: dir, serve: false, decorateReply: true });

  const hide = { schema: { hide: true } };
  app.get('/', hide, async (_req, reply) => reply.redirect(CONSOLE_PREFIX));
  app.get('/ui', hide, async (_req, reply) => reply.redirect(CONSOLE_PREFIX));
  app.get<{ Params: { '*': string } }>(`${CONSOLE_PREFIX}*`, hide, async (request, reply) => {
    if (!files) {
      throw new ApiProblem(503, ProblemType.Unavailable, `the web console is not built (no ${join(dir, 'index.html')}): run \`npm run build:ui\` (npm install does it)`);
    }
    const path = request.params['*'];
    reply.header('content-security-policy', CONSOLE_CSP);
    if (path !== '' && files.has(path)) {
      reply.header('cache-control', path.startsWith('assets/') ? IMMUTABLE : REVALIDATE);
      return reply.sendFile(path, { cacheControl: false });
    }
    // A missing asset is a 404, not the page: a stale index.html asking for an old hash must fail visibly.
    if (path.startsWith('assets/')) throw new ApiProblem(404, ProblemType.NotFound, `no console asset ${path}`);
    // Client-side routes (/ui/instances/…) all load the SPA, which routes itself.
    reply.header('cache-control', REVALIDATE);
    return reply.sendFile('index.html', { cacheControl: false });
  });
}

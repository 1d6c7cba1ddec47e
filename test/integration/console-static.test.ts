// How `caelus api` serves the web console at /ui/: without a token (the files
// hold no data), hashed assets cached for good, the page always revalidated,
// client routes answered with the page, a missing asset a 404, and a CSP that
// allows the console's own origin only. A checkout without a build answers
// 503 naming the command that builds it. Real HTTP against the real server.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSOLE_CSP } from '../../src/api/console-static.ts';
import { PROBLEM_JSON, startApi, type ApiHarness } from '../support/api-server.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';

const pglite = testDatabases().find((c) => c.name === 'pglite')!;
const INDEX = '<!doctype html><title>console</title><script type="module" src="/ui/assets/index-abc123.js"></script>';

describe('the web console files at /ui/', () => {
  let db: TestDatabase;
  let api: ApiHarness;
  let unbuilt: ApiHarness;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'caelus-ui-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log("console")');
    db = await pglite.create();
    api = await startApi(db, { consoleDir: dir });
    unbuilt = await startApi(db, { consoleDir: join(dir, 'missing') });
  });
  afterAll(async () => {
    await api?.close();
    await unbuilt?.close();
    await db?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page without a token, revalidated on every load, under a self-only CSP', async () => {
    const res = await api.call('GET', '/ui/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.body).toBe(INDEX);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https:|\*/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves hashed assets as immutable', async () => {
    const res = await api.call('GET', '/ui/assets/index-abc123.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('answers client-side routes with the page, but a missing asset with a 404 problem', async () => {
    const route = await api.call('GET', '/ui/instances/7f0e3c1a-0000-4000-8000-000000000000');
    expect(route.status).toBe(200);
    expect(route.body).toBe(INDEX);
    const missing = await api.call('GET', '/ui/assets/index-old999.js');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(PROBLEM_JSON);
    const traversal = await api.call('GET', '/ui/..%2f..%2fpackage.json');
    expect(traversal.status).toBe(200);
    expect(traversal.body).toBe(INDEX);
  });

  it('redirects / and /ui to /ui/', async () => {
    for (const path of ['/', '/ui']) {
      const res = await fetch(api.url + path, { redirect: 'manual' });
      expect({ path, status: res.status, location: res.headers.get('location') }).toEqual({ path, status: 302, location: '/ui/' });
    }
  });

  it('keeps the API behind its token', async () => {
    expect((await api.call('GET', '/instances')).status).toBe(401);
  });

  it('without a build answers 503 naming the command that builds the console', async () => {
    const res = await unbuilt.call('GET', '/ui/');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(PROBLEM_JSON);
    expect(res.body.detail).toMatch(/npm run build:ui/);
  });
});

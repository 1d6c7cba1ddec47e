// The web console's list page with many instances: N instance rows in a
// throw-away PostgreSQL database (no cluster: the list reads rows only),
// `caelus api` as a child process serving ui/dist, and a real Chromium
// (test/support/browser.ts' binary and flags) opening /ui/ signed in as the
// admin, who sees every row. Measured: from navigation start to the first
// page's rows in the DOM (performance.now() in the page), over several cold
// loads (each a fresh browser context), plus the list request's own time.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../src/db/connect.ts';
import { migrateUp } from '../../src/db/migrator.ts';
import { createInstance } from '../../src/db/repositories/instances.ts';
import { createTemplate, createTemplateVersion } from '../../src/db/repositories/templates.ts';
import { createApiToken } from '../../src/db/repositories/tokens.ts';
import { freePort } from '../../src/k8s/testenv/free-port.ts';
import { launchChromium } from '../../test/support/browser.ts';
import { startChild } from '../lib/child.ts';
import { onCleanup } from '../lib/cleanup.ts';
import { log } from '../lib/env.ts';
import { roundSummary, summarize } from '../lib/stats.ts';
import { formatPairs } from '../lib/table.ts';
import { throwawayDatabase } from './api.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const WEBAPP = fileURLToPath(new URL('../../charts/webapp', import.meta.url));
/** The console's page size (ui/src/pages/instances.tsx). */
const PAGE_ROWS = 25;

export interface ConsoleOptions {
  databaseUrl: string | undefined;
  instances: number;
  loads: number;
  logDir: string;
}

export async function runConsole(o: ConsoleOptions) {
  if (!o.databaseUrl) throw new Error('the console benchmark needs PostgreSQL: set DATABASE_URL=postgres://… (bash hack/ensure-postgres.sh prints one)');
  const url = await throwawayDatabase(o.databaseUrl);
  const handle = await openDatabase({ kind: 'postgres', url, poolMax: 4, statementTimeoutMs: 15_000, connectTimeoutMs: 5_000 });
  let admin: string;
  try {
    await migrateUp(handle.db);
    const actor = { actor: 'bench' };
    const template = await createTemplate(handle.db, { name: 'webapp', description: 'bench web app' }, actor);
    const version = await createTemplateVersion(handle.db, { templateId: template.id, version: '1.0.0', chart: { kind: 'local', path: WEBAPP }, defaultValues: { message: 'bench' } }, actor);
    const t0 = Date.now();
    // N/10 users with 10 rows each, 4 writes at a time, through the one function that writes instance rows.
    const users = Math.max(1, Math.ceil(o.instances / 10));
    const ids = Array.from({ length: o.instances }, (_, i) => i);
    for (let i = 0; i < ids.length; i += 4) {
      await Promise.all(
        ids.slice(i, i + 4).map((n) => createInstance(handle.db, { userId: `user-${n % users}`, productTemplateVersionId: version.id, namespace: `bench-${String(n).padStart(5, '0')}`, domainName: null, values: { n } }, actor)),
      );
    }
    log(`console: ${o.instances} instance rows written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    admin = (await createApiToken(handle.db, { name: 'bench-admin', role: 'admin' }, actor)).token;
  } finally {
    await handle.destroy();
  }

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { stop: stopApi } = await startChild({
    label: 'caelus api',
    file: process.execPath,
    args: [CLI, 'api', '--port', String(port), '--host', '127.0.0.1'],
    env: { DATABASE_URL: url, LOG_LEVEL: 'warn', PATH: process.env['PATH'] ?? '' },
    logFile: join(o.logDir, 'api.log'),
    readyUrl: `${base}/readyz`,
    killGraceMs: 10_000,
  });

  const browser = await launchChromium();
  const stopBrowser = onCleanup('chromium', () => browser.close());
  const renderMs: number[] = [];
  const listMs: number[] = [];
  const scriptsMs: number[] = [];
  let shown = '';
  try {
    // One warm-up load (the server's first queries, Chromium's first start), not counted.
    for (let i = 0; i <= o.loads; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      // Signed in as the console would be after the sign-in form (session storage of this context only).
      await context.addInitScript((token: string) => {
        sessionStorage.setItem('caelus.console.token', token);
        sessionStorage.setItem('caelus.console.me', JSON.stringify({ role: 'admin', userId: null, tokenName: 'bench-admin', expiresAt: null }));
      }, admin);
      const page = await context.newPage();
      await page.goto(`${base}/ui/`, { waitUntil: 'commit' });
      await page.getByTestId('instance-row').nth(PAGE_ROWS - 1).waitFor({ timeout: 60_000 });
      // Page code as a string (evaluated through the DevTools protocol, so the CSP allows it; the bench is type-checked without DOM types).
      const m = (await page.evaluate(`({
        now: performance.now(),
        scriptsDone: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
        list: (performance.getEntriesByType('resource').find((e) => /\\/instances\\?/.test(e.name)) || { duration: -1 }).duration,
        summary: (document.getElementById('list-summary') || {}).textContent || '',
      })`)) as { now: number; scriptsDone: number; list: number; summary: string };
      if (i > 0) {
        renderMs.push(m.now);
        listMs.push(m.list);
        scriptsMs.push(m.scriptsDone);
      }
      shown = m.summary;
      await context.close();
    }
  } finally {
    await stopBrowser();
    await stopApi();
  }
  const render = roundSummary(summarize(renderMs), 1);
  const list = roundSummary(summarize(listMs), 1);
  const scripts = roundSummary(summarize(scriptsMs), 1);
  const result = { instances: o.instances, pageRows: PAGE_ROWS, loads: o.loads, shown, firstPageRenderMs: render, domContentLoadedMs: scripts, listRequestMs: list };
  const table = formatPairs([
    ['instance rows in the database', o.instances],
    ['list page shows', shown],
    ['cold loads measured', o.loads],
    ['first page rendered, median (ms from navigation)', render.p50],
    ['first page rendered, max (ms)', render.max],
    ['console script loaded and run (DOMContentLoaded), median (ms)', scripts.p50],
    ['GET /instances (first page), median (ms)', list.p50],
  ]);
  return { result, table };
}

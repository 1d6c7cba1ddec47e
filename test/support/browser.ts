// A real Chromium (Debian's `chromium` package; CAELUS_CHROMIUM overrides the
// path) driven by playwright-core, for the web console's browser tests. A
// missing browser fails the test with what to install: it is never skipped.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const DEFAULT_CHROMIUM = '/usr/bin/chromium';
// Flags for a quiet, reproducible headless run on a CI box: no sandbox (runs as root
// in containers), no GPU, and nothing that phones home while the test runs.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function chromiumPath(): string {
  const path = process.env['CAELUS_CHROMIUM'] ?? DEFAULT_CHROMIUM;
  if (!existsSync(path)) {
    throw new Error(`no Chromium at ${path}: the console's browser tests need it (apt-get install -y chromium, which .ci/run does; or set CAELUS_CHROMIUM to a Chromium binary)`);
  }
  return path;
}

/** Playwright gives every launch a fresh temporary profile (user-data-dir) and removes it on close. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: FLAGS });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core in the page (evaluated through the DevTools protocol, so the
 * console's CSP, which forbids inline scripts, stays on) and returns the
 * serious and critical violations.
 */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (opts: unknown) => Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe;
    const r = await axe.run({ resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

const DOCS = fileURLToPath(new URL('../../docs', import.meta.url));

/**
 * Screenshots for the README: written to docs/ when CAELUS_UPDATE_SCREENSHOTS=1
 * (so a normal run leaves the checkout clean), else to a temporary directory.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = process.env['CAELUS_UPDATE_SCREENSHOTS'] === '1' ? DOCS : join(tmpdir(), 'caelus-console-screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `console-${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

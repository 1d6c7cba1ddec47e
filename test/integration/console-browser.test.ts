// The web console in a real Chromium against real components: the REST API
// (in process, serving ui/dist at /ui/), PostgreSQL, `caelus operator` with
// the DB ↔ CR sync, real helm and the local control plane. Each step is what a
// person does in the browser; assertions read what the page shows. Steps build
// on each other (one instance: create → hibernate → wake → upgrade → delete).
//
// axe-core scans every page: no serious or critical violation. The console's
// CSP stays on throughout, and any CSP refusal fails the run.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ClusterInsightReader } from '../../src/api/cluster-insight.ts';
import { ClusterLiveStatusReader } from '../../src/api/live-status.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { WEBAPP_CHART, publishWebapp, startApi, type ApiHarness } from '../support/api-server.ts';
import { launchChromium, screenshot, seriousA11yViolations } from '../support/browser.ts';
import { testDatabases, type TestDatabase } from '../support/database.ts';
import { testKubeConfig, uniqueName } from '../support/kube.ts';
import { startTestOperator, type TestOperator } from '../support/operator.ts';

const postgres = testDatabases().find((c) => c.name === 'postgres');
if (!postgres) console.warn('DATABASE_URL is not set: skipping the console browser test (the operator needs PostgreSQL)');
const describeWithPostgres = postgres ? describe : describe.skip;

const STEP_MS = 120_000;
const shard = uniqueName('ui');
const template = uniqueName('uiweb');
const VALUES_SCHEMA = {
  type: 'object',
  properties: {
    message: { type: 'string', maxLength: 40, description: 'shown on the start page' },
    replicaCount: { type: 'integer', minimum: 0, maximum: 3 },
  },
};

describeWithPostgres('web console in Chromium (API + operator + PostgreSQL + helm)', () => {
  let db: TestDatabase;
  let api: ApiHarness;
  let op: TestOperator;
  let browser: Browser;
  let templateId: string;
  let aliceId: string;
  let alice: string;
  let bob: string;
  let instanceId: string;
  let namespace: string;
  const cspRefusals: string[] = [];
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    // First, so a missing browser fails before anything else is started.
    browser = await launchChromium();
    db = await postgres!.create();
    // Wired like `caelus api` with a kubeconfig: live status, the cluster reads of the console routes, the change stream.
    api = await startApi(db, {
      liveStatus: new ClusterLiveStatusReader(testKubeConfig(), silentLogger()),
      cluster: new ClusterInsightReader(testKubeConfig()),
      changes: {},
      rateLimit: false,
    });
    op = await startTestOperator(shard, {}, { databaseUrl: db.url! });
    ({ templateId } = await publishWebapp(api, template, ['1.0.0'], VALUES_SCHEMA));
    aliceId = uniqueName('alice');
    alice = await api.userToken(aliceId);
    bob = await api.userToken(uniqueName('bob'));
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await op?.stop();
    await api?.close();
    await db?.destroy();
  });

  /** A fresh browser context (own session storage) signed in with `token`. */
  async function signIn(token: string, opts: { scan?: boolean } = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspRefusals.push(m.text());
    });
    await page.goto(`${api.url}/ui/`);
    await page.getByLabel('API token').waitFor();
    if (opts.scan) await expectAccessible(page, 'sign-in');
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Instances' }).waitFor();
    return page;
  }

  async function expectAccessible(page: Page, name: string): Promise<void> {
    const violations = await seriousA11yViolations(page);
    expect({ page: name, violations }).toEqual({ page: name, violations: [] });
  }

  const phase = (page: Page, text: string) => page.getByTestId('phase').filter({ hasText: text }).waitFor({ timeout: STEP_MS });

  it('a tenant signs in, fills the form generated from the schema (errors at the field), creates an instance and sees it reach Running without reloading', async () => {
    const page = await signIn(alice, { scan: true });
    await expectAccessible(page, 'instances');

    await page.getByRole('link', { name: 'New instance' }).first().click();
    await page.getByLabel('Template').selectOption(templateId);
    const replicas = page.getByLabel('replicaCount');
    await replicas.fill('7');
    // Validated in the browser against the version's schema, shown at the field.
    const fieldError = page.locator('.field-invalid .field-error');
    await fieldError.waitFor();
    expect(await fieldError.textContent()).toMatch(/3/);
    expect(await page.getByRole('button', { name: 'Create instance' }).isDisabled()).toBe(true);
    await expectAccessible(page, 'create (with a field error)');
    await screenshot(page, 'create');
    await replicas.fill('1');
    await page.getByLabel('Domain name (optional)').fill(`${aliceId}.example.com`);
    await page.getByRole('button', { name: 'Create instance' }).click();

    await page.waitForURL(/\/ui\/instances\/[0-9a-f-]{36}$/);
    instanceId = page.url().split('/').at(-1)!;
    namespace = (await page.getByRole('heading', { level: 1 }).textContent())!;
    // No reload from here on: the page follows the change stream.
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await phase(page, 'Running');
    await page.getByTestId('condition').filter({ hasText: 'Ready' }).filter({ hasText: 'True' }).waitFor({ timeout: STEP_MS });
    await page.getByTestId('history-row').first().waitFor({ timeout: STEP_MS });
    await page.getByTestId('object').filter({ hasText: 'Deployment' }).waitFor({ timeout: STEP_MS });
    expect(await page.getByTestId('revision').textContent()).toBe('1');
    expect(await page.getByText(`https://${aliceId}.example.com`).count()).toBeGreaterThan(0);
    // The override's source is named next to it.
    await page.getByRole('row').filter({ hasText: '/replicaCount' }).filter({ hasText: 'instance override' }).waitFor();
    await expectAccessible(page, 'instance detail');
    await screenshot(page, 'instance');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Instances' }).click();
    await page.getByTestId('instance-row').filter({ hasText: namespace }).waitFor();
    await screenshot(page, 'instances');
  }, 4 * STEP_MS);

  it('the tenant hibernates and wakes the instance, each after a confirmation', async () => {
    const page = await signIn(alice);
    await page.goto(`${api.url}/ui/instances/${instanceId}`);
    await phase(page, 'Running');
    await page.getByRole('button', { name: 'Hibernate' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('scaled to zero').waitFor();
    await expectAccessible(page, 'hibernate dialog');
    await dialog.getByRole('button', { name: 'Hibernate' }).click();
    await phase(page, 'Hibernated');

    await page.getByRole('button', { name: 'Wake' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Wake' }).click();
    await phase(page, 'Running');
  }, 3 * STEP_MS);

  it('another tenant does not see the instance, not in the list and not by its address', async () => {
    const page = await signIn(bob);
    await page.getByText(/\d+ instances|0 instances/).waitFor();
    expect(await page.getByTestId('instance-row').filter({ hasText: namespace }).count()).toBe(0);
    await page.goto(`${api.url}/ui/instances/${instanceId}`);
    await page.getByRole('heading', { name: 'Instance gone' }).waitFor();
  });

  it('an admin publishes version 2.0.0 from the Templates page and upgrades the instance after seeing the values diff; the revision increases', async () => {
    const page = await signIn(api.admin);
    for (const [link, heading] of [
      ['Tokens', 'Tokens'],
      ['Quotas', 'Quotas'],
      ['Rollouts', 'Rollouts'],
      ['Templates', 'Templates'],
    ] as const) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await expectAccessible(page, link);
    }
    await page.getByRole('button', { name: template, exact: true }).click();
    await page.getByRole('heading', { name: `Versions of ${template}` }).waitFor();
    await page.getByLabel('Version (semver)').fill('2.0.0');
    await page.getByLabel('Chart source').selectOption('local');
    await page.getByLabel('Chart directory').fill(WEBAPP_CHART);
    await page.getByLabel('Default values (YAML or JSON)').fill('message: v2.0.0\n');
    await page.getByRole('button', { name: 'Publish version' }).click();
    await page.getByText(`Published ${template}@2.0.0.`).waitFor({ timeout: STEP_MS });
    await page.getByTestId('version-row').filter({ hasText: '2.0.0' }).waitFor();

    await page.goto(`${api.url}/ui/instances/${instanceId}`);
    await phase(page, 'Running');
    await page.getByRole('button', { name: 'Upgrade' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Target version').waitFor();
    // The diff of the effective values, old → new: the template default of message changed (the tenant overrides only replicaCount).
    await dialog.getByRole('row').filter({ hasText: '/message' }).waitFor();
    await expectAccessible(page, 'upgrade dialog');
    await dialog.getByRole('button', { name: 'Upgrade' }).click();
    await page.getByTestId('version').filter({ hasText: '2.0.0' }).waitFor({ timeout: STEP_MS });
    await page.getByTestId('revision').filter({ hasText: '2' }).waitFor({ timeout: STEP_MS });
    await phase(page, 'Running');
  }, 3 * STEP_MS);

  it('the tenant deletes the instance after reading what the deletion policy does; it leaves the list', async () => {
    const page = await signIn(alice);
    await page.goto(`${api.url}/ui/instances/${instanceId}`);
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(/removed with its PersistentVolumeClaims/).waitFor();
    await expectAccessible(page, 'delete dialog');
    await dialog.getByRole('button', { name: 'Delete instance' }).click();
    await page.getByRole('heading', { name: 'Instances', level: 1 }).waitFor();
    await page.getByTestId('instance-row').filter({ hasText: namespace }).waitFor({ state: 'detached', timeout: STEP_MS });
  }, 2 * STEP_MS);

  it('no page was refused anything by the console CSP', () => {
    expect(cspRefusals).toEqual([]);
  });
});

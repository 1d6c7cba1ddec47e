// Every install runs helm with --disable-openapi-validation (src/helm/args.ts)
// because helm's client-side OpenAPI step costs half a helm process's CPU and,
// against a server that supports field validation, checks nothing itself. This
// proves that claim on the real apiserver and the helm of this run: a chart
// with a field the schema does not know ends exactly as it does with plain
// `helm upgrade --install` (no flag) — refused by Helm 4, warned and dropped by
// Helm 3.
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { HelmError } from '../../src/helm/index.ts';
import { helmBin, helmEnv, testHelmClient, testKubeConfig, uniqueName } from '../support/kube.ts';

const run = promisify(execFile);
const expectedMajor = process.env['CAELUS_HELM_MAJOR'] === '3' ? 3 : 4;
const kubeconfig = process.env['CAELUS_TEST_KUBECONFIG']!;

/** What happened to an install: refused with helm's message, or installed with the live Service's first port. */
type Outcome = { refused: string } | { port: Record<string, unknown> };

describe(`unknown chart fields with Caelus's helm flags (Helm ${expectedMajor})`, () => {
  const helm = testHelmClient();
  const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
  const namespaces: string[] = [];
  let chartDir = '';

  beforeAll(async () => {
    chartDir = await mkdtemp(join(tmpdir(), 'caelus-unknown-field-'));
    await mkdir(join(chartDir, 'templates'));
    await writeFile(join(chartDir, 'Chart.yaml'), 'apiVersion: v2\nname: unknown-field\nversion: 0.1.0\n');
    // A typo a chart author could make, nested where only the schema can tell.
    await writeFile(
      join(chartDir, 'templates', 'svc.yaml'),
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: 80\n      targtPort: 8080\n',
    );
  });

  afterAll(async () => {
    await rm(chartDir, { recursive: true, force: true });
    for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
  });

  async function namespace(): Promise<string> {
    const name = uniqueName('helm-field');
    await core.createNamespace({ body: { metadata: { name } } });
    namespaces.push(name);
    return name;
  }

  async function liveOutcome(ns: string, refusal: () => Promise<string | undefined>): Promise<Outcome> {
    const refused = await refusal();
    // The message names the namespace, which differs between the two installs: compare from the field on.
    if (refused !== undefined) return { refused: /\.spec\S*: [^\n]*/.exec(refused)?.[0] ?? refused.trim() };
    const svc = await core.readNamespacedService({ name: 'web', namespace: ns });
    return { port: svc.spec!.ports![0] as unknown as Record<string, unknown> };
  }

  it('ends the same as plain `helm upgrade --install` with client-side validation on', async () => {
    const [ours, plain] = [await namespace(), await namespace()];

    const withCaelusFlags = await liveOutcome(ours, async () => {
      try {
        await helm.upgradeInstall({ release: 'web', namespace: ours, chart: { kind: 'local', path: chartDir }, values: {}, timeoutSeconds: 60 });
        return undefined;
      } catch (err) {
        if (!(err instanceof HelmError)) throw err;
        return err.message;
      }
    });
    const withHelmDefaults = await liveOutcome(plain, async () => {
      try {
        await run(helmBin(), ['upgrade', '--install', 'web', chartDir, '--namespace', plain, '--kubeconfig', kubeconfig], { env: { ...process.env, ...helmEnv() } });
        return undefined;
      } catch (err) {
        return (err as { stderr?: string }).stderr ?? String(err);
      }
    });

    expect(withCaelusFlags).toEqual(withHelmDefaults);
    if (expectedMajor === 4) {
      // Server-side apply builds a typed object: the field is refused, naming it.
      expect(withCaelusFlags).toEqual({ refused: expect.stringContaining('targtPort: field not declared in schema') });
    } else {
      // Helm 3 never validated here either: the server drops the field.
      expect(withCaelusFlags).toEqual({ port: expect.not.objectContaining({ targtPort: expect.anything() }) });
    }
  });
});

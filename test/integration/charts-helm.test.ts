// Every chart we ship (charts/* and deploy/*, discovered, not listed): `helm
// lint --strict` and `helm template` pass, the rendered kinds are the ones the
// chart promises, values outside its schema are refused, and the example
// charts fit Caelus' guardrails (restricted pod security, their tier, the
// kinds allow-list) with the values the catalog gives them. Named *helm* so CI
// runs it with Helm 3 as well. No cluster needed: helm only.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { checkManifest } from '../../src/domain/kinds-policy.ts';
import { DEFAULT_TIERS, DEFAULT_TIER_NAME } from '../../src/domain/tiers.ts';
import { checkValuesSchema, validateValues } from '../../src/domain/values-schema.ts';
import { parseCatalog } from '../../src/operator/file-catalog.ts';
import { helmBin } from '../support/kube.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const catalogFile = join(root, 'charts/catalog.yaml');

const chartDirs = ['charts', 'deploy'].flatMap((top) =>
  readdirSync(join(root, top), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, top, d.name, 'Chart.yaml')))
    .map((d) => `${top}/${d.name}`),
);

/**
 * What each chart promises to render: with its defaults, and with `domainName`
 * set (what Caelus passes for an instance with spec.domainName). A chart added
 * without a line here fails the "every chart has a promise" test.
 */
const promised: Record<string, { defaults: string[]; withDomain?: string[] }> = {
  'charts/webapp': {
    defaults: ['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Service'],
    withDomain: ['ConfigMap', 'Deployment', 'Ingress', 'PersistentVolumeClaim', 'Service'],
  },
  'charts/tenant-stack': {
    defaults: ['ConfigMap', 'ConfigMap', 'Deployment', 'Service', 'Service', 'StatefulSet'],
    withDomain: ['ConfigMap', 'ConfigMap', 'Deployment', 'Ingress', 'Service', 'Service', 'StatefulSet'],
  },
  'charts/workspace': {
    defaults: ['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Service'],
    withDomain: ['ConfigMap', 'Deployment', 'Ingress', 'PersistentVolumeClaim', 'Service'],
  },
  'deploy/caelus': {
    defaults: ['ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'],
  },
};

/** Values each schema must refuse, and the field helm's message names. */
const schemaViolations: Record<string, Array<[args: string[], field: string]>> = {
  'charts/webapp': [
    [['--set', 'replicaCount=-1'], 'replicaCount'],
    [['--set', 'service.port=70000'], 'port'],
  ],
  'charts/tenant-stack': [
    [['--set', 'surprise=1'], 'surprise'],
    [['--set', 'server.replicaCount=-1'], 'replicaCount'],
    [['--set', 'server.logLevel=loud'], 'logLevel'],
    [['--set', 'server.settings.lower_case=x'], 'lower_case'],
    [['--set', 'server.settings.REDIS_URL=redis://elsewhere'], 'REDIS_URL'],
    [['--set', 'redis.storage.size=lots'], 'size'],
    [['--set-string', 'redis.resources.limits.cpu=fast'], 'cpu'],
    [['--set', 'domainName=Not_A_Host'], 'domainName'],
    [['--set', 'server.image.extra=1'], 'extra'],
  ],
  'charts/workspace': [
    [['--set', 'surprise=1'], 'surprise'],
    [['--set', 'uid=0'], 'uid'],
    [['--set', 'models.available[0]=bad model name'], 'available'],
    [['--set', 'patterns[0].name=Not_DNS'], 'name'],
    [['--set-json', 'patterns=[{"name":"empty","prompt":""}]'], 'prompt'],
    [['--set', 'home.mountPath=/'], 'mountPath'],
    [['--set-string', 'resources.limits.memory=2GB'], 'memory'],
    [['--set', 'domainName=Not_A_Host'], 'domainName'],
  ],
  'deploy/caelus': [[['--set', 'operator.replicaz=3'], 'replicaz']],
};

function objects(manifest: string): k8s.KubernetesObject[] {
  return parseAllDocuments(manifest)
    .map((d) => d.toJSON() as k8s.KubernetesObject | null)
    .filter((o): o is k8s.KubernetesObject => !!o);
}

const kindsOf = (objs: k8s.KubernetesObject[]) => objs.map((o) => o.kind ?? '').sort();

async function render(chart: string, args: string[] = []): Promise<k8s.KubernetesObject[]> {
  const { stdout } = await execa(helmBin(), ['template', 'rel', join(root, chart), '--namespace', 'rel', ...args]);
  return objects(stdout);
}

/** CPU in millicores, memory in bytes: enough of the Kubernetes quantity grammar for our charts. */
function quantity(q: string | number | undefined): number {
  if (q === undefined) return NaN;
  const m = /^([0-9.]+)(m|k|M|G|Ki|Mi|Gi)?$/.exec(String(q));
  if (!m) return NaN;
  const factor: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  return Number(m[1]) * factor[m[2] ?? '']!;
}

interface Workload {
  owner: string;
  replicas: number;
  /** A Deployment's RollingUpdate briefly runs one pod more; Recreate and StatefulSets do not. */
  surges: boolean;
  pod: k8s.V1PodSpec;
}

function podSpecs(objs: k8s.KubernetesObject[]): Workload[] {
  return objs
    .filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind ?? ''))
    .map((o) => {
      const w = o as k8s.V1Deployment | k8s.V1StatefulSet;
      const surges = o.kind === 'Deployment' && (w as k8s.V1Deployment).spec?.strategy?.type !== 'Recreate';
      return { owner: `${o.kind}/${o.metadata?.name}`, replicas: w.spec?.replicas ?? 1, surges, pod: w.spec!.template.spec! };
    });
}

describe('every chart in charts/ and deploy/', () => {
  it('has a promise of what it renders (a new chart needs a line in this test)', () => {
    expect(chartDirs).toEqual(expect.arrayContaining(['charts/webapp', 'charts/tenant-stack', 'charts/workspace', 'deploy/caelus']));
    expect(Object.keys(promised).sort()).toEqual([...chartDirs].sort());
    expect(Object.keys(schemaViolations).sort()).toEqual([...chartDirs].sort());
  });

  describe.each(chartDirs)('%s', (chart) => {
    it('passes helm lint --strict', async () => {
      const { exitCode, stdout } = await execa(helmBin(), ['lint', '--strict', join(root, chart)], { reject: false });
      expect({ exitCode, stdout }).toMatchObject({ exitCode: 0 });
    });

    it('renders the kinds it promises, with and without a domain name', async () => {
      const promise = promised[chart]!;
      expect(kindsOf(await render(chart))).toEqual(promise.defaults);
      if (promise.withDomain) {
        const objs = await render(chart, ['--set', 'domainName=tenant.example.com']);
        expect(kindsOf(objs)).toEqual(promise.withDomain);
        const ingress = objs.find((o) => o.kind === 'Ingress') as k8s.V1Ingress;
        expect(ingress.spec?.rules?.map((r) => r.host)).toEqual(['tenant.example.com']);
      }
    });

    // An admin may paste values.schema.json into a template version's valuesSchema,
    // which Caelus checks against the instance's overrides alone (not merged values).
    it('has a values.schema.json that Caelus can also use for instance overrides', () => {
      const schema = JSON.parse(readFileSync(join(root, chart, 'values.schema.json'), 'utf8')) as Record<string, unknown>;
      expect(checkValuesSchema(schema)).toBeUndefined();
      expect(validateValues(schema, {})).toEqual({ ok: true });
      if (schema['additionalProperties'] === false) expect(validateValues(schema, { surpriseKey: 1 })).toMatchObject({ ok: false });
    });

    it.each(schemaViolations[chart] ?? [])('refuses %j (values.schema.json), naming the field', async (args, field) => {
      const result = await execa(helmBin(), ['template', 'rel', join(root, chart), ...args], { reject: false });
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain(field);
    });
  });
});

describe('the example catalog charts/catalog.yaml', () => {
  const versions = parseCatalog(catalogFile, readFileSync(catalogFile, 'utf8'));
  const cases = versions.map((v) => ({
    ref: `${v.templateName}@${v.version}`,
    chart: relative(root, (v.chart as { path: string }).path),
    tiers: [v.tier ?? DEFAULT_TIER_NAME, ...(v.allowedTiers ?? [])],
    defaults: v.defaultValues,
    // Keys Caelus guarantees in <release>-secrets (generated at creation or required before install).
    declared: (v.secrets ?? []).map((d) => d.name),
  }));
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'caelus-charts-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every example chart in charts/', () => {
    expect(cases.map((c) => c.chart).sort()).toEqual(chartDirs.filter((c) => c.startsWith('charts/')).sort());
  });

  describe.each(cases)('$ref', ({ ref, chart, tiers, defaults, declared }) => {
    // Rendered the way Caelus does: the version's defaultValues plus the domain name.
    let objs: k8s.KubernetesObject[];
    beforeAll(async () => {
      const file = join(dir, `${ref.replace(/[^a-z0-9.-]/gi, '_')}.json`);
      await writeFile(file, JSON.stringify({ ...defaults, domainName: 'tenant.example.com' }));
      objs = await render(chart, ['--values', file]);
    });

    it("has defaultValues its chart's schema accepts (as Caelus validates overrides)", () => {
      const schema = JSON.parse(readFileSync(join(root, chart, 'values.schema.json'), 'utf8')) as Record<string, unknown>;
      expect(validateValues(schema, { ...defaults, domainName: 'tenant.example.com' })).toEqual({ ok: true });
    });

    it('uses only kinds the policy step allows', () => {
      expect(checkManifest(objs, { namespace: 'rel', reserved: [{ kind: 'Secret', name: 'rel-secrets' }] })).toEqual([]);
    });

    it('runs every container under Pod Security "restricted"', () => {
      const pods = podSpecs(objs);
      expect(pods.length).toBeGreaterThan(0);
      for (const { owner, pod } of pods) {
        expect({ owner, ...pod.securityContext }).toMatchObject({ owner, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect(pod.securityContext?.runAsUser).not.toBe(0);
        for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
          expect({ owner, container: c.name, ...c.securityContext }).toMatchObject({
            owner,
            container: c.name,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          });
          expect(c.securityContext?.privileged).not.toBe(true);
          expect(c.securityContext?.capabilities?.add ?? []).toEqual([]);
        }
        for (const v of pod.volumes ?? []) expect({ owner, volume: v.name, hostPath: v.hostPath }).toEqual({ owner, volume: v.name, hostPath: undefined });
      }
    });

    it('sets requests and limits that fit its tiers, with room for one rolling-update surge pod', () => {
      for (const tierName of tiers) {
        const tier = DEFAULT_TIERS.find((t) => t.name === tierName)!;
        expect(tier).toBeDefined();
        const budget = { cpu: quantity(tier.quota.cpu), memory: quantity(tier.quota.memory) };
        const total = { cpu: 0, memory: 0 };
        let largestSurge = { cpu: 0, memory: 0 };
        for (const { owner, replicas, surges, pod } of podSpecs(objs)) {
          const perPod = { cpu: 0, memory: 0 };
          for (const c of pod.containers) {
            const { requests, limits } = c.resources ?? {};
            for (const r of ['cpu', 'memory'] as const) {
              const [req, lim] = [quantity(requests?.[r]), quantity(limits?.[r])];
              expect({ owner, container: c.name, resource: r, requestSet: req > 0, limitSet: lim > 0, requestWithinLimit: req <= lim }).toEqual({
                owner, container: c.name, resource: r, requestSet: true, limitSet: true, requestWithinLimit: true,
              });
              perPod[r] += lim;
            }
          }
          total.cpu += perPod.cpu * replicas;
          total.memory += perPod.memory * replicas;
          if (surges && perPod.cpu > largestSurge.cpu) largestSurge = perPod;
        }
        expect({ tier: tierName, cpuFits: total.cpu + largestSurge.cpu <= budget.cpu, memoryFits: total.memory + largestSurge.memory <= budget.memory }).toEqual({
          tier: tierName, cpuFits: true, memoryFits: true,
        });
      }
    });

    it('fits the storage, volume and Service limits of its tiers (ResourceQuota requests.storage, persistentvolumeclaims, services.*)', () => {
      type Claim = { spec?: { resources?: { requests?: Record<string, string> } } };
      const claims: Claim[] = [];
      for (const o of objs) {
        if (o.kind === 'PersistentVolumeClaim') claims.push(o as Claim);
        if (o.kind === 'StatefulSet') {
          const sts = o as k8s.V1StatefulSet;
          for (let i = 0; i < (sts.spec?.replicas ?? 1); i++) claims.push(...((sts.spec?.volumeClaimTemplates ?? []) as Claim[]));
        }
      }
      const services = objs.filter((o) => o.kind === 'Service') as k8s.V1Service[];
      const used = {
        storage: claims.reduce((sum, c) => sum + quantity(c.spec?.resources?.requests?.['storage']), 0),
        persistentVolumeClaims: claims.length,
        services: services.length,
        loadBalancers: services.filter((s) => s.spec?.type === 'LoadBalancer').length,
        nodePorts: services.filter((s) => s.spec?.type === 'NodePort' || s.spec?.type === 'LoadBalancer').length,
      };
      for (const tierName of tiers) {
        const limits = DEFAULT_TIERS.find((t) => t.name === tierName)!.objects;
        expect({ tier: tierName, ...used }).toEqual({
          tier: tierName,
          storage: used.storage <= quantity(limits.storage) ? used.storage : `over ${limits.storage}`,
          persistentVolumeClaims: Math.min(used.persistentVolumeClaims, limits.persistentVolumeClaims),
          services: Math.min(used.services, limits.services),
          loadBalancers: Math.min(used.loadBalancers, limits.loadBalancers),
          nodePorts: Math.min(used.nodePorts, limits.nodePorts),
        });
      }
    });

    it('reads secrets only from the contract Secret <release>-secrets (optional unless the version declares the key) and never renders it', () => {
      expect(objs.filter((o) => o.kind === 'Secret').map((o) => o.metadata?.name)).not.toContain('rel-secrets');
      for (const { pod } of podSpecs(objs)) {
        for (const c of pod.containers) {
          for (const from of c.envFrom ?? []) if (from.secretRef) expect(from.secretRef).toEqual({ name: 'rel-secrets', optional: true });
          for (const e of c.env ?? []) {
            const ref = e.valueFrom?.secretKeyRef;
            if (ref) expect(ref).toMatchObject({ name: 'rel-secrets', ...(declared.includes(ref.key) ? {} : { optional: true }) });
          }
        }
      }
    });
  });

  it('workspace: refuses a default model that is not in the list', async () => {
    const result = await execa(helmBin(), ['template', 'rel', join(root, 'charts/workspace'), '--set', 'models.default=gpt-9'], { reject: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('models.default "gpt-9" must be one of models.available');
  });
});

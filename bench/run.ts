// `npm run bench -- <scenario> [options]`: starts what a scenario needs (local
// control plane, `caelus operator`, `caelus api`, a throw-away database),
// prints a table, writes bench/results/<scenario>-<timestamp>.json and stops
// everything again, also on Ctrl-C or a failure. DESIGN §8; never part of npm test.
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { cleanupAll, installSignalHandlers } from './lib/cleanup.ts';
import { log, startBenchEnv, type BenchEnv } from './lib/env.ts';
import { finishMachineInfo, logDir, machineInfo, writeResult } from './lib/results.ts';
import { compareRows } from './lib/compare.ts';
import { readyChart } from './lib/svg.ts';
import { formatTable } from './lib/table.ts';
import { runApi, runApiRate } from './scenarios/api.ts';
import { parseApiMix, type ApiMix } from './lib/api-load.ts';
import { runConsole } from './scenarios/console.ts';
import { runConsoleList } from './scenarios/console-list.ts';
import { runFlux } from './scenarios/flux.ts';
import { runDrift } from './scenarios/drift.ts';
import { runRollout } from './scenarios/rollout.ts';
import { runScale } from './scenarios/scale.ts';
import { runSteady } from './scenarios/steady.ts';

/** Flux helm-controller's published figures (podinfo, concurrency 10, 2 CPUs): the anchor of DESIGN §8. */
export const FLUX_ANCHOR = { '100': '27 s', '500': '2m45s', '1000': '8m12s', peakMemory: '400 MiB' };

const int = (name: string, min = 1) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
};

interface Printed {
  result: unknown;
  table: string;
}

/** Prints the table and writes the JSON with the machine and its load; returns the path. */
function report(scenario: string, printed: Printed, machine: ReturnType<typeof machineInfo>, extra: Record<string, unknown> = {}): string {
  const path = writeResult(scenario, { scenario, machine: finishMachineInfo(machine), ...extra, result: printed.result });
  process.stdout.write(`\n== ${scenario} ==\n${printed.table}\n→ ${path}\n`);
  return path;
}

async function withEnv<T>(fn: (env: BenchEnv) => Promise<T>): Promise<T> {
  const env = await startBenchEnv();
  try {
    return await fn(env);
  } finally {
    await env.stop();
  }
}

type KubeOpts = { concurrency: number; cpuProf?: boolean };
type ScaleOpts = KubeOpts & { n: number; heapSnapshot?: boolean };
type DriftOpts = KubeOpts & { instances: number; ops: number };
type ApiOpts = { users: number; createsPerUser: number; reads: number; inFlight: number; cpuProf?: boolean; rate?: number; duration: number; seedPerUser: number; operator: boolean; concurrency?: number; mix?: ApiMix; settle?: boolean };

async function scale(o: ScaleOpts): Promise<string> {
  const machine = machineInfo();
  const dir = logDir('scale');
  return withEnv(async (env) => {
    const r = await runScale(env, { n: o.n, concurrency: o.concurrency, logDir: dir, ...(o.cpuProf ? { cpuProf: true } : {}), ...(o.heapSnapshot ? { heapSnapshot: true } : {}) });
    await r.fleet.operator.stop();
    return report('scale', r, machine, { helm: env.helmVersion, logs: dir, anchor: FLUX_ANCHOR });
  });
}

/** Steady state needs a fleet: a scale run first (its figures are written too), then the resyncs on the same instances. */
async function steady(o: ScaleOpts): Promise<string[]> {
  const machine = machineInfo();
  const dir = logDir('steady');
  return withEnv(async (env) => {
    const s = await runScale(env, { n: o.n, concurrency: o.concurrency, logDir: dir, ...(o.cpuProf ? { cpuProf: true } : {}) });
    const scalePath = report('scale', s, machine, { helm: env.helmVersion, logs: dir, anchor: FLUX_ANCHOR });
    const machine2 = machineInfo();
    const r = await runSteady(env, s.fleet, { concurrency: o.concurrency, logDir: dir, ...(o.cpuProf ? { cpuProf: true } : {}) });
    return [scalePath, report('steady', r, machine2, { helm: env.helmVersion, logs: dir })];
  });
}

async function flux(o: ScaleOpts): Promise<string> {
  const machine = machineInfo();
  const dir = logDir('flux');
  return withEnv(async (env) => {
    const r = await runFlux(env, { n: o.n, concurrency: o.concurrency, logDir: dir });
    await r.stop();
    return report('flux', r, machine, { logs: dir });
  });
}

/** The Caelus scale scenario and the Flux one back to back, each on a fresh control plane, then both with Caelus ÷ Flux. */
async function compare(o: ScaleOpts): Promise<string> {
  const machine = machineInfo();
  const dir = logDir('compare');
  const caelus = await withEnv(async (env) => {
    const r = await runScale(env, { n: o.n, concurrency: o.concurrency, logDir: dir });
    await r.fleet.operator.stop();
    return { result: r.result, table: r.table, helm: env.helmVersion, loadAverage: machineInfo().loadAverageStart };
  });
  process.stdout.write(`\n== compare: Caelus scale ==\n${caelus.table}\n`);
  const fluxRun = await withEnv(async (env) => {
    const r = await runFlux(env, { n: o.n, concurrency: o.concurrency, logDir: dir });
    await r.stop();
    return { result: r.result, table: r.table, loadAverage: machineInfo().loadAverageStart };
  });
  process.stdout.write(`\n== compare: Flux ==\n${fluxRun.table}\n`);
  const rows = compareRows(caelus.result, fluxRun.result);
  const table = formatTable(
    [`${o.n} instances, concurrency ${o.concurrency}`, 'Caelus', 'Flux', 'Caelus ÷ Flux'],
    rows.map((r) => [r.measure, r.caelus, r.flux, r.ratio]),
    2,
  );
  const result = { rows, caelus: caelus.result, flux: fluxRun.result, loadAfterCaelus: caelus.loadAverage, loadAfterFlux: fluxRun.loadAverage };
  const load = `load average (1/5/15 min): start ${machine.loadAverageStart.join(' ')}, after Caelus ${caelus.loadAverage.join(' ')}, after Flux ${fluxRun.loadAverage.join(' ')}`;
  const path = report('compare', { result, table: `${table}\n${load}` }, machine, { helm: caelus.helm, logs: dir });
  const svg = path.replace(/\.json$/, '.svg');
  writeFileSync(svg, compareChart(result));
  process.stdout.write(`→ ${svg}\n`);
  return path;
}

/** Instances Ready over time, Caelus and Flux on one chart. */
function compareChart(r: { caelus: { n: number; concurrency: number; readyTimeline: number[] }; flux: { readyTimeline: number[] } }): string {
  return readyChart(`${r.caelus.n} instances, concurrency ${r.caelus.concurrency}, same machine`, [
    { label: 'Caelus', color: '#1f77b4', timeline: r.caelus.readyTimeline },
    { label: 'Flux helm-controller', color: '#ff7f0e', timeline: r.flux.readyTimeline },
  ]);
}

async function drift(o: DriftOpts): Promise<string> {
  const machine = machineInfo();
  const dir = logDir('drift');
  return withEnv(async (env) => {
    const r = await runDrift(env, { instances: o.instances, ops: o.ops, concurrency: o.concurrency, logDir: dir });
    return report('drift', r, machine, { helm: env.helmVersion, logs: dir });
  });
}

async function api(o: ApiOpts): Promise<string> {
  const machine = machineInfo();
  const dir = logDir('api');
  if (o.rate !== undefined) {
    const rate = o.rate;
    const run = (env?: BenchEnv) =>
      runApiRate({
        databaseUrl: process.env['DATABASE_URL'],
        users: o.users,
        seedPerUser: o.seedPerUser,
        rate,
        durationSeconds: o.duration,
        logDir: dir,
        ...(o.cpuProf ? { cpuProf: true } : {}),
        ...(o.mix ? { mix: o.mix } : {}),
        ...(o.settle ? { settle: true } : {}),
        ...(env ? { env, operatorConcurrency: o.concurrency ?? 8 } : {}),
      });
    const r = o.operator ? await withEnv(run) : await run();
    return report('api', r, machine, { logs: dir });
  }
  const r = await runApi({
    databaseUrl: process.env['DATABASE_URL'],
    users: o.users,
    createsPerUser: o.createsPerUser,
    readsPerInstance: o.reads,
    concurrency: o.inFlight,
    logDir: dir,
    ...(o.cpuProf ? { cpuProf: true } : {}),
  });
  return report('api', r, machine, { logs: dir });
}

async function consolePage(o: { instances: number; loads: number }): Promise<string> {
  const machine = machineInfo();
  const dir = logDir('console');
  const r = await runConsole({ databaseUrl: process.env['DATABASE_URL'], instances: o.instances, loads: o.loads, logDir: dir });
  return report('console', r, machine, { logs: dir });
}

async function consoleList(o: { instances: number; users: number; requests: number }): Promise<string> {
  const machine = machineInfo();
  const r = await runConsoleList({ databaseUrl: process.env['DATABASE_URL'], ...o });
  return report('console-list', r, machine);
}

async function rollout(o: ScaleOpts): Promise<string> {
  const machine = machineInfo();
  const dir = logDir('rollout');
  return withEnv(async (env) => {
    const r = await runRollout(env, { databaseUrl: process.env['DATABASE_URL'], n: o.n, concurrency: o.concurrency, logDir: dir });
    return report('rollout', r, machine, { helm: env.helmVersion, logs: dir });
  });
}

const program = new Command('bench').description('Caelus benchmarks (DESIGN §8): figures printed and written as JSON, never asserted');
const concurrency = () => new Option('--concurrency <n>', 'operator concurrency (instances reconciled at once)').argParser(int('concurrency')).default(8);
const cpuProf = () => new Option('--cpu-prof', 'write a V8 CPU profile of the operator (node --cpu-prof) next to the logs');
const nOpt = () => new Option('--n <n>', 'instances created at once (Flux anchor: 100, 500, 1000)').argParser(int('n')).default(100);

async function main(fn: () => Promise<unknown>): Promise<void> {
  installSignalHandlers();
  try {
    await fn();
  } catch (err) {
    process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  } finally {
    await cleanupAll();
  }
}

program
  .command('scale')
  .description('N instances created at once → time until all Ready, operator peak RSS/CPU, helm processes, API-server requests')
  .addOption(nOpt())
  .addOption(concurrency())
  .addOption(cpuProf())
  .addOption(new Option('--heap-snapshot', 'once all are Ready, take a heap snapshot of the operator (next to the logs) and print its largest groups'))
  .action((o: ScaleOpts) => main(() => scale(o)));

program
  .command('flux')
  .description('the scale scenario with Flux helm-controller + source-controller (built by hack/build-flux.sh): N namespaces + HelmReleases → time until all Ready, CPU and peak RSS of each controller, API-server requests')
  .addOption(nOpt())
  .addOption(new Option('--concurrency <n>', 'helm-controller --concurrent').argParser(int('concurrency')).default(8))
  .action((o: ScaleOpts) => main(() => flux(o)));

program
  .command('compare')
  .description('scale (Caelus) and flux back to back, each on a fresh control plane; prints both and Caelus ÷ Flux per measure')
  .addOption(nOpt())
  .addOption(concurrency())
  .action((o: ScaleOpts) => main(() => compare(o)));

program
  .command('chart')
  .description('the instances-Ready-over-time SVG of a compare JSON (e.g. bench/results/latest/compare-100.json)')
  .argument('<json>', 'a compare result')
  .argument('<svg>', 'where to write the chart')
  .action((json: string, svg: string) => writeFileSync(svg, compareChart((JSON.parse(readFileSync(json, 'utf8')) as { result: Parameters<typeof compareChart>[0] }).result)));

program
  .command('console')
  .description('the web console in Chromium with N instance rows in PostgreSQL → time until the list page shows its first page (median of cold loads)')
  .addOption(new Option('--instances <n>', 'instance rows in the database').argParser(int('instances')).default(1000))
  .addOption(new Option('--loads <n>', 'cold page loads measured (after one warm-up)').argParser(int('loads')).default(10))
  .action((o: { instances: number; loads: number }) => main(() => consolePage(o)));

program
  .command('steady')
  .description('after a scale run: every unchanged instance reconciled again (warm: CRs annotated; cold: operator restarted) → helm processes (goal 0), reconcile time, CPU')
  .addOption(nOpt())
  .addOption(concurrency())
  .addOption(cpuProf())
  .action((o: ScaleOpts) => main(() => steady(o)));

program
  .command('drift')
  .description('edits/scales/deletes of managed objects → write-to-corrected latency p50/p90/p99/max')
  .addOption(new Option('--instances <n>', 'instances the operations are spread over').argParser(int('instances')).default(20))
  .addOption(new Option('--ops <n>', 'operations (edit, scale, delete in turn)').argParser(int('ops')).default(100))
  .addOption(concurrency())
  .action((o: DriftOpts) => main(() => drift(o)));

program
  .command('rollout')
  .description('N instances on 1.0.0, then fleet rollouts through POST /rollouts (default strategy; bakeSeconds 0 + maxConcurrent 16) → time to Succeeded, helm per instance, operator CPU/RSS (needs DATABASE_URL)')
  .addOption(nOpt())
  .addOption(concurrency())
  .action((o: ScaleOpts) => main(() => rollout(o)));

program
  .command('console-list')
  .description("the console's instance list: N rows in a throw-away PostgreSQL database (DATABASE_URL), GET /instances per sort and filter → p50/p99 (ms)")
  .addOption(new Option('--instances <n>', 'instance rows').argParser(int('instances')).default(1000))
  .addOption(new Option('--users <n>', 'tenants owning them').argParser(int('users')).default(10))
  .addOption(new Option('--requests <n>', 'sequential requests per case').argParser(int('requests')).default(50))
  .action((o: { instances: number; users: number; requests: number }) => main(() => consoleList(o)));

/** commander's argParser for --mix: the rule lives with the mix (bench/lib/api-load.ts). */
function mixOption(text: string): ApiMix {
  try {
    return parseApiMix(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

const apiOptions = (c: Command) =>
  c
    .addOption(new Option('--users <n>', 'tenant users (one token each)').argParser(int('users')).default(20))
    .addOption(new Option('--creates-per-user <n>', 'instances each user creates').argParser(int('creates-per-user')).default(10))
    .addOption(new Option('--reads <n>', 'get + list rounds per created instance').argParser(int('reads')).default(2))
    .addOption(new Option('--in-flight <n>', 'concurrent requests').argParser(int('in-flight')).default(16))
    .addOption(new Option('--rate <r>', 'open loop instead: R requests per second (--mix, default 70% get, 20% list, 10% create), each timed from its scheduled send time, with the operator running').argParser(int('rate')))
    .addOption(new Option('--duration <s>', 'with --rate: seconds of load').argParser(int('duration')).default(20))
    .addOption(new Option('--seed-per-user <n>', 'with --rate: instances each user creates before the timed run (what the gets read)').argParser(int('seed-per-user')).default(5))
    .addOption(new Option('--mix <get,list,create>', 'with --rate: the weights of the three routes (default 70,20,10; each create is an install for the operator)').argParser(mixOption))
    .addOption(new Option('--settle', 'with --rate: start the clock once the operator has installed the seeded instances (all Running)'))
    .addOption(new Option('--no-operator', 'with --rate: no control plane and operator (the API and PostgreSQL alone)'))
    .addOption(new Option('--cpu-prof', 'write a V8 CPU profile of `caelus api` (node --cpu-prof) next to the logs'));

apiOptions(
  program
    .command('api')
    .description('concurrent create/list/get against `caelus api` on a throw-away PostgreSQL database (DATABASE_URL) → req/s and p50/p99 per route; --rate: open loop with the operator running')
    .addOption(new Option('--concurrency <n>', 'with --rate: operator concurrency').argParser(int('concurrency')).default(8)),
).action(
  (o: ApiOpts) => main(() => api(o)),
);

apiOptions(
  program
    .command('all')
    .description('scale + steady (one control plane), drift, api (each on its own); prints where every JSON went')
    .addOption(nOpt())
    .addOption(concurrency())
    .addOption(new Option('--instances <n>', 'drift: instances').argParser(int('instances')).default(20))
    .addOption(new Option('--ops <n>', 'drift: operations').argParser(int('ops')).default(100)),
).action((o: ScaleOpts & DriftOpts & ApiOpts) =>
  main(async () => {
    const paths = [...(await steady(o)), await drift(o)];
    if (process.env['DATABASE_URL']) paths.push(await api(o));
    else log('api: skipped (DATABASE_URL is not set; bash hack/ensure-postgres.sh prints one)');
    process.stdout.write(`\nresults:\n${paths.map((p) => `  ${p}`).join('\n')}\n`);
  }),
);

await program.parseAsync(process.argv);

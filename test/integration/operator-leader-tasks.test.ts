// Leader tasks (how the DB ↔ CR sync runs beside the reconciler): started once
// this replica takes the Lease, stopped with the term and awaited by stop();
// one that fails is logged and does not end the term.
import { operatorConfig } from '../../src/config/operator.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { createOperatorRuntime, type OperatorRuntime } from '../../src/operator/run-operator.ts';
import { eventually, helmBin, uniqueName } from '../support/kube.ts';
import { SHARD_LABEL, TEST_CATALOG } from '../support/operator.ts';

const shard = uniqueName('leadtask');
const logLines: string[] = [];
let runtime: OperatorRuntime | undefined;

afterAll(async () => {
  await runtime?.stop();
});

it('runs leader tasks while leading, keeps the term when one fails, and stops them with the runtime', async () => {
  const env = {
    KUBECONFIG: process.env['CAELUS_TEST_KUBECONFIG'],
    HELM_BIN: helmBin(),
    CAELUS_CATALOG: TEST_CATALOG,
    CAELUS_IDENTITY: `${shard}-a`,
    CAELUS_LEASE_NAME: `caelus-${shard}`,
    CAELUS_LEASE_NAMESPACE: 'caelus-test-leases',
    CAELUS_LEASE_DURATION_SECONDS: '3',
    CAELUS_METRICS_PORT: '0',
    CAELUS_METRICS_HOST: '127.0.0.1',
  };
  const seen = { started: 0, aborted: false, finished: false, contextHadDatabase: true };
  runtime = await createOperatorRuntime(operatorConfig({}, env), {
    log: createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } }),
    metrics: createMetrics(),
    labelSelector: `${SHARD_LABEL}=${shard}`,
    env,
    leaderTasks: (context) => {
      seen.contextHadDatabase = context.database !== undefined;
      return [
        () => Promise.reject(new Error('leader task boom')),
        async (signal) => {
          seen.started++;
          await new Promise<void>((done) => signal.addEventListener('abort', () => done(), { once: true }));
          seen.aborted = true;
          // Some clean-up after the abort: stop() must wait for it.
          await new Promise((r) => setTimeout(r, 200));
          seen.finished = true;
        },
      ];
    },
  });
  // A file catalog: nothing for a sync to mirror.
  expect(seen.contextHadDatabase).toBe(false);
  expect(seen.started).toBe(0);

  await runtime.start();
  await eventually(async () => (runtime!.operator.leading && seen.started === 1 ? true : undefined));
  await eventually(async () => (logLines.some((l) => l.includes('leader task failed') && l.includes('leader task boom')) ? true : undefined));
  // Past the failure, and past a lease renewal, the term and the other task go on.
  await new Promise((r) => setTimeout(r, 3_000));
  expect(runtime.operator.leading).toBe(true);
  expect(seen).toMatchObject({ started: 1, aborted: false, finished: false });

  await runtime.stop();
  runtime = undefined;
  expect(seen).toMatchObject({ started: 1, aborted: true, finished: true });
});

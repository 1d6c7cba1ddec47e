// The runner against a fake `helm` (a shell script), so cancellation, the
// SIGTERM → SIGKILL escalation, deadlines and counting are tested without a
// cluster. Real helm behaviour on SIGTERM is covered by the integration tests.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelmError } from '../../../src/helm/errors.ts';
import { HelmRunner } from '../../../src/helm/runner.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';

const FAKE_HELM = `#!/bin/sh
case "$1" in
  echo-stdin) cat ;;
  env) printf '%s' "$HELM_PLUGINS" ;;
  fail) echo 'Release "x" does not exist. Installing it now.' >&2; echo 'Error: release: not found' >&2; exit 1 ;;
  polite) trap 'kill $pid; echo "Release x has been cancelled." >&2; echo "Error: context canceled" >&2; exit 1' TERM; sleep 30 & pid=$!; wait $pid ;;
  stubborn) trap '' TERM; exec sleep 30 ;;
esac
`;

let dir: string;
let fake: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'caelus-fake-helm-'));
  fake = join(dir, 'helm');
  await writeFile(fake, FAKE_HELM);
  await chmod(fake, 0o755);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function runner(metrics = createMetrics(), killGraceMs = 300) {
  return { r: new HelmRunner({ binary: fake, env: { HELM_PLUGINS: '/plugins' }, metrics, killGraceMs }), metrics };
}

async function counter(metrics: ReturnType<typeof createMetrics>, verb: string, result: string): Promise<number> {
  const m = await metrics.helmInvocations.get();
  return m.values.find((v) => v.labels['verb'] === verb && v.labels['result'] === result)?.value ?? 0;
}

describe('HelmRunner', () => {
  it('feeds input on stdin, passes env, counts the process and its duration', async () => {
    const { r, metrics } = runner();
    expect((await r.run({ verb: 'upgrade', args: ['echo-stdin'], input: '{"a":1}', deadlineMs: 5000 })).stdout).toBe('{"a":1}');
    expect((await r.run({ verb: 'status', args: ['env'], deadlineMs: 5000 })).stdout).toBe('/plugins');
    expect(r.spawnedProcesses).toBe(2);
    expect(await counter(metrics, 'upgrade', 'success')).toBe(1);
    expect((await metrics.helmDuration.get()).values.find((v) => v.metricName === 'caelus_helm_duration_seconds_count' && v.labels['verb'] === 'status')?.value).toBe(1);
  });

  it('turns a failure into a classified HelmError', async () => {
    const { r, metrics } = runner();
    const err = await r.run({ verb: 'status', args: ['fail'], release: 'x', namespace: 'n', deadlineMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HelmError);
    expect(err).toMatchObject({ reason: 'ReleaseNotFound', verb: 'status', exitCode: 1, release: 'x', namespace: 'n' });
    expect((err as HelmError).message).toContain('Error: release: not found');
    expect(await counter(metrics, 'status', 'ReleaseNotFound')).toBe(1);
  });

  it('cancels with SIGTERM and lets helm finish its own cleanup', async () => {
    const { r, metrics } = runner(createMetrics(), 5000);
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(new Error('shutdown')), 200);
    const err = (await r.run({ verb: 'upgrade', args: ['polite'], signal: ac.signal, deadlineMs: 20_000 }).catch((e: unknown) => e)) as HelmError;
    expect(err.reason).toBe('Canceled');
    expect(err.stderrTail).toContain('has been cancelled');
    expect(Date.now() - t0).toBeLessThan(4000); // exited on SIGTERM, no SIGKILL needed
    expect(await counter(metrics, 'upgrade', 'Canceled')).toBe(1);
  });

  it('SIGKILLs a process that ignores SIGTERM after the grace period', async () => {
    const { r } = runner(createMetrics(), 300);
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 100);
    const err = (await r.run({ verb: 'upgrade', args: ['stubborn'], signal: ac.signal, deadlineMs: 20_000 }).catch((e: unknown) => e)) as HelmError;
    expect(err.reason).toBe('Canceled');
    expect(err.signal).toBe('SIGKILL');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('never spawns for an already aborted signal', async () => {
    const { r } = runner();
    const err = (await r.run({ verb: 'upgrade', args: ['echo-stdin'], signal: AbortSignal.abort(), deadlineMs: 5000 }).catch((e: unknown) => e)) as HelmError;
    expect(err.reason).toBe('Canceled');
    expect(r.spawnedProcesses).toBe(0);
  });

  it('enforces the process deadline as a Timeout', async () => {
    const { r } = runner();
    const err = (await r.run({ verb: 'status', args: ['polite'], deadlineMs: 200 }).catch((e: unknown) => e)) as HelmError;
    expect(err.reason).toBe('Timeout');
  });

  it('reports a missing binary as a HelmError with the spawn error', async () => {
    const r = new HelmRunner({ binary: join(dir, 'no-such-helm'), env: {}, killGraceMs: 100 });
    const err = (await r.run({ verb: 'version', args: [], deadlineMs: 1000 }).catch((e: unknown) => e)) as HelmError;
    expect(err).toBeInstanceOf(HelmError);
    expect(err.reason).toBe('Unknown');
    expect(err.message).toMatch(/ENOENT/);
    expect(r.spawnedProcesses).toBe(1);
  });
});

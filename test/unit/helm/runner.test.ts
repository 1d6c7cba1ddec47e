// The runner against a fake `helm` (a shell script), so cancellation, the
// SIGTERM → SIGKILL escalation, deadlines and counting are tested without a
// cluster, through both launchers: the Go spawner (hack/spawner, built by
// hack/build-go-helpers.sh) and Node's own fork. Real helm behaviour on
// SIGTERM is covered by the integration tests.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelmError } from '../../../src/helm/errors.ts';
import { goHelperPath } from '../../../src/helm/go-helpers.ts';
import { forkLauncher, SpawnerLauncher, type Launcher } from '../../../src/helm/launcher.ts';
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

function spawnerLauncher(): Launcher {
  const path = goHelperPath('spawner');
  if (path === undefined) throw new Error('the helm spawner is not built: run hack/build-go-helpers.sh (.ci/run and the integration setup do)');
  return new SpawnerLauncher(path);
}

const launchers: [string, () => Launcher][] = [
  ['spawner', spawnerLauncher],
  ['fork', () => forkLauncher],
];

async function counter(metrics: ReturnType<typeof createMetrics>, verb: string, result: string): Promise<number> {
  const m = await metrics.helmInvocations.get();
  return m.values.find((v) => v.labels['verb'] === verb && v.labels['result'] === result)?.value ?? 0;
}

describe.each(launchers)('HelmRunner (%s)', (_kind, makeLauncher) => {
  const launcher = makeLauncher();
  const runner = (metrics = createMetrics(), killGraceMs = 300) => ({
    r: new HelmRunner({ binary: fake, env: { HELM_PLUGINS: '/plugins' }, metrics, killGraceMs, launcher }),
    metrics,
  });

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
    const r = new HelmRunner({ binary: join(dir, 'no-such-helm'), env: {}, killGraceMs: 100, launcher });
    const err = (await r.run({ verb: 'version', args: [], deadlineMs: 1000 }).catch((e: unknown) => e)) as HelmError;
    expect(err).toBeInstanceOf(HelmError);
    expect(err.reason).toBe('Unknown');
    expect(err.message).toMatch(/ENOENT|no such file or directory/);
    expect(r.spawnedProcesses).toBe(1);
  });
});

describe('SpawnerLauncher', () => {
  const out = (bytes: number) => ['-c', `head -c ${bytes} /dev/zero | tr '\\0' x`];

  it('runs many processes at once and returns each one its own large output', async () => {
    const launcher = spawnerLauncher();
    const sizes = [1, 1000, 5 * 1024 * 1024, 70_000, 3];
    const results = await Promise.all(
      sizes.map((n) => launcher.launch({ file: '/bin/sh', args: out(n), env: {}, timeoutMs: 20_000, killGraceMs: 100 })),
    );
    expect(results.map((r) => [r.exitCode, r.stdout.length])).toEqual(sizes.map((n) => [0, n]));
  });

  it('reports what ran as not run when the spawner dies, and starts a new one for the next process', async () => {
    const launcher = spawnerLauncher() as SpawnerLauncher;
    const first = launcher.launch({ file: '/bin/sleep', args: ['30'], env: {}, timeoutMs: 60_000, killGraceMs: 100 });
    await new Promise((r) => setTimeout(r, 200));
    const pid = launcher.pid!;
    process.kill(pid, 'SIGKILL');
    expect(await first).toMatchObject({ exitCode: undefined, startError: expect.stringContaining('helm spawner exited (SIGKILL)') });
    const again = await launcher.launch({ file: '/bin/sh', args: ['-c', 'echo again'], env: {}, timeoutMs: 5000, killGraceMs: 100 });
    expect(again).toMatchObject({ exitCode: 0, stdout: 'again\n' });
    expect(launcher.pid).not.toBe(pid);
  });

  it('kills a spawner that breaks the protocol and reports what it was running as not run', async () => {
    const liar = join(dir, 'liar');
    await writeFile(liar, '#!/bin/sh\nread line\necho not-json\nexec sleep 30\n');
    await chmod(liar, 0o755);
    const r = await new SpawnerLauncher(liar).launch({ file: '/bin/true', args: [], env: {}, timeoutMs: 5000, killGraceMs: 100 });
    expect(r).toMatchObject({ exitCode: undefined, startError: 'helm spawner exited (SIGKILL)' });
  });

  it('ends when the process that started it is killed with SIGKILL, as an operator may be', async () => {
    const path = goHelperPath('spawner')!;
    const owner = join(dir, 'owner.ts');
    const launcher = new URL('../../../src/helm/launcher.ts', import.meta.url).href;
    await writeFile(
      owner,
      [
        `import { SpawnerLauncher } from ${JSON.stringify(launcher)};`,
        `const l = new SpawnerLauncher(${JSON.stringify(path)});`,
        `void l.launch({ file: '/bin/sleep', args: ['2'], env: {}, timeoutMs: 60000, killGraceMs: 100 });`,
        'console.log(l.pid);',
        'setInterval(() => {}, 1000);',
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--no-warnings', owner], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    expect(pid).toBeGreaterThan(0);
    const state = () => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat[stat.lastIndexOf(')') + 2];
      } catch {
        return 'gone';
      }
    };
    expect(state()).not.toBe('gone');
    child.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    // Exited: gone, or a zombie its new parent has not reaped yet.
    while (!['gone', 'Z'].includes(state() ?? '') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(['gone', 'Z']).toContain(state());
  });

  it('passes process.env under the request env, and ends helm with the exit code it chose', async () => {
    const launcher = spawnerLauncher();
    process.env['CAELUS_TEST_OUTER'] = 'outer';
    try {
      const r = await launcher.launch({ file: '/bin/sh', args: ['-c', 'echo "$CAELUS_TEST_OUTER $CAELUS_TEST_INNER"; exit 7'], env: { CAELUS_TEST_INNER: 'inner' }, timeoutMs: 5000, killGraceMs: 100 });
      expect(r).toMatchObject({ exitCode: 7, stdout: 'outer inner\n', signal: undefined, startError: undefined });
    } finally {
      delete process.env['CAELUS_TEST_OUTER'];
    }
  });
});

import * as k8s from '@kubernetes/client-node';
import { LeaderElector, LeadershipLostError, type LeaderElectionOptions } from '../../src/k8s/leader-election.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { eventually, testKubeConfig, uniqueName } from '../support/kube.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const logger = createLogger({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent', name: 'k8s-le-test' });
const timing = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 250 };

interface Candidate {
  elector: LeaderElector;
  run: Promise<void>;
  startedAt?: number;
  stoppedAt?: number;
  signal?: AbortSignal;
}

function candidate(kc: k8s.KubeConfig, opts: Partial<LeaderElectionOptions> & { name: string; identity: string }): Candidate {
  const elector = new LeaderElector(kc, { logger, namespace: 'default', ...timing, ...opts });
  const c: Candidate = { elector, run: Promise.resolve() };
  c.run = elector.run({
    onStartedLeading: (signal) => {
      c.startedAt = Date.now();
      c.signal = signal;
    },
    onStoppedLeading: () => {
      c.stoppedAt = Date.now();
    },
  });
  return c;
}

function report(line: string): void {
  process.stderr.write(`[k8s-leader-election] ${line}\n`);
}

describe('LeaderElector against the control plane', () => {
  const kc = testKubeConfig();
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const cleanup: Candidate[] = [];

  afterAll(async () => {
    await Promise.all(cleanup.map((c) => c.elector.stop()));
  });

  it('elects exactly one leader; a graceful stop hands over at once through the released lease', async () => {
    const name = uniqueName('lease');
    const a = candidate(kc, { name, identity: 'a' });
    const b = candidate(kc, { name, identity: 'b' });
    cleanup.push(a, b);
    const leader = await eventually(async () => [a, b].find((c) => c.elector.isLeader()), 10_000, 20);
    const follower = leader === a ? b : a;
    // Several retry periods later there is still exactly one leader.
    await new Promise((r) => setTimeout(r, 4 * timing.retryPeriodMs));
    expect([a, b].filter((c) => c.elector.isLeader())).toEqual([leader]);
    expect(follower.startedAt).toBeUndefined();
    const lease = await coord.readNamespacedLease({ name, namespace: 'default' });
    expect(lease.spec?.holderIdentity).toBe(leader.elector.identity);
    expect(lease.spec?.leaseDurationSeconds).toBe(2);
    expect(lease.spec?.leaseTransitions).toBe(0);

    const t0 = Date.now();
    await leader.elector.stop();
    await leader.run;
    expect(leader.signal?.aborted).toBe(true);
    expect(leader.stoppedAt).toBeDefined();
    await eventually(async () => (follower.elector.isLeader() ? true : undefined), 10_000, 10);
    const takeover = Date.now() - t0;
    report(`takeover after a graceful stop (lease released): ${takeover} ms (retry period ${timing.retryPeriodMs} ms)`);
    expect(takeover).toBeLessThan(timing.leaseDurationMs);
    const after = await coord.readNamespacedLease({ name, namespace: 'default' });
    expect(after.spec?.holderIdentity).toBe(follower.elector.identity);
    expect(after.spec?.leaseTransitions).toBe(1);
    await follower.elector.stop();
  });

  it('takes over an abandoned (unreleased) lease once it expires', async () => {
    const name = uniqueName('lease');
    const a = candidate(kc, { name, identity: 'a', releaseOnCancel: false });
    cleanup.push(a);
    await eventually(async () => (a.elector.isLeader() ? true : undefined), 10_000, 20);
    await a.elector.stop();
    const t0 = Date.now();
    const b = candidate(kc, { name, identity: 'b' });
    cleanup.push(b);
    await eventually(async () => (b.elector.isLeader() ? true : undefined), 10_000, 10);
    const takeover = Date.now() - t0;
    report(`takeover of an unreleased lease: ${takeover} ms (lease duration ${timing.leaseDurationMs} ms)`);
    // b must wait a full lease duration from its first look: that is the safety margin.
    expect(takeover).toBeGreaterThanOrEqual(timing.leaseDurationMs - 50);
    expect(takeover).toBeLessThan(timing.leaseDurationMs + 3 * timing.retryPeriodMs);
    await b.elector.stop();
  });

  it('a leader whose lease is taken by someone else stops leading at once', async () => {
    const name = uniqueName('lease');
    const a = candidate(kc, { name, identity: 'a' });
    cleanup.push(a);
    await eventually(async () => (a.elector.isLeader() ? true : undefined), 10_000, 20);
    const lease = await coord.readNamespacedLease({ name, namespace: 'default' });
    const t0 = Date.now();
    await coord.replaceNamespacedLease({
      name,
      namespace: 'default',
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'thief', renewTime: new k8s.V1MicroTime(Date.now()) } },
    });
    await a.run;
    const stoppedIn = Date.now() - t0;
    report(`leader stopped ${stoppedIn} ms after its lease was stolen`);
    expect(a.signal?.aborted).toBe(true);
    expect(a.signal?.reason).toBeInstanceOf(LeadershipLostError);
    expect(String((a.signal?.reason as Error).message)).toMatch(/thief/);
    expect(a.elector.isLeader()).toBe(false);
    expect(stoppedIn).toBeLessThan(timing.renewDeadlineMs);
    // The thief's lease was not released by the loser.
    const after = await coord.readNamespacedLease({ name, namespace: 'default' });
    expect(after.spec?.holderIdentity).toBe('thief');
  });

  it('a leader that lost its lease returns from run() only after its work has wound down (no overlapping terms)', async () => {
    const name = uniqueName('lease');
    const elector = new LeaderElector(kc, { logger, namespace: 'default', ...timing, name, identity: 'slow' });
    let workEnded: number | undefined;
    const run = elector.run({
      // Work that takes a moment to stop after its signal aborts, as an operator cancelling helm does.
      onStartedLeading: (signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => setTimeout(() => ((workEnded = Date.now()), resolve()), 800), { once: true });
        }),
    });
    cleanup.push({ elector, run });
    await eventually(async () => (elector.isLeader() ? true : undefined), 10_000, 20);
    const lease = await coord.readNamespacedLease({ name, namespace: 'default' });
    await coord.replaceNamespacedLease({
      name,
      namespace: 'default',
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'thief', renewTime: new k8s.V1MicroTime(Date.now()) } },
    });
    await run;
    const returned = Date.now();
    // Without this a replica that campaigns again could start a new term while the old one still runs.
    expect(workEnded).toBeDefined();
    expect(returned).toBeGreaterThanOrEqual(workEnded!);
  });

  it('a leader that cannot reach the API stops within the renew deadline; another takes over after expiry', async () => {
    const name = uniqueName('lease');
    const server = new URL(kc.getCurrentCluster()!.server);
    const proxy = await TcpProxy.start({ host: server.hostname, port: Number(server.port) });
    try {
      const viaProxy = new k8s.KubeConfig();
      viaProxy.loadFromOptions({
        clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${proxy.port}` })),
        users: kc.users,
        contexts: kc.contexts,
        currentContext: kc.currentContext,
      });
      const a = candidate(viaProxy, { name, identity: 'partitioned' });
      cleanup.push(a);
      await eventually(async () => (a.elector.isLeader() ? true : undefined), 10_000, 20);
      const b = candidate(kc, { name, identity: 'healthy' });
      cleanup.push(b);
      await new Promise((r) => setTimeout(r, 2 * timing.retryPeriodMs));
      expect(b.elector.isLeader()).toBe(false);

      const t0 = Date.now();
      proxy.setDown(true);
      await eventually(async () => (a.signal?.aborted ? true : undefined), 10_000, 5);
      const stepDown = Date.now() - t0;
      await eventually(async () => (b.elector.isLeader() ? true : undefined), 10_000, 10);
      const takeover = Date.now() - t0;
      report(
        `partitioned leader stepped down after ${stepDown} ms (renew deadline ${timing.renewDeadlineMs} ms); ` +
          `other took over after ${takeover} ms (lease duration ${timing.leaseDurationMs} ms)`,
      );
      expect(stepDown).toBeLessThanOrEqual(timing.renewDeadlineMs + 100);
      expect(String((a.signal?.reason as Error).message)).toMatch(/renew deadline/);
      // The old leader stopped before the new one started: never two leaders.
      expect(b.startedAt!).toBeGreaterThan(a.stoppedAt!);
      await a.run;
      await b.elector.stop();
    } finally {
      await proxy.close();
    }
  });

  it('rejects timing that could let two leaders overlap', () => {
    expect(() => new LeaderElector(kc, { logger, namespace: 'default', name: 'x', leaseDurationMs: 1000, renewDeadlineMs: 1000 })).toThrow(RangeError);
    expect(() => new LeaderElector(kc, { logger, namespace: 'default', name: 'x', leaseDurationMs: 1500 })).toThrow(RangeError);
    expect(
      () => new LeaderElector(kc, { logger, namespace: 'default', name: 'x', leaseDurationMs: 3000, renewDeadlineMs: 1000, retryPeriodMs: 1000 }),
    ).toThrow(RangeError);
  });
});

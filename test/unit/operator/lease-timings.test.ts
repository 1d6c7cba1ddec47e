// After a lost lease the ex-leader's helm gets SIGTERM at the renew deadline
// and SIGKILL one kill grace later; both must fall before another replica can
// take the Lease (issue 14 point 9).
import { HELM_KILL_GRACE_MS, leaseTimings } from '../../../src/operator/run-operator.ts';

describe('leaseTimings', () => {
  it.each([2, 5, 15, 30, 60, 300])('keeps renew deadline + helm kill grace inside a %i s lease', (seconds) => {
    const lease = seconds * 1000;
    const t = leaseTimings(lease);
    expect(t.renewDeadlineMs + t.helmKillGraceMs).toBeLessThan(lease);
    expect(t.renewDeadlineMs).toBeGreaterThan(t.retryPeriodMs);
    expect(t.helmKillGraceMs).toBeGreaterThan(0);
    expect(t.helmKillGraceMs).toBeLessThanOrEqual(HELM_KILL_GRACE_MS);
  });

  it('gives helm 4 s between SIGTERM and SIGKILL with the default 15 s lease (was 10 s: helm outlived the lease by 5 s)', () => {
    expect(leaseTimings(15_000)).toEqual({ renewDeadlineMs: 10_000, retryPeriodMs: 2_000, helmKillGraceMs: 4_000 });
  });
});

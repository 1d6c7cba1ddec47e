// /readyz answers anyone who reaches the port: a failing check says "not
// ready" and nothing else; the error (hosts, users, driver text) goes to the log hook.
import { Registry } from 'prom-client';
import { startHealthServer, type HealthServer } from '../../../src/observability/health-server.ts';

describe('health server', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('answers a failing readiness check with a generic body and reports the error to onError', async () => {
    const errors: Array<[string, unknown]> = [];
    const secretish = new Error('connect ECONNREFUSED 10.20.30.40:5432 (user caelus_admin, database caelus_prod)');
    server = await startHealthServer({
      registry: new Registry(),
      ready: () => Promise.reject(secretish),
      port: 0,
      host: '127.0.0.1',
      onError: (check, err) => errors.push([check, err]),
    });
    const res = await fetch(`${server.url}/readyz`);
    const body = await res.text();
    expect(res.status).toBe(503);
    expect(body).toBe('not ready\n');
    expect(errors).toEqual([['readyz', secretish]]);
  });

  it('answers ok when ready', async () => {
    server = await startHealthServer({ registry: new Registry(), ready: () => true, port: 0, host: '127.0.0.1' });
    const res = await fetch(`${server.url}/readyz`);
    expect([res.status, await res.text()]).toEqual([200, 'ok\n']);
  });
});

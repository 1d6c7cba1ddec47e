import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * /metrics (Prometheus text), /healthz (the process is alive) and /readyz
 * (the caller's readiness check, e.g. informer synced) on one small server.
 * Failures answer a fixed body: the port is reachable by anyone who can reach
 * the pod, and a driver or API error names hosts, users and versions. The
 * detail goes to `onError` (the log).
 */
export async function startHealthServer(opts: {
  registry: Registry;
  ready: () => boolean | Promise<boolean>;
  port: number;
  host: string;
  onError?: (check: 'readyz' | 'metrics', err: unknown) => void;
}): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'method not allowed\n');
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') {
      void Promise.resolve(opts.ready()).then(
        (ok) => send(ok ? 200 : 503, ok ? 'ok\n' : 'not ready\n'),
        (err: unknown) => {
          opts.onError?.('readyz', err);
          send(503, 'not ready\n');
        },
      );
      return;
    }
    if (path === '/metrics') {
      void opts.registry.metrics().then(
        (text) => send(200, text, opts.registry.contentType),
        (err: unknown) => {
          opts.onError?.('metrics', err);
          send(500, 'metrics failed\n');
        },
      );
      return;
    }
    send(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

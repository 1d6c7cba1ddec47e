// Real chart sources on 127.0.0.1 for the chart-source tests: Debian's
// `docker-registry` (CNCF Distribution) as an OCI registry, and a static
// HTTPS Helm repository (index.yaml + packages) with basic auth. Both use a
// self-signed certificate for 127.0.0.1 made with openssl, and both keep an
// access log the tests count fetches in.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Tls {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export async function selfSignedCert(dir: string): Promise<Tls> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

export interface Registry {
  port: number;
  host: string;
  /** Every line the registry wrote (its access log included). */
  lines: string[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** Starts docker-registry with a temp config: filesystem storage in `dir`, TLS, access log on. */
export async function startRegistry(dir: string, tls: Tls): Promise<Registry> {
  if (!existsSync(REGISTRY_BIN)) {
    throw new Error(`${REGISTRY_BIN} is missing: install Debian's docker-registry package (as root: apt-get update && apt-get install -y docker-registry; .ci/run does this)`);
  }
  const port = await freePort();
  const config = join(dir, 'registry.yml');
  await mkdir(join(dir, 'storage'), { recursive: true });
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: info',
      '  accesslog:',
      '    disabled: false',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  tls:',
      `    certificate: ${tls.certFile}`,
      `    key: ${tls.keyFile}`,
      '',
    ].join('\n'),
  );
  const lines: string[] = [];
  let child: ChildProcess | undefined;
  const registry: Registry = {
    port,
    host: `127.0.0.1:${port}`,
    lines,
    async start() {
      const c = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      for (const s of [c.stdout!, c.stderr!]) s.on('data', (b: Buffer) => lines.push(...b.toString('utf8').split('\n').filter(Boolean)));
      // Ready when the TLS port answers /v2/.
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (c.exitCode !== null) throw new Error(`docker-registry exited with ${c.exitCode}: ${lines.slice(-5).join(' | ')}`);
        const ok = await execa('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-brief'], { input: '', reject: false, timeout: 5000 });
        if (ok.exitCode === 0) return;
        if (Date.now() > deadline) throw new Error(`docker-registry did not listen on ${port}: ${lines.slice(-5).join(' | ')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      });
    },
  };
  await registry.start();
  return registry;
}

export interface HelmRepoServer {
  url: string;
  /** `METHOD path` of every request, in order. */
  requests: string[];
  stop(): Promise<void>;
}

/** A static HTTPS server for `dir` (index.yaml + .tgz), requiring basic auth user:pass. */
export async function startHelmRepo(dir: string, tls: Tls, auth: { username: string; password: string }): Promise<HelmRepoServer> {
  const requests: string[] = [];
  const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  const server: Server = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(`${req.method} ${path}`);
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end();
      return;
    }
    const file = join(dir, decodeURIComponent(path).replace(/^\/+/, ''));
    if (!file.startsWith(dir) || !/^[^/]+\.(yaml|tgz)$/.test(file.slice(dir.length + 1))) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': file.endsWith('.yaml') ? 'application/yaml' : 'application/gzip' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

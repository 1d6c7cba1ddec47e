import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { execa, type ResultPromise } from 'execa';
import { stringify } from 'yaml';
import { locateControlPlaneBinaries, type ControlPlaneBinaries, type LocateOptions } from './binaries.ts';
import { ControlPlaneStartError } from './errors.ts';
import { freePort } from './free-port.ts';

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly token: string;
  readonly dir: string;
  readonly pids: number[];
  readonly binaries: ControlPlaneBinaries;
  /** Milliseconds from start() to /readyz OK. */
  readonly startMillis: number;
  stop(): Promise<void>;
}

export interface StartOptions extends LocateOptions {
  /** Run kube-controller-manager (namespace + garbage collector) so deleted namespaces really go away. */
  controllerManager?: boolean;
  readyTimeoutMs?: number;
  /**
   * Keep etcd's data here instead of in the temp dir, so the cluster's objects
   * outlive stop() (caelus dev: the cluster persists alongside its database).
   * Default: throwaway, removed on stop and written without fsync.
   */
  etcdDataDir?: string;
}

interface Proc {
  name: string;
  child: ResultPromise;
  log: string;
  stream: WriteStream;
  exited: boolean;
}

async function tail(path: string, lines = 40): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function spawn(dir: string, name: string, file: string, args: string[]): Proc {
  const log = join(dir, `${name}.log`);
  const stream = createWriteStream(log);
  // cleanup: execa kills the child if this process exits without stop().
  const child = execa(file, args, { cleanup: true, reject: false, stdin: 'ignore', all: true, buffer: false });
  child.all?.pipe(stream);
  const proc: Proc = { name, child, log, stream, exited: false };
  void child.then(() => (proc.exited = true));
  return proc;
}

function get(url: string, token?: string, agent?: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const fn = u.protocol === 'https:' ? request : httpRequest;
    const req = fn(
      u,
      { method: 'GET', agent, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 2000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(
  proc: Proc,
  what: string,
  deadline: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  while (Date.now() < deadline) {
    if (proc.exited) throw new ControlPlaneStartError(proc.name, `${proc.name} exited before ${what}`, await tail(proc.log));
    try {
      if (await probe()) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new ControlPlaneStartError(proc.name, `${proc.name}: timed out waiting for ${what}`, await tail(proc.log));
}

async function stopProc(p: Proc): Promise<void> {
  if (!p.exited) {
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
    await p.child;
    clearTimeout(timer);
  }
  await new Promise<void>((r) => p.stream.end(r));
}

/**
 * Starts real etcd + kube-apiserver (+ kube-controller-manager) on 127.0.0.1
 * with free ports and a temp dir, the envtest way: no kubelet, so pods never
 * run, but every API object behaves as in a cluster. Auth is a static admin
 * token in system:masters; the apiserver generates its own serving cert.
 */
export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const started = Date.now();
  const binaries = await locateControlPlaneBinaries(opts);
  const dir = await mkdtemp(join(tmpdir(), 'caelus-cp-'));
  const procs: Proc[] = [];
  const stop = async (): Promise<void> => {
    for (const p of [...procs].reverse()) await stopProc(p);
    procs.length = 0;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const deadline = started + (opts.readyTimeoutMs ?? 90_000);
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = spawn(dir, 'etcd', binaries.etcd, [
      '--name=caelus',
      `--data-dir=${opts.etcdDataDir ?? join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=caelus=http://127.0.0.1:${peerPort}`,
      // Throwaway data: fsync only costs time (envtest does the same).
      ...(opts.etcdDataDir ? [] : ['--unsafe-no-fsync=true']),
      '--log-level=warn',
    ]);
    procs.push(etcd);
    await waitFor(etcd, 'health', deadline, async () => (await get(`${etcdUrl}/health`)).body.includes('true'));

    const token = randomBytes(24).toString('hex');
    await writeFile(join(dir, 'tokens.csv'), `${token},caelus-admin,caelus-admin,"system:masters"\n`, { mode: 0o600 });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const server = `https://127.0.0.1:${apiPort}`;
    const certDir = join(dir, 'certs');
    const api = spawn(dir, 'kube-apiserver', binaries['kube-apiserver'], [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${certDir}`,
      // A /24 holds 254 Services: the 500-instance benchmark ran out ("failed to allocate a serviceIP: range is full"). /16 contains the old range, so kept etcd data (caelus dev) stays valid.
      '--service-cluster-ip-range=10.0.0.0/16',
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      // No controller creates default ServiceAccounts for new namespaces in a bare control plane.
      '--disable-admission-plugins=ServiceAccount',
      '--profiling=false',
      '--v=0',
    ]);
    procs.push(api);
    const insecure = new Agent({ rejectUnauthorized: false });
    await waitFor(api, '/readyz', deadline, async () => (await get(`${server}/readyz`, token, insecure)).status === 200);
    insecure.destroy();

    // The self-signed serving cert file holds the cert and the CA that signed it.
    const ca = await readFile(join(certDir, 'apiserver.crt'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfigPath,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'caelus-local', cluster: { server, 'certificate-authority-data': ca.toString('base64') } }],
        users: [{ name: 'caelus-admin', user: { token } }],
        contexts: [{ name: 'caelus-local', context: { cluster: 'caelus-local', user: 'caelus-admin' } }],
        'current-context': 'caelus-local',
      }),
      { mode: 0o600 },
    );

    if (opts.controllerManager ?? true) {
      const kcm = spawn(dir, 'kube-controller-manager', binaries['kube-controller-manager'], [
        `--kubeconfig=${kubeconfigPath}`,
        // Namespace deletion needs the namespace controller, and PVCs (protected
        // by a finalizer) need the pvc/pv-protection controllers to go away.
        // Nothing that would run pods (no deployment/statefulset controllers).
        '--controllers=namespace-controller,garbage-collector-controller,persistentvolumeclaim-protection-controller,persistentvolume-protection-controller',
        '--leader-elect=false',
        '--secure-port=0',
        '--v=0',
      ]);
      procs.push(kcm);
    }

    return {
      server,
      kubeconfigPath,
      token,
      dir,
      binaries,
      pids: procs.map((p) => p.child.pid ?? -1),
      startMillis: Date.now() - started,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

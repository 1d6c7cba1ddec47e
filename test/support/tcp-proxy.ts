// A TCP pass-through proxy in front of the API server, so a test can break
// and refuse client connections (TLS passes through untouched) on the shared
// control plane without stopping it.
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #down = false;
  readonly port: number;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      if (!proxy || proxy.#down) {
        client.destroy();
        return;
      }
      const upstream = connect(target.port, target.host);
      const p = proxy;
      p.#sockets.add(client);
      p.#sockets.add(upstream);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        p.#sockets.delete(client);
        p.#sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('proxy has no TCP address');
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  /** Resets every open connection (watches included). */
  breakConnections(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  /** While down, new connections are accepted and reset at once (like an API server that is restarting). */
  setDown(down: boolean): void {
    this.#down = down;
    if (down) this.breakConnections();
  }

  async close(): Promise<void> {
    this.breakConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

// The operator's side of the compiled post-renderer (hack/post-render/main.go):
// a Unix socket server in the operator process that runs run.ts on what the
// client forwards, with the JIT already warm, so an upgrade costs helm plus a
// ~1 ms Go process instead of helm plus a Node start (~100 ms CPU).
//
// Who can ask: the socket lives in this process's private 0700 work dir, so only
// our own user reaches it; and each request must carry a token this process
// granted for a helm run it started and has not finished (`--token=` as the
// first argument), so a stray or replayed call renders nothing.
import { randomBytes } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../observability/logger.ts';
import { runPostRenderer, type Invocation } from './run.ts';

/** Same bound as helm's own output buffer in runner.ts. */
const MAX_REQUEST_BYTES = 256 * 1024 * 1024;
const TOKEN_PREFIX = '--token=';

export interface Grant {
  /** The `--token=…` argument for this helm run. */
  readonly arg: string;
  /** Ends the grant: later requests with this token are refused. */
  revoke(): void;
}

/** Parses a request frame: argc, (length, bytes) per arg, then stdin. Throws on a malformed frame. */
export function decodeRequest(buf: Buffer): { args: string[]; stdin: string } {
  let off = 0;
  const u32 = (): number => {
    if (off + 4 > buf.length) throw new RangeError('truncated request');
    const v = buf.readUInt32BE(off);
    off += 4;
    return v;
  };
  const argc = u32();
  const args: string[] = [];
  for (let i = 0; i < argc; i++) {
    const len = u32();
    if (off + len > buf.length) throw new RangeError('truncated request');
    args.push(buf.toString('utf8', off, off + len));
    off += len;
  }
  return { args, stdin: buf.toString('utf8', off) };
}

/** Response frame: exit code (1 byte), stderr length + bytes, then stdout. */
export function encodeResponse(r: Invocation): Buffer {
  const stderr = Buffer.from(r.stderr, 'utf8');
  const head = Buffer.alloc(5);
  head.writeUInt8(r.exitCode, 0);
  head.writeUInt32BE(stderr.length, 1);
  return Buffer.concat([head, stderr, Buffer.from(r.stdout, 'utf8')]);
}

export class PostRenderServer {
  readonly socketPath: string;
  readonly #server: Server;
  readonly #tokens = new Set<string>();
  readonly #log: Logger | undefined;

  private constructor(socketPath: string, server: Server, log: Logger | undefined) {
    this.socketPath = socketPath;
    this.#server = server;
    this.#log = log;
  }

  /** Listens on `socketPath` (inside a 0700 directory the caller owns). Does not keep the process alive. */
  static async start(socketPath: string, log?: Logger): Promise<PostRenderServer> {
    await rm(socketPath, { force: true });
    const server = createServer();
    const self = new PostRenderServer(socketPath, server, log);
    server.on('connection', (socket) => self.#serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => log?.error({ err, socketPath }, 'post-render server failed'));
    // The directory already keeps others out; the socket's own mode says the same.
    await chmod(socketPath, 0o600);
    server.unref();
    return self;
  }

  /** A token for one helm run; revoke it when helm has exited. */
  grant(): Grant {
    const token = randomBytes(24).toString('base64url');
    this.#tokens.add(token);
    return { arg: `${TOKEN_PREFIX}${token}`, revoke: () => this.#tokens.delete(token) };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: Socket): void {
    const chunks: Buffer[] = [];
    let size = 0;
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        socket.destroy(new RangeError(`post-render request larger than ${MAX_REQUEST_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    socket.on('end', () => socket.end(encodeResponse(this.#answer(Buffer.concat(chunks)))));
    // The client then exits non-zero and helm aborts the upgrade; the reason belongs in our log.
    socket.on('error', (err) => this.#log?.warn({ err }, 'post-render request failed'));
  }

  #answer(buf: Buffer): Invocation {
    let req: { args: string[]; stdin: string };
    try {
      req = decodeRequest(buf);
    } catch (err) {
      return refusal(`malformed request: ${(err as Error).message}`);
    }
    const [first, ...args] = req.args;
    if (first === undefined || !first.startsWith(TOKEN_PREFIX) || !this.#tokens.has(first.slice(TOKEN_PREFIX.length))) {
      this.#log?.warn('post-render request without a token of a running helm refused');
      return refusal('refused: not a helm run this operator started');
    }
    return runPostRenderer(args, req.stdin);
  }
}

function refusal(message: string): Invocation {
  return { exitCode: 1, stdout: '', stderr: `caelus post-renderer: ${message}\n` };
}

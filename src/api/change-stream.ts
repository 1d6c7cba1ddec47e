// The change stream behind GET /changes: ONE database LISTEN per API process
// (migration 0030's `caelus_instance_events`, whose payload is the event
// itself) fanned out to every open Server-Sent Events response, each filtered
// to what its principal may see. A slow client never holds the process's
// memory: while its socket is full, events are coalesced per instance (only
// the newest matters) and a client that falls too far behind is cut off
// (it reconnects and refetches). Every keepalive tick re-checks the streams'
// tokens, so a revoked or expired token stops receiving within one tick.
import type { ServerResponse } from 'node:http';
import type { Kysely } from 'kysely';
import type { ChangeFeed } from '../db/change-feed.ts';
import { liveTokenIds } from '../db/repositories/tokens.ts';
import type { Database } from '../db/schema.ts';
import type { OwnerScope } from '../db/repositories/tenant-instances.ts';
import type { Logger } from '../observability/logger.ts';
import type { InstanceChange } from './console-schemas.ts';

interface Notified extends InstanceChange {
  userId: string;
}

export interface StreamOptions {
  scope: OwnerScope;
  tokenId: string;
  instanceId?: string;
}

/** Instances a stalled client may have pending before it is disconnected. */
const MAX_PENDING = 10_000;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const intOrNull = (v: unknown): v is number | null => v === null || isInt(v);

/** The trigger's JSON, checked field by field: a malformed payload is logged and dropped, never forwarded. */
export function parseInstanceEvent(payload: string): Notified | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null) return undefined;
  const { id, userId, status, state, specVersion, observedSpecVersion, helmRevision, updatedAt, deleted } = o;
  if (typeof id !== 'string' || typeof userId !== 'string' || typeof status !== 'string' || typeof state !== 'string') return undefined;
  if (!isInt(specVersion) || !intOrNull(observedSpecVersion) || !intOrNull(helmRevision) || typeof updatedAt !== 'string' || typeof deleted !== 'boolean') return undefined;
  const at = new Date(updatedAt);
  if (Number.isNaN(at.getTime())) return undefined;
  return { id, userId, status, state, specVersion, observedSpecVersion, helmRevision, updatedAt: at.toISOString(), deleted };
}

/** One open text/event-stream response, with back-pressure. */
class SseConnection {
  readonly opts: StreamOptions;
  readonly #raw: ServerResponse;
  readonly #pending = new Map<string, string>();
  #closed = false;

  constructor(raw: ServerResponse, opts: StreamOptions, onGone: () => void) {
    this.#raw = raw;
    this.opts = opts;
    raw.on('drain', () => this.#flush());
    raw.on('close', () => {
      this.#closed = true;
      onGone();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  event(name: string, data: unknown, coalesceKey?: string): void {
    this.#write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`, coalesceKey);
  }

  comment(text: string): void {
    // A keepalive into a full socket proves nothing: skip it.
    if (!this.#raw.writableNeedDrain) this.#write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#raw.end();
  }

  #write(frame: string, key?: string): void {
    if (this.#closed) return;
    if (this.#raw.writableNeedDrain || this.#pending.size > 0) {
      if (key === undefined) return;
      this.#pending.delete(key);
      this.#pending.set(key, frame);
      if (this.#pending.size > MAX_PENDING) this.#raw.destroy();
      return;
    }
    this.#raw.write(frame);
  }

  #flush(): void {
    for (const [key, frame] of this.#pending) {
      if (this.#raw.writableNeedDrain) return;
      this.#pending.delete(key);
      this.#raw.write(frame);
    }
  }
}

export class ChangeHub {
  readonly #feed: ChangeFeed;
  readonly #db: Kysely<Database>;
  readonly #log: Logger;
  readonly #keepaliveMs: number;
  readonly #streams = new Set<SseConnection>();
  #timer: NodeJS.Timeout | undefined;
  #started = false;

  constructor(opts: { feed: ChangeFeed; db: Kysely<Database>; logger: Logger; keepaliveMs?: number }) {
    this.#feed = opts.feed;
    this.#db = opts.db;
    this.#log = opts.logger.child({ component: 'change-stream' });
    this.#keepaliveMs = opts.keepaliveMs ?? 15_000;
  }

  get streams(): number {
    return this.#streams.size;
  }

  async start(): Promise<void> {
    this.#started = true;
    await this.#feed.start({
      onChange: (payload) => this.#dispatch(payload),
      // After a reconnect, notifications of the gap are lost: open streams are told to refetch.
      onListening: () => {
        for (const s of this.#streams) s.event('resync', {});
      },
    });
    this.#timer = setInterval(() => void this.#tick(), this.#keepaliveMs);
    this.#timer.unref?.();
  }

  /** Ends every stream (so the server can close) and the LISTEN session. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const s of this.#streams) s.end();
    this.#streams.clear();
    if (this.#started) await this.#feed.stop();
    this.#started = false;
  }

  /** Starts streaming to `raw` (headers not yet sent); ends when the client goes or the hub stops. */
  open(raw: ServerResponse, opts: StreamOptions, headers: Record<string, string>): void {
    raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    const stream = new SseConnection(raw, opts, () => this.#streams.delete(stream));
    this.#streams.add(stream);
    raw.write('retry: 5000\n: connected\n\n');
  }

  #dispatch(payload: string): void {
    const change = parseInstanceEvent(payload);
    if (!change) {
      this.#log.warn({ payloadBytes: payload.length }, 'dropped a malformed instance event notification');
      return;
    }
    const { userId, ...data } = change;
    for (const s of this.#streams) {
      const { scope, instanceId } = s.opts;
      if (scope.kind === 'user' && scope.userId !== userId) continue;
      if (instanceId !== undefined && instanceId !== change.id) continue;
      s.event('instance', data, change.id);
    }
  }

  async #tick(): Promise<void> {
    if (this.#streams.size === 0) return;
    const streams = [...this.#streams];
    let live: Set<string>;
    try {
      live = await liveTokenIds(this.#db, [...new Set(streams.map((s) => s.opts.tokenId))]);
    } catch (err) {
      // The database is down: keep the streams (they carry nothing without it) and check next tick.
      this.#log.warn({ err }, 'could not re-check the tokens of open change streams');
      live = new Set(streams.map((s) => s.opts.tokenId));
    }
    for (const s of streams) {
      if (!live.has(s.opts.tokenId)) {
        s.event('unauthorized', { detail: 'the token was revoked or expired' });
        s.end();
      } else s.comment('keepalive');
    }
  }
}

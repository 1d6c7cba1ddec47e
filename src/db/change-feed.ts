// Row-change notifications from the database: the trigger of migration 0013
// NOTIFYs `caelus_instances` with the row id (the sync's wake-up call), that
// of 0030 `caelus_instance_events` with the visible fields (the API's change
// stream). Here, in the data layer, so both share it. Two implementations behind one
// interface: PostgreSQL through a dedicated pg.Client (LISTEN needs a session
// of its own; a pooled connection would be handed to other queries), and
// PGlite through pglite.listen in the same process.
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Logger } from '../observability/logger.ts';

export const CHANGE_CHANNEL = 'caelus_instances';
/** Migration 0030: a JSON payload per visible change of an instance (status included). */
export const INSTANCE_EVENT_CHANNEL = 'caelus_instance_events';
export const CHANGE_FEED_APPLICATION_NAME = 'caelus-change-feed';
export type ChangeChannel = typeof CHANGE_CHANNEL | typeof INSTANCE_EVENT_CHANNEL;

export interface ChangeHandlers {
  /** The notification's payload: a row id (CHANGE_CHANNEL: inserted, or its spec or deletion changed), or an event's JSON (INSTANCE_EVENT_CHANNEL). */
  onChange(payload: string): void;
  /**
   * Now listening (first time or after a reconnect). Notifications sent while
   * disconnected are lost, so the caller sweeps everything here.
   */
  onListening(): void;
}

export interface ChangeFeed {
  /** Starts listening; resolves after the first attempt, retrying in the background if it failed. */
  start(handlers: ChangeHandlers): Promise<void>;
  stop(): Promise<void>;
}

export interface PgChangeFeedOptions {
  url: string;
  logger: Logger;
  /** Default CHANGE_CHANNEL. */
  channel?: ChangeChannel;
  /** The session's name in pg_stat_activity; default CHANGE_FEED_APPLICATION_NAME. */
  applicationName?: string;
  /** Reconnect delay: doubles from initialMs up to maxMs, reset once listening again. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** A LISTEN session is idle by nature, so a half-open TCP connection would go unnoticed: ping this often. Default 15 s. */
  pingIntervalMs?: number;
  connectTimeoutMs?: number;
}

/**
 * LISTEN on a dedicated PostgreSQL session that survives server restarts,
 * failovers and pg_terminate_backend: every error or end of the session
 * schedules a reconnect with capped exponential backoff; nothing throws out
 * of the event handlers (an unhandled 'error' would crash the process).
 */
export class PgChangeFeed implements ChangeFeed {
  readonly #opts: PgChangeFeedOptions;
  readonly #log: Logger;
  readonly #initialMs: number;
  readonly #maxMs: number;
  #backoffMs: number;
  #client: pg.Client | undefined;
  #handlers: ChangeHandlers | undefined;
  #stopped = true;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #reconnects = 0;
  readonly #channel: ChangeChannel;

  constructor(opts: PgChangeFeedOptions) {
    this.#opts = opts;
    this.#channel = opts.channel ?? CHANGE_CHANNEL;
    this.#log = opts.logger.child({ component: 'change-feed', channel: this.#channel });
    this.#initialMs = opts.backoff?.initialMs ?? 250;
    this.#maxMs = opts.backoff?.maxMs ?? 30_000;
    this.#backoffMs = this.#initialMs;
  }

  /** Sessions re-established after a failure (for tests and health). */
  get reconnects(): number {
    return this.#reconnects;
  }

  get listening(): boolean {
    return this.#client !== undefined;
  }

  async start(handlers: ChangeHandlers): Promise<void> {
    this.#handlers = handlers;
    this.#stopped = false;
    await this.#connect();
    const every = this.#opts.pingIntervalMs ?? 15_000;
    this.#pingTimer = setInterval(() => void this.#ping(), every);
    this.#pingTimer.unref?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#pingTimer);
    const client = this.#client;
    this.#client = undefined;
    if (client) await this.#end(client);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({
      connectionString: this.#opts.url,
      connectionTimeoutMillis: this.#opts.connectTimeoutMs ?? 5_000,
      keepAlive: true,
      // Names the session in pg_stat_activity (operators looking for it; tests terminating it).
      application_name: this.#opts.applicationName ?? CHANGE_FEED_APPLICATION_NAME,
    });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, new Error('connection ended')));
    client.on('notification', (msg) => {
      if (msg.channel !== this.#channel || !msg.payload) return;
      try {
        this.#handlers?.onChange(msg.payload);
      } catch (err) {
        this.#log.error({ err, id: msg.payload }, 'change handler threw');
      }
    });
    try {
      await client.connect();
      // A constant identifier from the union above, never input.
      await client.query(`LISTEN ${this.#channel}`);
    } catch (err) {
      await this.#end(client);
      this.#scheduleReconnect(err);
      return;
    }
    if (this.#stopped) {
      await this.#end(client);
      return;
    }
    this.#client = client;
    this.#backoffMs = this.#initialMs;
    this.#log.info({ reconnects: this.#reconnects }, 'listening for instance changes');
    try {
      this.#handlers?.onListening();
    } catch (err) {
      this.#log.error({ err }, 'onListening handler threw');
    }
  }

  #lost(client: pg.Client, err: unknown): void {
    // Errors of a session already given up (or of the one being ended on stop) are expected.
    if (this.#stopped || this.#client !== client) return;
    this.#client = undefined;
    void this.#end(client);
    this.#scheduleReconnect(err);
  }

  #scheduleReconnect(err: unknown): void {
    if (this.#stopped || this.#reconnectTimer) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#maxMs);
    this.#log.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'change feed disconnected; reconnecting');
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#reconnects++;
      void this.#connect();
    }, delay);
  }

  async #ping(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    try {
      await client.query('select 1');
    } catch (err) {
      this.#lost(client, err);
    }
  }

  async #end(client: pg.Client): Promise<void> {
    try {
      await client.end();
    } catch (err) {
      // Ending a broken session can fail; the session is gone either way.
      this.#log.debug({ err: err instanceof Error ? err.message : String(err) }, 'closing the change-feed session failed');
    }
  }
}

/** LISTEN inside the embedded PGlite: notifications of its own transactions, in process. */
export class PGliteChangeFeed implements ChangeFeed {
  readonly #pglite: PGlite;
  readonly #log: Logger;
  readonly #channel: ChangeChannel;
  #unlisten: (() => Promise<void>) | undefined;

  constructor(opts: { pglite: PGlite; logger: Logger; channel?: ChangeChannel }) {
    this.#pglite = opts.pglite;
    this.#channel = opts.channel ?? CHANGE_CHANNEL;
    this.#log = opts.logger.child({ component: 'change-feed', channel: this.#channel });
  }

  async start(handlers: ChangeHandlers): Promise<void> {
    this.#unlisten = await this.#pglite.listen(this.#channel, (payload) => {
      try {
        handlers.onChange(payload);
      } catch (err) {
        this.#log.error({ err, id: payload }, 'change handler threw');
      }
    });
    this.#log.info('listening for instance changes (PGlite)');
    handlers.onListening();
  }

  async stop(): Promise<void> {
    const unlisten = this.#unlisten;
    this.#unlisten = undefined;
    if (unlisten && !this.#pglite.closed) await unlisten();
  }
}

/** The API's feed of instance events for a database handle: LISTEN on PostgreSQL, pglite.listen in process. */
export function instanceEventFeed(handle: { kind: 'postgres' | 'pglite'; pglite?: PGlite }, url: string | undefined, logger: Logger, connectTimeoutMs?: number): ChangeFeed {
  if (handle.kind === 'pglite') {
    if (!handle.pglite) throw new Error('a PGlite database handle without its PGlite instance');
    return new PGliteChangeFeed({ pglite: handle.pglite, logger, channel: INSTANCE_EVENT_CHANNEL });
  }
  if (!url) throw new Error('a PostgreSQL change feed needs the database URL');
  return new PgChangeFeed({
    url,
    logger,
    channel: INSTANCE_EVENT_CHANNEL,
    applicationName: 'caelus-api-change-stream',
    ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
  });
}

import { randomBytes } from 'node:crypto';
import { CoreV1Api, PatchStrategy, type CoreV1Event, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.ts';
import { isNotFound, toKubeApiError } from './errors.ts';
import { contentType } from './request-options.ts';

export type EventType = 'Normal' | 'Warning';

/** The object an Event is about. A KubernetesObject (e.g. the CR from the informer cache) fits. */
export interface InvolvedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface EventRecorderOptions {
  logger: Logger;
  /** `source.component` / `reportingComponent`. Default `caelus-operator`. */
  component?: string;
  /** `reportingInstance`, e.g. the pod name or leader-election identity. */
  instance?: string;
  /** Recent events remembered for aggregation. Default 4096. */
  cacheSize?: number;
  /** A repeat within this window bumps the existing Event; later, a new Event is created. Default 10 min. */
  aggregateWindowMs?: number;
}

interface Recent {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
}

// The API server accepts more, but kubectl shows one line; client-go truncates events.k8s.io notes at 1 KiB.
const MAX_MESSAGE = 1024;

/**
 * Writes core/v1 Events (what `kubectl describe` shows) about an object.
 * Repeats of the same (object, type, reason, message) bump `count` and
 * `lastTimestamp` of the Event already written instead of creating a new one,
 * like client-go's EventCorrelator, so a reconcile loop failing every few
 * seconds leaves one Event, not thousands.
 *
 * Best-effort: `event()` never throws and never blocks the caller; failures
 * are logged with the event's content. Writes for the same key are
 * serialized so concurrent repeats cannot create duplicates.
 * Events about cluster-scoped objects (our CaelusInstance) go to `default`,
 * the namespace the API server requires for them.
 */
export class EventRecorder<Reason extends string = string> {
  readonly #api: CoreV1Api;
  readonly #log: Logger;
  readonly #component: string;
  readonly #instance: string | undefined;
  readonly #cacheSize: number;
  readonly #windowMs: number;
  readonly #recent = new Map<string, Recent>();
  readonly #pending = new Map<string, Promise<void>>();

  constructor(kc: KubeConfig, opts: EventRecorderOptions) {
    this.#api = kc.makeApiClient(CoreV1Api);
    this.#component = opts.component ?? 'caelus-operator';
    this.#instance = opts.instance;
    this.#cacheSize = opts.cacheSize ?? 4096;
    this.#windowMs = opts.aggregateWindowMs ?? 10 * 60_000;
    this.#log = opts.logger.child({ component: 'events' });
  }

  /** Records an Event in the background. */
  event(obj: InvolvedObject | KubernetesObject, type: EventType, reason: Reason, message: string): void {
    const meta = obj.metadata ?? {};
    if (!meta.name) {
      this.#log.error({ kind: obj.kind, type, reason, message: message }, 'event not recorded: involved object has no name');
      return;
    }
    const msg = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const key = JSON.stringify([obj.apiVersion, obj.kind, meta.namespace ?? '', meta.name, meta.uid ?? '', type, reason, msg]);
    const previous = this.#pending.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.#write(key, obj, type, reason, msg))
      .catch((err: unknown) => {
        // #write handles API errors itself; this is the last line of defence for bugs.
        this.#log.error({ err, reason }, 'event recorder failed');
      })
      .finally(() => {
        if (this.#pending.get(key) === next) this.#pending.delete(key);
      });
    this.#pending.set(key, next);
  }

  normal(obj: InvolvedObject | KubernetesObject, reason: Reason, message: string): void {
    this.event(obj, 'Normal', reason, message);
  }

  warning(obj: InvolvedObject | KubernetesObject, reason: Reason, message: string): void {
    this.event(obj, 'Warning', reason, message);
  }

  /** Waits for every event recorded so far to be written (or to have failed). For shutdown and tests. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending.values()]);
  }

  async #write(key: string, obj: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date();
    const recent = this.#recent.get(key);
    if (recent && now.getTime() - recent.lastSeen < this.#windowMs) {
      try {
        await this.#api.patchNamespacedEvent(
          { name: recent.name, namespace: recent.namespace, body: { count: recent.count + 1, lastTimestamp: now } },
          contentType(PatchStrategy.MergePatch),
        );
        recent.count++;
        recent.lastSeen = now.getTime();
        this.#touch(key, recent);
        return;
      } catch (err) {
        if (!isNotFound(err)) {
          this.#logFailure(err, 'patch', obj, type, reason, message);
          return;
        }
        // The API server expired it (event TTL, 1 h by default): start a new one.
      }
    }
    const namespace = obj.metadata?.namespace || 'default';
    const body: CoreV1Event = {
      metadata: { name: `${obj.metadata!.name}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata!.name,
        namespace: obj.metadata?.namespace,
        uid: obj.metadata?.uid,
        resourceVersion: obj.metadata?.resourceVersion,
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.#component },
      reportingComponent: this.#component,
      reportingInstance: this.#instance ?? '',
    };
    try {
      const created = await this.#api.createNamespacedEvent({ namespace, body });
      this.#touch(key, { name: created.metadata?.name ?? body.metadata.name!, namespace, count: 1, lastSeen: now.getTime() });
    } catch (err) {
      this.#logFailure(err, 'create', obj, type, reason, message);
    }
  }

  /** Map insertion order doubles as LRU order. */
  #touch(key: string, recent: Recent): void {
    this.#recent.delete(key);
    this.#recent.set(key, recent);
    while (this.#recent.size > this.#cacheSize) {
      const oldest = this.#recent.keys().next().value;
      if (oldest === undefined) break;
      this.#recent.delete(oldest);
    }
  }

  #logFailure(err: unknown, op: string, obj: InvolvedObject, type: EventType, reason: string, message: string): void {
    const wrapped = toKubeApiError(err, { operation: `${op} event`, apiVersion: 'v1', kind: 'Event', namespace: obj.metadata?.namespace || 'default' });
    this.#log.warn(
      { err: wrapped, involvedObject: `${obj.kind ?? ''}/${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`, type, reason, eventMessage: message },
      'could not record event',
    );
  }
}

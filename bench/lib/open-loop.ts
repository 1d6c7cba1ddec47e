// An open-loop load generator: requests are sent on a fixed schedule (R per
// second) whether or not earlier ones have answered, and each latency is
// measured from the request's *scheduled* send time. A closed loop (N in
// flight) waits for an answer before sending the next request, so a slow
// server also slows the load and its stall shows up in one sample instead of
// every request that should have been sent meanwhile ("coordinated omission").
// Unit-tested in test/unit/bench/open-loop.test.ts with a virtual clock.
import { summarize, type Summary } from './stats.ts';

/** Weights of each kind of request, e.g. { get: 70, list: 20, create: 10 }. */
export type Mix<K extends string> = Readonly<Record<K, number>>;

/**
 * The kind of request i of an interleaved, deterministic sequence with the
 * mix's proportions (smooth weighted round-robin): every window of sum(weights)
 * requests holds each kind exactly weight times, spread out rather than in
 * runs, so a 20 s run sees the same mix in every second.
 */
export function mixSequence<K extends string>(mix: Mix<K>): K[] {
  const kinds = (Object.keys(mix) as K[]).filter((k) => mix[k] > 0);
  for (const k of Object.keys(mix) as K[]) {
    if (!(Number.isInteger(mix[k]) && mix[k] >= 0)) throw new RangeError(`mix weight of ${k} must be a non-negative integer, got ${mix[k]}`);
  }
  const total = kinds.reduce((s, k) => s + mix[k], 0);
  if (total === 0) throw new RangeError('the mix needs at least one positive weight');
  const current = new Map<K, number>(kinds.map((k) => [k, 0]));
  const out: K[] = [];
  for (let i = 0; i < total; i++) {
    let best = kinds[0]!;
    for (const k of kinds) {
      current.set(k, current.get(k)! + mix[k]);
      if (current.get(k)! > current.get(best)!) best = k;
    }
    current.set(best, current.get(best)! - total);
    out.push(best);
  }
  return out;
}

/** When request i is due, ms after the start, at `rate` per second. */
export function scheduledAt(i: number, rate: number): number {
  return (i * 1000) / rate;
}

export interface Clock {
  now(): number;
  /** Resolves once now() >= t (immediately if it already is). */
  sleepUntil(t: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  // Timers round to whole milliseconds and may fire a little early: wait again until the time has really come.
  sleepUntil: async (t) => {
    for (let wait = t - performance.now(); wait > 0; wait = t - performance.now()) {
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)));
    }
  },
};

/** An error's message with its cause's (fetch's "fetch failed" says nothing alone). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${(err.cause as Error & { code?: string }).code ?? ''} ${err.cause.message}`.trimEnd() : '';
  return err.message + cause;
}

export interface Sample<K extends string> {
  kind: K;
  /** ms after the start: when the request was due, when it was actually sent, when it was answered. */
  scheduled: number;
  sent: number;
  done: number;
  ok: boolean;
  error?: string;
}

export interface OpenLoopOptions<K extends string> {
  /** Requests per second. */
  rate: number;
  durationMs: number;
  mix: Mix<K>;
  /** Sends request number i of kind `kind`; resolves ok or with what went wrong (a rejection counts as an error too). */
  send(kind: K, i: number): Promise<{ ok: true } | { ok: false; error: string }>;
  clock?: Clock;
}

/**
 * Sends floor(rate × duration) requests on schedule and waits for all answers.
 * A request whose due time has passed (the generator fell behind, e.g. a busy
 * event loop) is sent at once and still timed from its due time, so lateness
 * on either side counts against the latency instead of disappearing.
 */
export async function runOpenLoop<K extends string>(o: OpenLoopOptions<K>): Promise<Sample<K>[]> {
  if (!(o.rate > 0)) throw new RangeError(`rate must be positive, got ${o.rate}`);
  const clock = o.clock ?? realClock;
  const sequence = mixSequence(o.mix);
  const n = Math.floor((o.rate * o.durationMs) / 1000);
  const start = clock.now();
  const samples: Sample<K>[] = [];
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const scheduled = scheduledAt(i, o.rate);
    await clock.sleepUntil(start + scheduled);
    const kind = sequence[i % sequence.length]!;
    const sent = clock.now() - start;
    inFlight.push(
      o.send(kind, i).then(
        (r) => {
          samples.push({ kind, scheduled, sent, done: clock.now() - start, ok: r.ok, ...(r.ok ? {} : { error: r.error }) });
        },
        (err: unknown) => {
          samples.push({ kind, scheduled, sent, done: clock.now() - start, ok: false, error: describe(err) });
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return samples;
}

export interface KindReport extends Summary {
  errors: number;
}

export interface OpenLoopReport<K extends string> {
  /** Latency from the scheduled send time to the answer, ms, of the successful requests, by kind. */
  latency: Record<K, KindReport>;
  sent: number;
  errors: number;
  /** Answered requests per second over the time from the first due time to the last answer. */
  achievedRate: number;
  /** How late the generator itself sent requests (sent − scheduled), ms: large values mean the load generator, not the server, was the bottleneck. */
  sendLag: Summary;
  /** Up to five distinct error messages, to tell what failed. */
  errorExamples: string[];
}

export function summarizeOpenLoop<K extends string>(samples: readonly Sample<K>[], kinds: readonly K[]): OpenLoopReport<K> {
  const latency = Object.fromEntries(
    kinds.map((k) => {
      const mine = samples.filter((s) => s.kind === k);
      return [k, { ...summarize(mine.filter((s) => s.ok).map((s) => s.done - s.scheduled)), errors: mine.filter((s) => !s.ok).length }];
    }),
  ) as Record<K, KindReport>;
  const end = samples.reduce((m, s) => Math.max(m, s.done), 0);
  const errors = samples.filter((s) => !s.ok);
  return {
    latency,
    sent: samples.length,
    errors: errors.length,
    achievedRate: end > 0 ? (samples.length - errors.length) / (end / 1000) : 0,
    sendLag: summarize(samples.map((s) => s.sent - s.scheduled)),
    errorExamples: [...new Set(errors.map((s) => `${s.kind}: ${s.error ?? 'failed'}`))].slice(0, 5),
  };
}

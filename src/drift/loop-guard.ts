/**
 * Per-instance brake on corrections: a controller that keeps fighting us
 * (re-scaling, re-labelling) would otherwise turn every one of its writes into
 * one of ours. More than `max` corrections within `windowMs` trips it; it
 * stays tripped for `cooldownMs`, during which drift is only reported.
 */
export class CorrectionLoopGuard {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  readonly #history = new Map<string, number[]>();
  readonly #trippedUntil = new Map<string, number>();

  constructor(opts: { max?: number; windowMs?: number; cooldownMs?: number; now?: () => number } = {}) {
    this.#max = opts.max ?? 10;
    this.#windowMs = opts.windowMs ?? 60_000;
    this.#cooldownMs = opts.cooldownMs ?? 300_000;
    this.#now = opts.now ?? Date.now;
  }

  /** True while corrections for `key` are suspended. */
  tripped(key: string): boolean {
    const until = this.#trippedUntil.get(key);
    if (until === undefined) return false;
    if (this.#now() < until) return true;
    this.#trippedUntil.delete(key);
    this.#history.delete(key);
    return false;
  }

  /** Records a correction; returns true if this one tripped the guard. */
  record(key: string): boolean {
    const now = this.#now();
    const recent = (this.#history.get(key) ?? []).filter((t) => now - t < this.#windowMs);
    recent.push(now);
    this.#history.set(key, recent);
    if (recent.length > this.#max) {
      this.#trippedUntil.set(key, now + this.#cooldownMs);
      return true;
    }
    return false;
  }

  forget(key: string): void {
    this.#history.delete(key);
    this.#trippedUntil.delete(key);
  }
}

/**
 * Per-item exponential backoff, as client-go's ItemExponentialFailureRateLimiter:
 * the n-th consecutive failure of a key waits base * 2^(n-1), capped; `forget`
 * resets the key after a success so one bad afternoon does not leave a key
 * with a five-minute delay forever.
 */
export interface BackoffOptions {
  /** First retry delay. Default 5 ms. */
  baseDelayMs?: number;
  /** Cap. Default 5 minutes. */
  maxDelayMs?: number;
  /**
   * Fraction of the delay added at random (0..1), so keys that failed together
   * (an API server outage) do not all retry in the same millisecond. Default 0.
   */
  jitter?: number;
  /** Injectable for tests; defaults to Math.random. */
  random?: () => number;
}

export class ItemBackoff<K = string> {
  readonly #failures = new Map<K, number>();
  readonly #base: number;
  readonly #max: number;
  readonly #jitter: number;
  readonly #random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.#base = opts.baseDelayMs ?? 5;
    this.#max = opts.maxDelayMs ?? 5 * 60_000;
    this.#jitter = opts.jitter ?? 0;
    this.#random = opts.random ?? Math.random;
    if (!(this.#base > 0)) throw new RangeError(`baseDelayMs must be > 0, got ${this.#base}`);
    if (!(this.#max >= this.#base)) throw new RangeError(`maxDelayMs (${this.#max}) must be >= baseDelayMs (${this.#base})`);
    if (!(this.#jitter >= 0 && this.#jitter <= 1)) throw new RangeError(`jitter must be within [0, 1], got ${this.#jitter}`);
  }

  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  next(key: K): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    // 2^n overflows to Infinity long after the cap is reached; Math.min handles it.
    const delay = Math.min(this.#base * 2 ** n, this.#max);
    if (this.#jitter === 0) return delay;
    return Math.min(delay * (1 + this.#jitter * this.#random()), this.#max);
  }

  /** Consecutive failures recorded for `key` since the last `forget`. */
  failures(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  forget(key: K): void {
    this.#failures.delete(key);
  }
}

import { ProblemError } from "../errors";

/** Upper bound on tracked clients, so a flood of spoofed addresses cannot exhaust memory. */
const MAX_TRACKED_CLIENTS = 100_000;

interface Window {
  start: number;
  count: number;
}

/**
 * Fixed one-minute window per client key. In-process only: it backs up the gateway's limits as
 * defence in depth, so each replica counting on its own is acceptable.
 */
export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly windowMs = 60_000;

  constructor(
    private readonly limitPerMinute: number,
    private readonly now: () => number,
    private readonly what: string,
  ) {}

  /** Counts one request for the key; throws 429 with Retry-After when over the limit. */
  hit(key: string): void {
    if (this.limitPerMinute <= 0) return;
    const now = this.now();
    let window = this.windows.get(key);
    if (window === undefined || now - window.start >= this.windowMs) {
      if (window === undefined && this.windows.size >= MAX_TRACKED_CLIENTS) this.sweep(now);
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count += 1;
    if (window.count > this.limitPerMinute) {
      const retryAfter = Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000));
      throw new ProblemError(
        429,
        "Too Many Requests",
        `Rate limit of ${this.limitPerMinute} ${this.what} requests per minute exceeded; retry in ${retryAfter} s.`,
        { headers: { "Retry-After": String(retryAfter) } },
      );
    }
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) {
      if (now - window.start >= this.windowMs) this.windows.delete(key);
    }
    // Still full of live windows: forget the oldest rather than grow without bound.
    if (this.windows.size >= MAX_TRACKED_CLIENTS) {
      const oldest = this.windows.keys().next();
      if (!oldest.done) this.windows.delete(oldest.value);
    }
  }
}

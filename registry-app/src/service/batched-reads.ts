interface Waiting<R> {
  keys: readonly string[];
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Reads shared by concurrent callers without ever answering with a read that started before the
 * caller asked. A caller's keys go out at once while fewer than `maxInFlight` reads run; otherwise they
 * wait, and every caller waiting when a read ends goes together in the next one (at most `maxKeys`
 * keys, unless one caller alone has more), each handed that read's whole result. With one in flight,
 * however many callers wait there is at most one read running and one queued: the change generations
 * (GenerationReader) and the facet index's refreshes. With two, the pages the facet index finds: a statement costs PostgreSQL and the
 * service a round trip and a backend's wake-up whatever it reads (BENCHMARKS.md, eighth session).
 */
export class BatchedReads<R> {
  private waiting: Array<Waiting<R>> = [];
  private running = 0;

  constructor(
    /** One read of `keys` (each once). */
    private readonly read: (keys: readonly string[]) => Promise<R>,
    private readonly maxInFlight: number,
    private readonly maxKeys = Infinity,
  ) {}

  /** The result of a read of at least `keys` that started after this call. */
  get(keys: readonly string[]): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ keys, resolve, reject });
      if (this.running < this.maxInFlight) this.send();
    });
  }

  private send(): void {
    const batch: Array<Waiting<R>> = [];
    let size = 0;
    for (let next = this.waiting[0]; next !== undefined; next = this.waiting[0]) {
      if (batch.length > 0 && size + next.keys.length > this.maxKeys) break;
      batch.push(next);
      size += next.keys.length;
      this.waiting.shift();
    }
    if (batch.length === 0) return;
    this.running += 1;
    const keys =
      batch.length === 1 ? (batch[0] as Waiting<R>).keys : [...new Set(batch.flatMap((b) => b.keys))];
    this.read(keys)
      .then(
        (result) => batch.forEach((caller) => caller.resolve(result)),
        (error: unknown) => batch.forEach((caller) => caller.reject(error)),
      )
      .finally(() => {
        this.running -= 1;
        while (this.running < this.maxInFlight && this.waiting.length > 0) this.send();
      });
  }
}

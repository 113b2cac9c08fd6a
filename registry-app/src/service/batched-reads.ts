interface Waiting<Row> {
  ids: readonly string[];
  resolve: (rows: ReadonlyMap<string, Row>) => void;
  reject: (error: unknown) => void;
}

/**
 * Reads of rows by id shared by concurrent requests: a request's ids go out at once while fewer than
 * `maxInFlight` statements run, else with the next statement, together with the ids of every request
 * that arrived meanwhile. A statement costs PostgreSQL and the service a round trip and a backend's
 * wake-up whatever it reads, so under load several pages share one (BENCHMARKS.md, eighth session).
 * Each request's read starts after the request asked, so sharing never makes an answer older.
 */
export class BatchedReads<Row> {
  private waiting: Array<Waiting<Row>> = [];
  private running = 0;

  constructor(
    /** The rows of `ids` (those that exist), keyed by id. */
    private readonly read: (ids: readonly string[]) => Promise<ReadonlyMap<string, Row>>,
    private readonly maxInFlight: number,
    /** Most ids in one statement; a request with more goes on its own. */
    private readonly maxIds: number,
  ) {}

  /** The rows of `ids` that exist, by id, read by a statement that started after this call. */
  get(ids: readonly string[]): Promise<ReadonlyMap<string, Row>> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ ids, resolve, reject });
      if (this.running < this.maxInFlight) this.send();
    });
  }

  private send(): void {
    const batch: Array<Waiting<Row>> = [];
    let size = 0;
    for (let next = this.waiting[0]; next !== undefined; next = this.waiting[0]) {
      if (batch.length > 0 && size + next.ids.length > this.maxIds) break;
      batch.push(next);
      size += next.ids.length;
      this.waiting.shift();
    }
    if (batch.length === 0) return;
    this.running += 1;
    const ids =
      batch.length === 1 ? (batch[0] as Waiting<Row>).ids : [...new Set(batch.flatMap((b) => b.ids))];
    this.read(ids)
      .then(
        (rows) => batch.forEach((request) => request.resolve(rows)),
        (error: unknown) => batch.forEach((request) => request.reject(error)),
      )
      .finally(() => {
        this.running -= 1;
        while (this.running < this.maxInFlight && this.waiting.length > 0) this.send();
      });
  }
}

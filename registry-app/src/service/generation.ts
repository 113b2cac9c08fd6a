/**
 * Reads of the database's change generation, shared by concurrent callers without ever answering
 * with a value read before the caller asked. Each caller gets the result of a read that started
 * after its call: the one not yet started if there is one, else a new one queued behind the read in
 * flight. So a cache checked against it is never staler than an uncached read would be, at the cost
 * of at most one round trip in flight (plus one queued) per process however many requests wait.
 */
export class GenerationReader {
  private inFlight: Promise<string> | undefined;
  private queued: Promise<string> | undefined;

  constructor(private readonly read: () => Promise<string>) {}

  current(): Promise<string> {
    if (this.queued !== undefined) return this.queued;
    if (this.inFlight === undefined) return this.launch();
    const settled = this.inFlight.then(
      () => undefined,
      () => undefined,
    );
    const queued = settled.then(() => {
      this.queued = undefined;
      return this.launch();
    });
    this.queued = queued;
    return queued;
  }

  private launch(): Promise<string> {
    const started = this.read();
    this.inFlight = started;
    const clear = () => {
      if (this.inFlight === started) this.inFlight = undefined;
    };
    started.then(clear, clear);
    return started;
  }
}

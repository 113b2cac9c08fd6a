import type { Freshness } from "../store";

/**
 * Reads of the database's change generations, shared by concurrent callers without ever answering
 * with a value read before the caller asked. Each caller gets the result of a read that started
 * after its call: the one not yet started if there is one (its name joins that read's list), else a
 * new one queued behind the read in flight. So a cache checked against it is never staler than an
 * uncached read would be, at the cost of at most one round trip in flight (plus one queued) per
 * process however many requests wait, and however many names they ask about.
 */
export class GenerationReader {
  private inFlight: Promise<Freshness> | undefined;
  private queued: { result: Promise<Freshness>; names: Set<string> } | undefined;

  constructor(private readonly read: (names: readonly string[]) => Promise<Freshness>) {}

  /** Generations as of a read that started after this call, including `name`'s when given. */
  current(name?: string): Promise<Freshness> {
    if (this.queued !== undefined) {
      if (name !== undefined) this.queued.names.add(name);
      return this.queued.result;
    }
    const names = new Set<string>(name === undefined ? [] : [name]);
    if (this.inFlight === undefined) return this.launch(names);
    const settled = this.inFlight.then(
      () => undefined,
      () => undefined,
    );
    const result = settled.then(() => {
      this.queued = undefined;
      return this.launch(names);
    });
    this.queued = { result, names };
    return result;
  }

  private launch(names: Set<string>): Promise<Freshness> {
    const started = this.read([...names]);
    this.inFlight = started;
    const clear = () => {
      if (this.inFlight === started) this.inFlight = undefined;
    };
    started.then(clear, clear);
    return started;
  }
}

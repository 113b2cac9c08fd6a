import type { Freshness } from "../store";
import { BatchedReads } from "./batched-reads";

/**
 * Reads of the database's change generations, shared by concurrent callers without ever answering
 * with a value read before the caller asked: each caller gets the result of a read that started
 * after its call, the one not yet started if there is one (its name joins that read's list), else a
 * new one queued behind the read in flight. So a cache checked against it is never staler than an
 * uncached read would be, at the cost of at most one round trip in flight (plus one queued) per
 * process however many requests wait, and however many names they ask about.
 */
export class GenerationReader {
  private readonly reads: BatchedReads<Freshness>;

  constructor(read: (names: readonly string[]) => Promise<Freshness>) {
    this.reads = new BatchedReads(read, 1);
  }

  /** Generations as of a read that started after this call, including `name`'s when given. */
  current(name?: string): Promise<Freshness> {
    return this.reads.get(name === undefined ? [] : [name]);
  }
}

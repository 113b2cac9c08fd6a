import { createHash } from "node:crypto";

/** A read's serialized answer and its entity tag (a hash of the bytes, so every replica agrees on it). */
export interface CachedBody {
  body: Buffer;
  etag: string;
}

export interface ReadCacheOptions {
  /** Byte budget of cached bodies; 0 turns caching off (every read queries the database). */
  maxBytes: number;
  /** The database's change generation, as of a read that started after the call. */
  generation: () => Promise<string>;
  /** Hit and miss counts (Prometheus). */
  onLookup?: (outcome: "hit" | "miss") => void;
}

export function bodyWithEtag(json: string): CachedBody {
  const body = Buffer.from(json, "utf8");
  const digest = createHash("sha256").update(body).digest("base64url").slice(0, 22);
  return { body, etag: `"${digest}"` };
}

/** If-None-Match against an entity tag: weak comparison (RFC 9110 §13.1.2), `*` matches anything. */
export function ifNoneMatchHits(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = etag.replace(/^W\//, "");
  const tags = (Array.isArray(header) ? header.join(",") : header).split(",");
  return tags.some((tag) => {
    const trimmed = tag.trim();
    return trimmed === "*" || trimmed.replace(/^W\//, "") === opaque;
  });
}

/**
 * Serialized answers of hot reads, valid for one change generation of the database. Every lookup
 * first learns the current generation from a read that started after it (GenerationReader), so a
 * write committed by any replica before a request arrives is never hidden by this cache; a new
 * generation drops every entry. Least recently used entries go first when the byte budget is spent;
 * concurrent misses of one key share a single database query.
 */
export class ReadCache {
  private generation: string | undefined;
  private readonly entries = new Map<string, CachedBody>();
  private filling = new Map<string, Promise<CachedBody>>();
  private bytes = 0;
  /** An answer larger than this share of the budget is served but not kept. */
  private readonly maxEntryBytes: number;

  constructor(private readonly options: ReadCacheOptions) {
    this.maxEntryBytes = Math.floor(options.maxBytes / 8);
  }

  get enabled(): boolean {
    return this.options.maxBytes > 0;
  }

  /** Bytes of the bodies held now. */
  get size(): number {
    return this.bytes;
  }

  /** The answer for `key`: cached for the current generation, or produced (once) and kept. */
  async get(key: string, produce: () => Promise<string>): Promise<CachedBody> {
    if (!this.enabled) return bodyWithEtag(await produce());
    const generation = await this.options.generation();
    if (generation !== this.generation) this.reset(generation);
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Map order is insertion order: re-inserting marks the entry most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      this.options.onLookup?.("hit");
      return hit;
    }
    this.options.onLookup?.("miss");
    const pending = this.filling.get(key);
    if (pending !== undefined) return pending;
    const filling = this.filling;
    const fill = produce().then(bodyWithEtag);
    filling.set(key, fill);
    try {
      const answer = await fill;
      // A generation that moved on while the query ran makes this answer unfit to keep.
      if (this.generation === generation) this.keep(key, answer);
      return answer;
    } finally {
      if (filling.get(key) === fill) filling.delete(key);
    }
  }

  /** Drops everything, e.g. when the database behind the pool may have been replaced. */
  clear(): void {
    this.reset(undefined);
  }

  private reset(generation: string | undefined): void {
    this.generation = generation;
    this.entries.clear();
    this.filling = new Map();
    this.bytes = 0;
  }

  private keep(key: string, answer: CachedBody): void {
    const size = answer.body.length + key.length;
    if (size > this.maxEntryBytes) return;
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      this.bytes -= previous.body.length + key.length;
    }
    this.entries.set(key, answer);
    this.bytes += size;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.options.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.body.length + oldest.length;
    }
  }
}

import { createHash } from "node:crypto";
import type { Freshness } from "../store";

/** A read's serialized answer and its entity tag (a hash of the bytes, so every replica agrees on it). */
export interface CachedBody {
  body: Buffer;
  etag: string;
}

export interface ReadCacheOptions {
  /** Byte budget of cached bodies; 0 turns caching off (every read queries the database). */
  maxBytes: number;
  /** The change generations (the global one, and `name`'s), as of a read that started after the call. */
  freshness: (name?: string) => Promise<Freshness>;
  /** Hit and miss counts (Prometheus). */
  onLookup?: (outcome: "hit" | "miss") => void;
}

/** A produced answer and the generation it was read under; undefined generation: do not keep it. */
export interface ProducedAnswer {
  /** The answer's JSON, as text or already encoded as UTF-8. */
  json: string | Buffer;
  generation?: string;
}

/** A kept answer and the generation it is valid for (its name's, or the global one for lists). */
interface CacheEntry extends CachedBody {
  generation: string;
}

export function bodyWithEtag(json: string | Buffer): CachedBody {
  const body = typeof json === "string" ? Buffer.from(json, "utf8") : json;
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
 * Serialized answers of hot reads. An answer about one server name is valid while that name's
 * generation stays the same; a list or search answer while the global generation does. Every lookup
 * first learns the current generations from a read that started after it (GenerationReader), so a
 * write committed by any replica before a request arrives is never hidden by this cache, and a write
 * to one name leaves the answers about every other name in place. Entries carry the generation read
 * by the statement that produced them (same snapshot), so a read pool whose connections reach
 * different standbys cannot pair an older answer with a newer generation. Least recently used
 * entries go first when the byte budget is spent; concurrent misses of one key under one generation
 * share a single database query.
 */
export class ReadCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly filling = new Map<string, { generation: string; answer: Promise<CachedBody> }>();
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

  /**
   * The answer for `key`, which depends on server `name` alone (or, undefined, on every name): kept
   * for the current generation, or produced and kept. With `atLeast` (a WAL position the client's
   * write ended at) a kept answer is used only if a primary reported the generations, and `produce`
   * must itself read from a server that has replayed that far: a standby's replay position is read
   * after the snapshot its generations come from, so it cannot prove they include the write.
   */
  async get(
    key: string,
    name: string | undefined,
    produce: () => Promise<ProducedAnswer>,
    atLeast?: string,
  ): Promise<CachedBody> {
    if (!this.enabled) return bodyWithEtag((await produce()).json);
    const fresh = await this.options.freshness(name);
    const current = name === undefined ? fresh.global : fresh.names.get(name);
    const reached = atLeast === undefined || fresh.replayed === null;
    const hit = this.entries.get(key);
    if (hit !== undefined && reached && hit.generation === current) {
      // Map order is insertion order: re-inserting marks the entry most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      this.options.onLookup?.("hit");
      return hit;
    }
    this.options.onLookup?.("miss");
    // A client waiting for its own write never shares a query that may have started on a lagging server.
    const pending = atLeast === undefined ? this.filling.get(key) : undefined;
    if (pending !== undefined && current !== undefined && pending.generation === current)
      return pending.answer;
    const fill = produce().then((answer) => {
      const body = bodyWithEtag(answer.json);
      if (answer.generation !== undefined) this.keep(key, { ...body, generation: answer.generation });
      return body;
    });
    if (current === undefined || atLeast !== undefined) return fill;
    const shared = { generation: current, answer: fill };
    this.filling.set(key, shared);
    try {
      return await fill;
    } finally {
      if (this.filling.get(key) === shared) this.filling.delete(key);
    }
  }

  private keep(key: string, entry: CacheEntry): void {
    const size = entry.body.length + key.length;
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      this.bytes -= previous.body.length + key.length;
    }
    if (size > this.maxEntryBytes) return;
    this.entries.set(key, entry);
    this.bytes += size;
    for (const [oldest, kept] of this.entries) {
      if (this.bytes <= this.options.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= kept.body.length + oldest.length;
    }
  }
}

import { ProblemError } from "../errors";
import type { Logger } from "../logger";
import { validateServerJson } from "../schema";
import { RegistryService, systemCaller, type StatusChange } from "../service";
import { StoreRefusedValueError, type ServerStore } from "../store";
import { readPath, readRegistry, readSeed, type Fetcher, type SourceEntry } from "./sources";

export interface IngestReport {
  /** New versions stored. */
  published: number;
  /** Existing versions whose document or status changed (sync only). */
  updated: number;
  /** Already present and identical: what makes re-runs idempotent. */
  unchanged: number;
  /** Refused by validation or a registry rule; counted and logged, never fatal. */
  invalid: number;
}

const STATUSES = new Set(["active", "deprecated", "deleted"]);

function emptyReport(): IngestReport {
  return { published: 0, updated: 0, unchanged: 0, invalid: 0 };
}

/** JSON with object keys sorted, so two documents compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Changed versions after which ingestion refreshes the planner's statistics itself. */
const BULK_CHANGES = 500;

/** Concurrent lanes of ingestion; each name always goes to the same lane, so its versions keep their order. */
const LANES = 4;
/** Entries read ahead of the lanes, so a large source is never held in memory at once. */
const BATCH = 256;

function laneOf(entry: SourceEntry): number {
  const document = entry.document as { name?: unknown } | null;
  const name = typeof document?.name === "string" ? document.name : "";
  let hash = 0;
  for (let i = 0; i < name.length; i += 1) hash = (hash * 31 + name.charCodeAt(i)) | 0;
  return Math.abs(hash) % LANES;
}

/** Runs fn over the entries, names spread over lanes that run concurrently (each lane's share in order), batch after batch. */
async function inLanes(
  entries: AsyncIterable<SourceEntry> | Iterable<SourceEntry>,
  fn: (lane: SourceEntry[]) => Promise<void>,
): Promise<void> {
  let batch: SourceEntry[] = [];
  const drain = async () => {
    const lanes = Array.from({ length: LANES }, () => [] as SourceEntry[]);
    for (const entry of batch) lanes[laneOf(entry)]?.push(entry);
    batch = [];
    await Promise.all(lanes.filter((lane) => lane.length > 0).map(fn));
  };
  for await (const entry of entries) {
    batch.push(entry);
    if (batch.length >= BATCH) await drain();
  }
  await drain();
}

/**
 * Seed, import and sync: every document goes through RegistryService.publish (the API's publish path)
 * as the registry itself; invalid entries are skipped and counted.
 */
export class Ingestor {
  constructor(
    private readonly service: RegistryService,
    private readonly store: ServerStore,
    private readonly log: Logger,
    private readonly fetcher: Fetcher = { fetch },
  ) {}

  /** Publishes each entry once; entries already present are left alone. */
  async publishAll(
    entries: AsyncIterable<SourceEntry> | Iterable<SourceEntry>,
    source: string,
  ): Promise<IngestReport> {
    const caller = systemCaller(source);
    const report = emptyReport();
    const skip = (entry: SourceEntry, problem: ProblemError) => {
      report.invalid += 1;
      this.logSkipped(entry, problem, "skipped an invalid entry");
    };
    await inLanes(entries, async (lane) => {
      for (const entry of lane) if (entry.refused !== undefined) skip(entry, entry.refused);
      const storable = lane.filter((entry) => entry.refused === undefined);
      // A lane's versions of one name are stored in one statement (see RegistryService.publishBatch).
      const outcomes = await this.service.publishBatch(
        caller,
        storable.map((entry) => entry.document),
      );
      outcomes.forEach((result, index) => {
        if (result.outcome === "published") report.published += 1;
        else if (result.outcome === "duplicate") report.unchanged += 1;
        else {
          skip(storable[index] as SourceEntry, result.problem);
        }
      });
    });
    await this.afterBulk(report);
    return report;
  }

  /** One line per skipped entry naming where it came from; a value the database refused is a bug. */
  private logSkipped(entry: SourceEntry, error: ProblemError, message: string): void {
    const fields = {
      origin: entry.origin,
      problem: error.detail,
      locations: error.errors?.map((e) => e.location),
    };
    if (error instanceof StoreRefusedValueError) {
      this.log.error(
        { ...fields, sql_state: error.sqlState, err: error.cause },
        `${message}: the database refused a value that validation let through (a bug in edge validation)`,
      );
    } else this.log.warn(fields, message);
  }

  /** A large ingestion changes the data's shape; the planner should know before the next search. */
  private async afterBulk(report: IngestReport): Promise<void> {
    if (report.published + report.updated < BULK_CHANGES) return;
    await this.store
      .refreshStatistics()
      .catch((error: unknown) =>
        this.log.warn({ err: error }, "could not refresh statistics after ingestion; autovacuum will"),
      );
  }

  /** MCP_REGISTRY_SEED_FROM (or the `seed` command's argument). */
  seed(source: string): Promise<IngestReport> {
    return this.publishAll(readSeed(source, this.fetcher), "seed");
  }

  /** The `import <path>` command: a file or directory of server.json documents. */
  importPath(target: string): Promise<IngestReport> {
    return this.publishAll(readPath(target), "import");
  }

  /**
   * Incremental pull from an upstream registry: asks for entries updated since the stored watermark
   * (minus an overlap for transactions that committed late), mirrors new versions, edits and status
   * changes, and advances the watermark only after a complete run.
   */
  async sync(
    upstream: string,
    overlapSeconds: number,
  ): Promise<IngestReport & { since?: string; watermark?: string }> {
    const source = upstream.replace(/\/+$/, "");
    const previous = await this.store.syncWatermark(source);
    const since = previous === undefined ? undefined : new Date(previous.getTime() - overlapSeconds * 1000);
    // A first run mirrors deleted versions too (updated_since implies include_deleted on later runs).
    const query: Record<string, string> =
      since === undefined ? { include_deleted: "true" } : { updated_since: since.toISOString() };
    const report = emptyReport();
    let newest = previous;
    const caller = systemCaller("sync");
    const mirrorOne = async (entry: SourceEntry) => {
      const updatedAt =
        entry.upstream?.updatedAt === undefined ? undefined : new Date(entry.upstream.updatedAt);
      try {
        if (entry.refused !== undefined) throw entry.refused;
        const outcome = await this.mirror(entry, caller);
        report[outcome] += 1;
      } catch (error) {
        if (!(error instanceof ProblemError) || error.status >= 500) throw error;
        report.invalid += 1;
        this.logSkipped(entry, error, "sync skipped an entry");
      }
      if (
        updatedAt !== undefined &&
        !Number.isNaN(updatedAt.getTime()) &&
        (newest === undefined || updatedAt > newest)
      ) {
        newest = updatedAt;
      }
    };
    await inLanes(readRegistry(source, this.fetcher, query), async (lane) => {
      for (const entry of lane) await mirrorOne(entry);
    });
    if (newest !== undefined) await this.store.setSyncWatermark(source, newest);
    await this.afterBulk(report);
    return { ...report, since: since?.toISOString(), watermark: newest?.toISOString() };
  }

  private async mirror(
    entry: SourceEntry,
    caller: ReturnType<typeof systemCaller>,
  ): Promise<"published" | "updated" | "unchanged"> {
    const validation = validateServerJson(entry.document);
    if (validation.server === undefined) {
      // Same path as the API: publish reports the 422 with its findings.
      await this.service.publish(caller, entry.document);
      return "published";
    }
    const server = validation.server;
    const status = entry.upstream?.status;
    const change: StatusChange | undefined =
      status !== undefined && STATUSES.has(status)
        ? {
            status: status as StatusChange["status"],
            statusMessage: status === "active" ? undefined : entry.upstream?.statusMessage,
          }
        : undefined;
    const local = await this.store.get(server.name, server.version);
    if (local === undefined) {
      await this.service.publish(caller, server);
      if (change !== undefined && change.status !== "active") {
        await this.service.setStatus(caller, server.name, server.version, change);
      }
      return "published";
    }
    let outcome: "updated" | "unchanged" = "unchanged";
    if (canonicalJson(JSON.parse(local.documentJson)) !== canonicalJson(server)) {
      await this.service.edit(caller, server.name, server.version, server);
      outcome = "updated";
    }
    if (
      change !== undefined &&
      (change.status !== local.status || (change.statusMessage ?? null) !== local.statusMessage)
    ) {
      await this.service.setStatus(caller, server.name, server.version, change);
      outcome = "updated";
    }
    return outcome;
  }
}

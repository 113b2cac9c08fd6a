import { createHash } from "node:crypto";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import pg from "pg";
import { ProblemError } from "../errors";
import { refusedValueError } from "./refusals";

export interface DatabaseSettings {
  url: string;
  poolSize: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  applicationName?: string;
  /**
   * Protocol-level named prepared statements for queries that ask for them (parsed and planned once
   * per connection). Off behind a PgBouncer older than 1.21 or without max_prepared_statements.
   */
  preparedStatements?: boolean;
}

export interface QueryOptions {
  /** Run as a named prepared statement when the database allows them (hot, fixed-text queries). */
  prepare?: boolean;
}

/** Anything that can run a query: the pool, or the client of an open transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(
    text: string,
    values?: unknown[],
    options?: QueryOptions,
  ): Promise<pg.QueryResult<R>>;
}

const tracer = trace.getTracer("mcp-registry.store");

/** SQLSTATEs and socket errors that mean the connection itself is gone (server restart, network). */
const CONNECTION_SQLSTATES = new Set(["57P01", "57P02", "57P03"]);
const CONNECTION_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
]);
const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /cannot use a pool after calling end/i,
];
/** Overload and contention: the connection is fine, the request may simply be retried. */
const RETRYABLE_SQLSTATES = new Set(["53300", "57014", "40001", "40P01", "55P03"]);
/**
 * A prepared statement this connection made is missing on the server it reached (26000), or one it
 * never made is there (42P05): a pooler moved the connection between server sessions.
 */
const PREPARED_STATEMENT_LOST = new Set(["26000", "42P05"]);
/** The client-side bound of a statement (StatementDeadlines), worded as node-pg words its own. */
const QUERY_TIMEOUT_MESSAGE = "Query read timeout";

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = sqlState(error);
  if (
    code !== undefined &&
    (code.startsWith("08") || CONNECTION_SQLSTATES.has(code) || CONNECTION_ERRNOS.has(code))
  ) {
    return true;
  }
  return CONNECTION_MESSAGES.some((pattern) => pattern.test(error.message));
}

export function isUnavailableError(error: unknown): boolean {
  if (error instanceof Error && error.message === QUERY_TIMEOUT_MESSAGE) return true;
  return isConnectionError(error) || RETRYABLE_SQLSTATES.has(sqlState(error) ?? "");
}

/** 503 with Retry-After: clients and the gateway retry, the pod stays alive and reconnects. */
export class DatabaseUnavailableError extends ProblemError {
  constructor(cause: unknown) {
    super(503, "Service Unavailable", "The database is unavailable; retry shortly.", {
      headers: { "Retry-After": "2" },
    });
    this.cause = cause;
  }
}

/**
 * Connectivity failures become a 503 ProblemError, refused values (22P05, 22021, …) a 400; anything
 * else is a real bug and stays as is.
 */
export function translateDatabaseError(error: unknown): unknown {
  if (isUnavailableError(error)) return new DatabaseUnavailableError(error);
  return refusedValueError(error) ?? error;
}

/** The first SQL keyword(s), as a span name that never contains parameters. */
function operationName(text: string): string {
  const words = text.trim().split(/\s+/, 3);
  return `db ${(words[0] ?? "query").toUpperCase()}`;
}

const statementNames = new Map<string, string>();

/** A statement's name derived from its text, so every connection prepares it under the same name. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `mcpr_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * Client-side bounds of running statements, checked by one timer for all of them. node-pg's own
 * `query_timeout` arms a timer per statement, and with it the rows of answers survive young garbage
 * collections in bulk, which cost about twice the CPU per 30-row statement (BENCHMARKS.md,
 * bench/statement-bounds.ts).
 * The timer runs only while statements are tracked; a statement is answered with "Query read
 * timeout" within half a second of its bound.
 */
export class StatementDeadlines {
  private readonly running = new Set<{ deadline: number; expire: () => void }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly checkEveryMs = 500) {}

  /** Calls `expire` once `limitMs` have passed, unless the returned function is called first. */
  track(limitMs: number, expire: () => void): () => void {
    const entry = { deadline: Date.now() + limitMs, expire };
    this.running.add(entry);
    this.timer ??= setInterval(() => this.check(), this.checkEveryMs).unref();
    return () => this.running.delete(entry);
  }

  get size(): number {
    return this.running.size;
  }

  private check(): void {
    const now = Date.now();
    for (const entry of this.running) {
      if (entry.deadline > now) continue;
      this.running.delete(entry);
      entry.expire();
    }
    if (this.running.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/**
 * One statement on `client`, answered with "Query read timeout" after `limitMs` (0: unbounded), its
 * own late answer then ignored. `settle` runs once, before the promise settles, with the error if
 * any (a pooled connection is released there).
 */
function boundedQuery<R extends pg.QueryResultRow>(
  client: pg.ClientBase,
  config: pg.QueryConfig,
  limitMs: number,
  deadlines: StatementDeadlines,
  resolve: (result: pg.QueryResult<R>) => void,
  reject: (error: Error) => void,
  settle?: (error: Error | undefined) => void,
): void {
  let settled = false;
  const untrack =
    limitMs > 0
      ? deadlines.track(limitMs, () => {
          if (settled) return;
          settled = true;
          const error = new Error(QUERY_TIMEOUT_MESSAGE);
          settle?.(error);
          reject(error);
        })
      : undefined;
  // The callback form: node-pg's promise form also keeps answers alive through collections.
  client.query<R>(config, (error, result) => {
    untrack?.();
    if (settled) return;
    settled = true;
    settle?.(error ?? undefined);
    if (error) reject(error);
    else resolve(result);
  });
}

/**
 * One statement on a connection of `pool` taken for it alone, callbacks throughout (no promise per
 * step). After an error or a timeout the connection is discarded, not returned, as node-pg's
 * pool.query does.
 */
function pooledQuery<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  config: pg.QueryConfig,
  limitMs: number,
  deadlines: StatementDeadlines,
): Promise<pg.QueryResult<R>> {
  return new Promise((resolve, reject) => {
    pool.connect((connectError, client, release) => {
      if (connectError || client === undefined) {
        reject(connectError ?? new Error("no connection"));
        return;
      }
      // A connection that fails while checked out emits "error" on its client: handled here, as the
      // pool handles it for idle ones (the pool listens again from the release on).
      const onError = (error: Error) => finish(error);
      let finished = false;
      const finish = (error: Error | undefined) => {
        if (finished) return;
        finished = true;
        client.removeListener("error", onError);
        release(error);
      };
      client.on("error", onError);
      boundedQuery<R>(client, config, limitMs, deadlines, resolve, reject, finish);
    });
  });
}

/** Where a statement runs: a pooled connection for this statement only, or one held (transaction). */
type Target = { pool: pg.Pool } | { client: pg.PoolClient };

/** One statement with a client span and error translation. */
async function tracedQuery<R extends pg.QueryResultRow>(
  target: Target,
  config: pg.QueryConfig,
  limitMs: number,
  deadlines: StatementDeadlines,
): Promise<pg.QueryResult<R>> {
  return tracer.startActiveSpan(
    operationName(config.text),
    { kind: SpanKind.CLIENT, attributes: { "db.system": "postgresql" } },
    async (span) => {
      try {
        return await ("client" in target
          ? new Promise<pg.QueryResult<R>>((resolve, reject) =>
              boundedQuery<R>(target.client, config, limitMs, deadlines, resolve, reject),
            )
          : pooledQuery<R>(target.pool, config, limitMs, deadlines));
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        if (config.name !== undefined && PREPARED_STATEMENT_LOST.has(sqlState(error) ?? "")) {
          throw new Error(
            `${(error as Error).message}: a pooler between the registry and PostgreSQL does not keep prepared ` +
              "statements (PgBouncer < 1.21, or max_prepared_statements = 0); set " +
              "MCP_REGISTRY_DATABASE_PREPARED_STATEMENTS=false (or ..._READ_PREPARED_STATEMENTS) for that URL",
            { cause: error },
          );
        }
        throw translateDatabaseError(error);
      } finally {
        span.end();
      }
    },
  );
}

/**
 * The connection pool plus transactions; every SQL statement of the service goes through here.
 * It works through PgBouncer in transaction mode (CloudNativePG's Pooler): no startup parameters a
 * pooler would refuse, transaction-scoped locks and settings only. The statement timeout is applied
 * with SET LOCAL inside transactions, and on this side (StatementDeadlines) to every statement: a
 * second beyond the server-side limit, so in transactions PostgreSQL's own cancel comes first.
 */
export class Database implements Queryable {
  readonly pool: pg.Pool;
  /** Server-side bound of one statement in a transaction (0: none); single-statement writes reuse it. */
  readonly statementTimeoutMs: number;
  private readonly preparedStatements: boolean;
  /** The client-side bound of a statement outside a transaction. */
  private readonly queryLimitMs: number;
  private readonly deadlines = new StatementDeadlines();

  constructor(settings: DatabaseSettings) {
    this.queryLimitMs = settings.statementTimeoutMs + 1_000;
    this.statementTimeoutMs = settings.statementTimeoutMs;
    this.preparedStatements = settings.preparedStatements ?? false;
    this.pool = new pg.Pool({
      connectionString: settings.url,
      max: settings.poolSize,
      connectionTimeoutMillis: settings.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: settings.applicationName ?? "mcp-registry",
      keepAlive: true,
    });
    // An idle client whose server went away emits here; without a listener the process would crash.
    this.pool.on("error", () => undefined);
  }

  query<R extends pg.QueryResultRow>(
    text: string,
    values?: unknown[],
    options?: QueryOptions,
  ): Promise<pg.QueryResult<R>> {
    return tracedQuery<R>(
      { pool: this.pool },
      this.config(text, values, options),
      this.queryLimitMs,
      this.deadlines,
    );
  }

  private config(
    text: string,
    values: unknown[] | undefined,
    options: QueryOptions | undefined,
  ): pg.QueryConfig {
    const name = options?.prepare === true && this.preparedStatements ? statementName(text) : undefined;
    return name === undefined ? { text, values } : { text, values, name };
  }

  /**
   * Runs fn in one transaction (READ COMMITTED); rolls back on any error. `statementTimeoutMs: 0`
   * lifts the statement timeout (migrations); `prelude` is constant SQL sent with BEGIN.
   */
  async transaction<T>(
    fn: (tx: Queryable) => Promise<T>,
    options: { statementTimeoutMs?: number; prelude?: string } = {},
  ): Promise<T> {
    const limit = options.statementTimeoutMs ?? this.statementTimeoutMs;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translateDatabaseError(error);
    }
    // Unbounded on this side too when the server's limit is lifted (migrations).
    const clientLimit = limit > 0 ? limit + 1_000 : 0;
    const tx: Queryable = {
      query: <R extends pg.QueryResultRow>(text: string, values?: unknown[], queryOptions?: QueryOptions) =>
        tracedQuery<R>({ client }, this.config(text, values, queryOptions), clientLimit, this.deadlines),
    };
    let broken = false;
    try {
      // One round trip: a parameterless query may carry several statements (the prelude holds no input).
      const timeout = limit > 0 ? `; SET LOCAL statement_timeout = ${Math.trunc(limit)}` : "";
      await tx.query(`BEGIN${timeout}${options.prelude ? `; ${options.prelude}` : ""}`);
      const result = await fn(tx);
      await tx.query("COMMIT");
      return result;
    } catch (error) {
      broken = isConnectionError(error instanceof DatabaseUnavailableError ? error.cause : error);
      if (!broken) await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      // A client whose connection failed is discarded rather than returned to the pool.
      client.release(broken ? true : undefined);
    }
  }

  /**
   * Runs fn on one connection of this pool if its server has replayed the WAL up to `lsn` (a primary
   * always has), else hands fn `fallback`. One connection, because behind a load-balanced read
   * service each connection may reach a different standby, each at its own position.
   */
  async onConnectionAtLeast<T>(
    lsn: string,
    fallback: Queryable,
    fn: (q: Queryable) => Promise<T>,
  ): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translateDatabaseError(error);
    }
    let broken = false;
    try {
      const pinned: Queryable = {
        query: <R extends pg.QueryResultRow>(text: string, values?: unknown[], options?: QueryOptions) =>
          tracedQuery<R>({ client }, this.config(text, values, options), this.queryLimitMs, this.deadlines),
      };
      const { rows } = await pinned.query<{ reached: boolean }>(
        "SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::pg_lsn AS reached",
        [lsn],
        { prepare: true },
      );
      if (rows[0]?.reached === true) return await fn(pinned);
    } catch (error) {
      broken = isConnectionError(error instanceof DatabaseUnavailableError ? error.cause : error);
      throw error;
    } finally {
      client.release(broken ? true : undefined);
    }
    return fn(fallback);
  }

  /**
   * The server's WAL insert position: every transaction committed before this call ends at or before
   * it (the write position may not have reached a commit record yet when synchronous_commit is off).
   */
  async currentWalLsn(): Promise<string> {
    const { rows } = await this.query<{ lsn: string }>(
      "SELECT pg_current_wal_insert_lsn()::text AS lsn",
      [],
      {
        prepare: true,
      },
    );
    return (rows[0] as { lsn: string }).lsn;
  }

  /** Readiness: a trivial query within timeoutMs. */
  async ping(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.pool.query("SELECT 1").then(() => true), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Pool gauges for /metrics. */
  poolStats(): { total: number; idle: number; waiting: number; max: number } {
    return {
      total: this.pool.totalCount,
      idle: this.pool.idleCount,
      waiting: this.pool.waitingCount,
      max: this.pool.options.max ?? 0,
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

import assert from "node:assert/strict";
import { Database, DatabaseUnavailableError, StatementDeadlines } from "../../src/store";
import { freshDatabaseUrl } from "../support/postgres";

describe("store: client-side bounds of statements", () => {
  describe("StatementDeadlines", () => {
    it("expires a statement once, after its bound, and never one finished first", async () => {
      const deadlines = new StatementDeadlines(10);
      const expired: string[] = [];
      deadlines.track(30, () => expired.push("slow"));
      const finished = deadlines.track(30, () => expired.push("finished"));
      deadlines.track(5_000, () => expired.push("later"));
      finished();
      await new Promise((resolve) => setTimeout(resolve, 120));
      assert.deepEqual(expired, ["slow"]);
      assert.equal(deadlines.size, 1, "the statement with the longer bound is still tracked");
    });
  });

  describe("Database", () => {
    let db: Database;
    let url: string;
    before(async () => {
      url = await freshDatabaseUrl("statement_bounds");
    });
    afterEach(async () => {
      await db.close();
    });

    it("arms no timer per statement (node-pg's query_timeout keeps answers alive through collections)", async () => {
      db = new Database({ url, poolSize: 8, connectTimeoutMs: 5_000, statementTimeoutMs: 30_000 });
      await db.query("SELECT 1");
      const original = global.setTimeout;
      const delays: number[] = [];
      global.setTimeout = ((callback: () => void, delay?: number, ...rest: unknown[]) => {
        delays.push(delay ?? 0);
        return original(callback, delay, ...rest);
      }) as typeof setTimeout;
      try {
        await Promise.all(Array.from({ length: 16 }, () => db.query("SELECT pg_sleep(0.05)")));
      } finally {
        global.setTimeout = original;
      }
      assert.deepEqual(
        delays.filter((delay) => delay === 31_000),
        [],
        "a timer of the statement bound (31 s) was armed",
      );
      // The bound is still enforced, by the shared check (see the next test).
    });

    it("answers a statement past its bound with a retryable 503 and discards its connection", async () => {
      // statementTimeoutMs 0: no server-side limit, only the client-side second beyond it.
      db = new Database({ url, poolSize: 2, connectTimeoutMs: 5_000, statementTimeoutMs: 0 });
      const { rows } = await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const started = Date.now();
      await assert.rejects(
        db.query("SELECT pg_sleep(5)"),
        (error: unknown) =>
          error instanceof DatabaseUnavailableError &&
          error.status === 503 &&
          (error.cause as Error).message === "Query read timeout",
      );
      const waited = Date.now() - started;
      assert.ok(waited >= 1_000 && waited < 2_500, `answered after ${waited} ms (bound 1,000 ms)`);
      // The abandoned connection is not handed out again (it would answer only after the sleep): the
      // next statement gets a new one, in well under the sleep.
      const again = await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      assert.notEqual(again.rows[0]?.pid, rows[0]?.pid);
      assert.ok(Date.now() - started < 4_000);
      assert.equal(db.poolStats().total, 1);
    });

    it("bounds statements inside a transaction too, and lifts the bound when the timeout is lifted", async () => {
      db = new Database({ url, poolSize: 2, connectTimeoutMs: 5_000, statementTimeoutMs: 200 });
      // The server's own statement_timeout (SET LOCAL) cancels first: 57014, a retryable 503.
      await assert.rejects(
        db.transaction((tx) => tx.query("SELECT pg_sleep(5)")),
        (error: unknown) => error instanceof DatabaseUnavailableError,
      );
      // statementTimeoutMs 0 (migrations): neither side bounds the statement.
      const { rows } = await db.transaction(
        (tx) => tx.query<{ slept: string }>("SELECT pg_sleep(1.5)::text AS slept"),
        { statementTimeoutMs: 0 },
      );
      assert.equal(rows[0]?.slept, "");
    });
  });
});

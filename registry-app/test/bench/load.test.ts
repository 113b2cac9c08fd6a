import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describeLoader, parseLoader, runLoad, type BenchRequest, type Loader } from "../../bench/load";

/**
 * The bench's two load generators against a small HTTP server that records what arrived: the same request
 * list must reach the server intact (method, path, headers, body) and come back counted the same way,
 * bad statuses included, or the bench would compare or accept figures it should not.
 */
describe("bench load generators", function () {
  this.timeout(30_000);
  const servers: http.Server[] = [];
  /** Two service processes, as BENCH_SERVICE_PROCESSES=2 starts; most tests drive the first alone. */
  const baseUrls: string[] = [];
  const seen: Array<{ server: number; method: string; path: string; tag: string | undefined; body: string }> =
    [];

  const serve = async (server: number) => {
    const listening = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const tag = request.headers["x-bench-tag"];
        seen.push({
          server,
          method: request.method ?? "",
          path: request.url ?? "",
          tag: tag as string | undefined,
          body,
        });
        response.statusCode = request.url === "/missing" ? 404 : 200;
        response.end(JSON.stringify({ length: Buffer.byteLength(body) }));
      });
    });
    await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
    servers.push(listening);
    baseUrls.push(`http://127.0.0.1:${(listening.address() as AddressInfo).port}`);
  };

  before(async () => {
    await serve(0);
    await serve(1);
  });

  after(() =>
    Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))),
  );
  beforeEach(() => {
    seen.length = 0;
  });

  const load = (loader: Loader, requests: BenchRequest[]) =>
    runLoad({ baseUrls: baseUrls.slice(0, 1), connections: 4, seconds: 1, requests, loader });

  const list: BenchRequest[] = [
    { path: "/v0.1/servers?category=databases&tag=sql" },
    {
      method: "POST",
      path: "/v0.1/publish",
      headers: { "content-type": "application/json", "x-bench-tag": "publish" },
      // Not ASCII: Content-Length counts bytes.
      body: JSON.stringify({ name: "io.example/ünïcode", description: "bytes, not characters" }),
    },
  ];

  /**
   * wrk is Debian's package: in CI its absence fails the run; on a developer's machine its tests are skipped
   * with the command that installs it.
   */
  const requireLoader = (suite: Mocha.Context, loader: Loader) => {
    let message: string;
    try {
      describeLoader(loader);
      return;
    } catch (error) {
      message = (error as Error).message;
    }
    if (process.env.CI === "true") throw new Error(message);
    console.log(`      skipped: ${message}`);
    suite.skip();
  };

  for (const loader of ["wrk", "autocannon"] as const) {
    describe(loader, function () {
      before(function () {
        requireLoader(this, loader);
      });

      it("sends every request of the list intact and counts the answers", async () => {
        const result = await load(loader, list);
        assert.equal(result.loader, loader);
        assert.equal(result.errors, 0);
        const answered = Object.values(result.statuses).reduce((sum, count) => sum + count, 0);
        assert.ok(answered > 100, `only ${answered} answers in a second`);
        assert.deepEqual(Object.keys(result.statuses), [loader === "wrk" ? "2xx/3xx" : "200"]);
        assert.ok(Math.abs(result.requestsPerSecond * result.seconds - answered) < 1);
        assert.ok(
          result.p50Ms > 0 && result.p50Ms <= result.p99Ms,
          `p50 ${result.p50Ms}, p99 ${result.p99Ms}`,
        );
        assert.equal(result.externalCpuSeconds > 0, loader === "wrk");
        const gets = seen.filter((request) => request.method === "GET");
        const posts = seen.filter((request) => request.method === "POST");
        assert.ok(gets.length > 0 && posts.length > 0);
        // Round-robin: the two kinds alternate, so neither is more than a connection's worth ahead.
        assert.ok(Math.abs(gets.length - posts.length) <= 4, `${gets.length} GETs, ${posts.length} POSTs`);
        assert.ok(gets.every((request) => request.path === list[0]?.path && request.body === ""));
        for (const post of posts) {
          assert.equal(post.path, "/v0.1/publish");
          assert.equal(post.tag, "publish");
          assert.equal(post.body, list[1]?.body);
        }
      });

      it("reports a bad status so the bench can refuse the run", async () => {
        const result = await load(loader, [{ path: "/fine" }, { path: "/missing" }]);
        const bad = Object.keys(result.statuses).filter(
          (status) => !status.startsWith("2") && status !== "304",
        );
        assert.equal(bad.length, 1, JSON.stringify(result.statuses));
        const ok = Object.entries(result.statuses).find(([status]) => status.startsWith("2"))?.[1] ?? 0;
        const missing = result.statuses[bad[0] ?? ""] ?? 0;
        // Round-robin over one good and one bad path: half and half, within a connection's worth.
        assert.ok(Math.abs(ok - missing) <= 4, `${ok} good, ${missing} bad`);
        assert.ok(
          Math.abs(result.requestsPerSecond * result.seconds - ok) < 1,
          "only good answers count as served",
        );
      });

      it("spreads a list over every service process, each with its share of the connections", async () => {
        const result = await runLoad({ baseUrls, connections: 4, seconds: 1, requests: list, loader });
        assert.equal(result.errors, 0);
        const served = [0, 1].map((server) => seen.filter((request) => request.server === server).length);
        const answered = Object.values(result.statuses).reduce((sum, count) => sum + count, 0);
        assert.ok(
          served.every((count) => count > answered / 4),
          `served ${served.join(" and ")} of ${answered}`,
        );
        // Each process gets the whole list round-robin, not a part of it.
        for (const server of [0, 1]) {
          const methods = new Set(seen.filter((request) => request.server === server).map((r) => r.method));
          assert.deepEqual([...methods].sort(), ["GET", "POST"]);
        }
      });

      it("refuses connections that do not split evenly, naming the settings", async () => {
        await assert.rejects(
          runLoad({ baseUrls, connections: 3, seconds: 1, requests: list, loader }),
          /3 connections do not split evenly over 2 service processes \(BENCH_CONNECTIONS, BENCH_SERVICE_PROCESSES\)/,
        );
        assert.equal(seen.length, 0, "nothing was sent");
      });
    });
  }

  it("sends generated requests (publishes) to the first service process only", async () => {
    let published = 0;
    const next = (): BenchRequest => ({
      method: "POST",
      path: `/v0.1/publish?n=${(published += 1)}`,
      body: "{}",
    });
    const result = await runLoad({ baseUrls, connections: 2, seconds: 1, requests: next, loader: "wrk" });
    assert.equal(result.loader, "autocannon");
    assert.ok(seen.length > 0 && seen.every((request) => request.server === 0));
  });

  it("describes wrk by its version", function () {
    requireLoader(this, "wrk");
    assert.match(describeLoader("wrk"), /^wrk \S+$/);
  });

  it("names BENCH_LOADER when it holds neither loader, and describes autocannon", () => {
    assert.equal(parseLoader(undefined), "wrk");
    assert.equal(parseLoader("autocannon"), "autocannon");
    assert.throws(() => parseLoader("wrk2"), /BENCH_LOADER must be wrk or autocannon, not "wrk2"/);
    assert.match(describeLoader("autocannon"), /^autocannon 9\.\d+\.\d+$/);
  });
});

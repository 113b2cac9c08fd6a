import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { context, propagation, trace } from "@opentelemetry/api";
import { createLogger } from "../../src/logger";
import { buildRegistry } from "../../src/server";
import { startTracing } from "../../src/telemetry";
import { bearer, serverJson, testRegistry, type TestRegistry } from "../support/registry";

/** Collects newline-delimited JSON log records. */
class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    done();
  }
  records(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

describe("observability: logs", function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  const logs = new LogCapture();

  before(async () => {
    registry = await testRegistry(
      "logs",
      { MCP_REGISTRY_LOG_LEVEL: "info", MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "true" },
      { logStream: logs },
    );
  });
  after(async () => registry.close());

  it("writes one JSON line per request with its request id, and never a token", async () => {
    const login = await registry.app.inject({ method: "POST", url: "/v0/auth/none" });
    const token = login.json<{ registry_token: string }>().registry_token;
    const published = await registry.app.inject({
      method: "POST",
      url: "/v0/publish",
      headers: { ...bearer(token), "x-request-id": "req-42" },
      payload: serverJson("io.modelcontextprotocol.anonymous/logged", "1.0.0"),
    });
    assert.equal(published.statusCode, 200, published.body);
    await registry.app.inject({ method: "GET", url: "/v0/servers", headers: bearer(`${token}x`) });
    const completed = logs.records().filter((record) => record.msg === "request completed");
    const publish = completed.find((record) => record.request_id === "req-42");
    assert.ok(publish, logs.lines.join("\n"));
    assert.equal(publish.route, "/v0/publish");
    assert.equal(publish.status, 200);
    assert.equal(typeof publish.ms, "number");
    assert.equal(publish.level, "info");
    assert.match(String(publish.time), /^\d{4}-\d{2}-\d{2}T/);
    const everything = logs.lines.join("\n");
    assert.ok(!everything.includes(token), "the registry token never reaches the log");
    assert.ok(!everything.includes(token.split(".")[2] ?? "no-signature"), "nor its signature");
  });

  it("redacts secrets wherever a log call would carry them", () => {
    const capture = new LogCapture();
    const log = createLogger("info", "test", capture);
    log.info(
      {
        req: { headers: { authorization: "Bearer secret-token" } },
        body: { registry_token: "secret-token-2", github_token: "ghp_secret", signed_timestamp: "abcd" },
        env: { MCP_REGISTRY_JWT_PRIVATE_KEY: "seed", MCP_REGISTRY_DATABASE_URL: "postgres://u:pw@h/db" },
      },
      "hello",
    );
    const line = capture.lines.join("\n");
    for (const secret of ["secret-token", "secret-token-2", "ghp_secret", "abcd", "seed", "pw@h"]) {
      assert.ok(!line.includes(secret), `${secret} leaked: ${line}`);
    }
    assert.match(line, /\[Redacted\]/);
  });

  it("logs a request's failures with its request id, still redacted", async () => {
    const capture = new LogCapture();
    const broken = await testRegistry(
      "logs_broken",
      { MCP_REGISTRY_LOG_LEVEL: "info" },
      { logStream: capture },
    );
    try {
      // A pool that has ended fails every query as an unreachable database does.
      await broken.runtime.db.pool.end();
      const response = await broken.app.inject({
        method: "GET",
        url: "/v0.1/servers",
        headers: { "x-request-id": "req-503", authorization: "Bearer do-not-log-me" },
      });
      assert.equal(response.statusCode, 503, response.body);
      const warning = capture
        .records()
        .find((record) => record.msg === "dependency unavailable" && record.request_id === "req-503");
      assert.ok(warning, capture.lines.join("\n"));
      assert.equal(warning.level, "warn");
      assert.ok(!capture.lines.join("\n").includes("do-not-log-me"));
    } finally {
      await broken.close();
    }
  });
});

describe("observability: OpenTelemetry traces over OTLP/HTTP", function () {
  this.timeout(60_000);
  let collector: http.Server;
  let endpoint: string;
  const received: unknown[] = [];

  before(async () => {
    collector = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        if (request.url === "/v1/traces") received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  });
  after(async () => {
    // Leave no global tracer, context manager or propagator behind for other suites.
    trace.disable();
    context.disable();
    propagation.disable();
    await new Promise<void>((resolve) => collector.close(() => resolve()));
  });

  it("exports a server span per request, parenting the query spans, continuing an incoming traceparent", async () => {
    const tracing = startTracing(endpoint, "mcp-registry-test", "9.9.9");
    const registry: TestRegistry = await testRegistry("traces");
    try {
      // testRegistry builds without tracing; a second app on the same runtime has it on.
      const traced = await buildRegistry(registry.runtime, { tracing: true, logger: false });
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      const response = await traced.app.inject({
        method: "GET",
        url: "/v0.1/servers?limit=5",
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      assert.equal(response.statusCode, 200);
      await traced.app.close();
    } finally {
      await registry.close();
      await tracing.shutdown();
    }
    type OtlpSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number };
    const spans = (
      received as Array<{ resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> }>
    ).flatMap((batch) =>
      batch.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans)),
    );
    const server = spans.find((span) => span.name === "GET /v0.1/servers");
    assert.ok(server, `spans: ${spans.map((span) => span.name).join(", ")}`);
    assert.equal(server.traceId, "4bf92f3577b34da6a3ce929d0e0e4736", "the incoming trace is continued");
    assert.equal(server.parentSpanId, "00f067aa0ba902b7");
    const queries = spans.filter(
      (span) => span.parentSpanId === server.spanId && span.name.startsWith("db "),
    );
    assert.ok(queries.length >= 1, "the list query is a child of the request span");
  });
});

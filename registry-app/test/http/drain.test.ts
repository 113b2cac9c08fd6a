import assert from "node:assert/strict";
import net from "node:net";
import { createLogger } from "../../src/logger";
import { drain, DRAIN_IDLE_GRACE_MS } from "../../src/server";
import { testRegistry, type TestRegistry } from "../support/registry";

/** A raw keep-alive connection: sends requests and reads whole responses (heads with Content-Length). */
class Connection {
  private buffer = "";
  private waiters: Array<() => void> = [];
  closedAt: number | undefined;

  constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer += chunk.toString("utf8");
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on("close", () => {
      this.closedAt = Date.now();
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on("error", () => undefined);
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(new Connection(socket)));
      socket.once("error", reject);
    });
  }

  /** One GET; resolves with the status and the response headers (lower-cased). */
  async get(path: string): Promise<{ status: number; headers: Map<string, string> }> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: registry\r\n\r\n`);
    for (;;) {
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end >= 0) {
        const [statusLine = "", ...lines] = this.buffer.slice(0, end).split("\r\n");
        const headers = new Map(
          lines.map((line) => [
            line.slice(0, line.indexOf(":")).toLowerCase(),
            line.slice(line.indexOf(":") + 1).trim(),
          ]),
        );
        const length = Number(headers.get("content-length") ?? 0);
        if (this.buffer.length >= end + 4 + length) {
          this.buffer = this.buffer.slice(end + 4 + length);
          return { status: Number(statusLine.split(" ")[1]), headers };
        }
      }
      if (this.closedAt !== undefined) throw new Error("closed before a whole response arrived");
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  closed(): Promise<number> {
    if (this.closedAt !== undefined) return Promise.resolve(this.closedAt);
    return new Promise((resolve) => this.socket.once("close", () => resolve(this.closedAt ?? Date.now())));
  }
}

/** The drain's handling of idle keep-alive connections, in-process and with exact timings. */
describe("http: draining closes no connection without telling its client first", function () {
  let registry: TestRegistry;
  let port: number;

  before(async () => {
    registry = await testRegistry("drain_idle");
    await registry.app.listen({ host: "127.0.0.1", port: 0 });
    port = (registry.app.server.address() as net.AddressInfo).port;
  });
  after(async () => {
    await registry.runtime.close();
  });

  it("refuses new connections at once, serves a request on an idle connection with Connection: close, and closes the silent one only after the idle grace", async () => {
    const talking = await Connection.open(port);
    const silent = await Connection.open(port);
    for (const connection of [talking, silent]) {
      const first = await connection.get("/livez");
      assert.equal(first.status, 200);
      assert.notEqual(first.headers.get("connection"), "close", "kept alive before the drain");
    }
    const started = Date.now();
    const drained = drain(registry.registry, 10_000, createLogger("silent", "test"));

    await assert.rejects(Connection.open(port), /ECONNREFUSED/, "the listener closed at once");
    const readiness = await talking.get("/readyz");
    assert.equal(readiness.status, 503, "readiness fails while draining");
    assert.equal(readiness.headers.get("connection"), "close", "the client is told to close");
    await talking.closed();
    assert.equal(silent.closedAt, undefined, "the idle connection is still open");

    const silentClosedAt = await silent.closed();
    assert.ok(
      silentClosedAt - started >= DRAIN_IDLE_GRACE_MS,
      `the idle connection was closed after ${silentClosedAt - started} ms, not before ${DRAIN_IDLE_GRACE_MS} ms`,
    );
    await drained;
    assert.equal(registry.app.server.listening, false);
  });
});

import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { guardedGet, guardedRequest, OutboundError } from "../../src/auth/outbound";

describe("auth: guarded outbound GET (http method's production fetcher)", () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === "/ok") res.end("v=MCPv1; k=ed25519; p=AAAA");
      else if (req.url === "/redirect") {
        res.writeHead(302, { location: "/ok" });
        res.end();
      } else if (req.url === "/huge") res.end("x".repeat(10_000));
      else if (req.url === "/slow") setTimeout(() => res.end("late"), 2_000);
      else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    // "localhost" goes through the guarded DNS lookup, unlike an IP literal.
    base = `http://localhost:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const opts = { timeoutMs: 300, maxBytes: 4096 };

  it("refuses a host resolving to loopback at connect time", async () => {
    await assert.rejects(guardedGet(`${base}/ok`, { ...opts, allowPrivate: false }), (error: unknown) => {
      assert.ok(error instanceof OutboundError);
      assert.match(error.message, /not public/);
      return true;
    });
  });

  it("refuses an IP literal of a non-public address too (no DNS lookup to guard)", async () => {
    const literal = base.replace("localhost", "127.0.0.1");
    await assert.rejects(guardedRequest(`${literal}/ok`, { ...opts, allowPrivate: false }), /not public/);
    await assert.rejects(guardedRequest("http://[::1]:9/ok", { ...opts, allowPrivate: false }), /not public/);
    const allowed = await guardedRequest(`${literal}/ok`, { ...opts, allowPrivate: true, method: "HEAD" });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.length, 0);
  });

  it("fetches when private targets are allowed, without following redirects", async () => {
    const ok = await guardedGet(`${base}/ok`, { ...opts, allowPrivate: true });
    assert.deepEqual(ok, { status: 200, text: "v=MCPv1; k=ed25519; p=AAAA" });
    const redirect = await guardedGet(`${base}/redirect`, { ...opts, allowPrivate: true });
    assert.equal(redirect.status, 302);
  });

  it("caps the body and times out", async () => {
    await assert.rejects(guardedGet(`${base}/huge`, { ...opts, allowPrivate: true }), /too large/);
    await assert.rejects(guardedGet(`${base}/slow`, { ...opts, allowPrivate: true }), /timeout/);
  });
});

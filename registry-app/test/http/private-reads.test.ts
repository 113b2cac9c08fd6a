import assert from "node:assert/strict";
import { bearer, serverJson, testRegistry, type TestRegistry } from "../support/registry";

/** MCP_REGISTRY_READ_AUTH=oidc: the catalogue is private, operations endpoints stay open. */
describe("http: private reads", function () {
  this.timeout(60_000);
  let registry: TestRegistry;

  before(async () => {
    registry = await testRegistry("private", {
      MCP_REGISTRY_OIDC_ENABLED: "true",
      // Never contacted here: requests without a token, or with registry tokens, need no discovery.
      MCP_REGISTRY_OIDC_ISSUER: "http://127.0.0.1:9",
      MCP_REGISTRY_OIDC_CLIENT_ID: "registry",
      MCP_REGISTRY_READ_AUTH: "oidc",
    });
    const publisher = await registry.token([{ action: "publish", resource: "com.example/*" }]);
    const published = await registry.app.inject({
      method: "POST",
      url: "/v0.1/publish",
      headers: bearer(publisher),
      payload: serverJson("com.example/secret", "1.0.0"),
    });
    assert.equal(published.statusCode, 200, published.body);
  });
  after(async () => registry.close());

  it("refuses every read without a token", async () => {
    const name = encodeURIComponent("com.example/secret");
    for (const [method, url] of [
      ["GET", "/v0.1/servers"],
      ["GET", "/v0/servers"],
      ["GET", `/v0.1/servers/${name}/versions`],
      ["GET", `/v0.1/servers/${name}/versions/latest`],
      ["POST", "/v0.1/validate"],
    ] as const) {
      const response = await registry.app.inject({
        method,
        url,
        payload: method === "POST" ? {} : undefined,
      });
      assert.equal(response.statusCode, 401, `${method} ${url}`);
      assert.match(String(response.headers["content-type"]), /problem\+json/);
    }
  });

  it("accepts a registry token minted by the OIDC login, and no other kind", async () => {
    const reader = await registry.token([], "oidc");
    const allowed = await registry.app.inject({
      method: "GET",
      url: "/v0.1/servers",
      headers: bearer(reader),
    });
    assert.equal(allowed.statusCode, 200);
    assert.match(allowed.body, /com\.example\/secret/);
    const anonymous = await registry.token([], "none");
    const refused = await registry.app.inject({
      method: "GET",
      url: "/v0.1/servers",
      headers: bearer(anonymous),
    });
    assert.equal(refused.statusCode, 401);
  });

  it("keeps health, ping, version, probes, metrics and the API docs open", async () => {
    for (const url of [
      "/health",
      "/v0.1/ping",
      "/version",
      "/livez",
      "/readyz",
      "/metrics",
      "/openapi.json",
      "/docs",
    ]) {
      const response = await registry.app.inject({ method: "GET", url });
      assert.equal(response.statusCode, 200, url);
    }
  });
});

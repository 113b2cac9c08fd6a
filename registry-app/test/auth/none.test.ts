import assert from "node:assert/strict";
import { authApp, testEnv } from "./support";

describe("auth: /auth/none", () => {
  it("mints a token for io.modelcontextprotocol.anonymous/* when anonymous auth is enabled", async () => {
    const { app } = await authApp(testEnv({ MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "true" }));
    for (const prefix of ["/v0", "/v0.1"]) {
      const res = await app.inject({ method: "POST", url: `${prefix}/auth/none` });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers["cache-control"], "no-store");
      const body = res.json<{ registry_token: string; expires_at: number }>();
      assert.match(body.registry_token, /^ey/);
      const who = await app.inject({
        method: "GET",
        url: "/v0/whoami",
        headers: { authorization: `Bearer ${body.registry_token}` },
      });
      assert.equal(who.statusCode, 200, who.body);
      assert.equal(who.json<{ auth_method: string }>().auth_method, "none");
      assert.deepEqual(who.json<{ permissions: unknown }>().permissions, [
        { action: "publish", resource: "io.modelcontextprotocol.anonymous/*" },
        { action: "edit", resource: "io.modelcontextprotocol.anonymous/*" },
      ]);
    }
    const withJson = await app.inject({ method: "POST", url: "/v0/auth/none", payload: {} });
    assert.equal(withJson.statusCode, 200, withJson.body);
    await app.close();
  });

  it("is a 404 when anonymous auth is disabled (the default)", async () => {
    const { app } = await authApp(testEnv());
    const res = await app.inject({ method: "POST", url: "/v0/auth/none" });
    assert.equal(res.statusCode, 404);
    await app.close();
  });
});

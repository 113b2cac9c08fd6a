import assert from "node:assert/strict";
import { systemCaller } from "../../src/service";
import { embeddedControl } from "../support/postgres";
import { serverJson, testRegistry, type TestRegistry } from "../support/registry";

describe("lifecycle: a PostgreSQL restart is survived without restarting the app", function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  let control: Awaited<ReturnType<typeof embeddedControl>>;

  before(async function () {
    control = await embeddedControl();
    if (control === undefined) {
      console.warn("    (skipped: TEST_DATABASE_URL points to an external server this test cannot restart)");
      this.skip();
    }
    registry = await testRegistry("restart");
    await registry.runtime.service.publish(systemCaller("test"), serverJson("com.example/survivor", "1.0.0"));
  });
  after(async () => registry?.close());

  async function get(url: string) {
    return registry.app.inject({ method: "GET", url });
  }

  it("fails readiness (not liveness) while the database is down, answers 503 with Retry-After, and recovers", async () => {
    assert.equal(
      (await get("/v0.1/servers")).statusCode,
      200,
      "pool connections are open before the restart",
    );
    await control?.stop();
    try {
      const ready = await get("/readyz");
      assert.equal(ready.statusCode, 503);
      assert.match(ready.json<{ detail: string }>().detail, /database is unreachable/);
      assert.equal((await get("/livez")).statusCode, 200, "liveness never touches the database");
      const list = await get("/v0.1/servers");
      assert.equal(list.statusCode, 503);
      assert.match(String(list.headers["content-type"]), /problem\+json/);
      assert.equal(list.headers["retry-after"], "2");
    } finally {
      await control?.start();
    }
    const deadline = Date.now() + 20_000;
    while ((await get("/readyz")).statusCode !== 200) {
      assert.ok(Date.now() < deadline, "readiness came back");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const list = await get("/v0.1/servers");
    assert.equal(list.statusCode, 200, list.body);
    assert.match(list.body, /com\.example\/survivor/);
    const publish = await registry.app.inject({
      method: "POST",
      url: "/v0.1/publish",
      headers: { authorization: `Bearer ${await registry.token([{ action: "publish", resource: "*" }])}` },
      payload: serverJson("com.example/survivor", "1.1.0"),
    });
    assert.equal(publish.statusCode, 200, publish.body);
  });
});

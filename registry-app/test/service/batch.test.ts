import assert from "node:assert/strict";
import { RegistryService, systemCaller, type BatchPublishOutcome } from "../../src/service";
import type { Database } from "../../src/store";
import { serverJson, testRegistry, type TestRegistry } from "../support/registry";

/** Seed and import publish consecutive versions of a name in one statement, under the same rules as publish. */
describe("service: publishing a batch (seed and import)", function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  let service: RegistryService;
  let db: Database;
  const admin = systemCaller("test");

  before(async () => {
    registry = await testRegistry("batch");
    service = registry.runtime.service;
    db = registry.runtime.db;
  });
  after(async () => registry?.close());

  const versionsOf = async (name: string) =>
    (
      await db.query<{ version: string; is_latest: boolean }>(
        "SELECT version, is_latest FROM server_versions WHERE name = $1 ORDER BY id",
        [name],
      )
    ).rows.map((row) => `${row.version}${row.is_latest ? " (latest)" : ""}`);
  const summary = (outcomes: BatchPublishOutcome[]) =>
    outcomes.map((result) =>
      result.outcome === "rejected"
        ? `rejected ${result.problem.status} ${result.problem.errors?.[0]?.location}`
        : result.outcome,
    );

  it("stores what publishing one by one would, with the same latest, through semver, non-semver and prereleases", async () => {
    const sequence = [
      "1.0.0",
      "2025.01.01-build",
      "1.2.0",
      "2.0.0-rc.1",
      "1.10.0",
      "2.0.0",
      "1.9.0",
      "v3",
      "2.0.1-beta",
    ];
    const one = "com.example/one-by-one";
    const batched = "com.example/batched";
    for (const version of sequence) await service.publish(admin, serverJson(one, version));
    const outcomes = await service.publishBatch(
      admin,
      sequence.map((version) => serverJson(batched, version)),
    );
    assert.deepEqual(
      summary(outcomes),
      sequence.map(() => "published"),
    );
    assert.deepEqual(await versionsOf(batched), await versionsOf(one));
    assert.deepEqual(
      (await versionsOf(batched)).filter((row) => row.endsWith("(latest)")),
      ["2.0.1-beta (latest)"],
      "a prerelease of 2.0.1 is above 2.0.0",
    );
  });

  it("reports each document's outcome in order: published, duplicate, invalid, forbidden", async () => {
    const outcomes = await service.publishBatch(systemCaller("test"), [
      serverJson("com.example/mixed", "1.0.0"),
      serverJson("com.example/mixed", "1.0.0"),
      { name: "com.example/mixed", version: "1.1.0" },
      serverJson("com.example/mixed", "1.2.0"),
      serverJson("com.example/other", "0.1.0"),
      serverJson("com.example/mixed", "1.3.0"),
    ]);
    assert.deepEqual(summary(outcomes), [
      "published",
      "duplicate",
      "rejected 422 body.description",
      "published",
      "published",
      "published",
    ]);
    assert.deepEqual(await versionsOf("com.example/mixed"), ["1.0.0", "1.2.0", "1.3.0 (latest)"]);
    const limited = await service.publishBatch(
      {
        ...systemCaller("test"),
        permissions: [{ action: "publish", resource: "com.example/mixed" }],
      },
      [serverJson("com.example/mixed", "1.4.0"), serverJson("com.example/elsewhere", "1.0.0")],
    );
    assert.deepEqual(summary(limited), ["published", "rejected 403 undefined"]);
  });

  it("refuses only the version whose remote URL another name owns, and stores the others", async () => {
    const remote = (url: string) => ({ remotes: [{ type: "streamable-http", url }] });
    await service.publish(
      admin,
      serverJson("com.example/owner", "1.0.0", remote("https://batch.example.com/a")),
    );
    const outcomes = await service.publishBatch(admin, [
      serverJson("com.example/claimer", "1.0.0", remote("https://batch.example.com/b")),
      serverJson("com.example/claimer", "1.1.0", remote("https://batch.example.com/a")),
      serverJson("com.example/claimer", "1.2.0", remote("https://batch.example.com/b")),
    ]);
    assert.deepEqual(summary(outcomes), ["published", "rejected 409 body.remotes[0].url", "published"]);
    assert.deepEqual(await versionsOf("com.example/claimer"), ["1.0.0", "1.2.0 (latest)"]);
  });

  it("stops at the version cap, and stores nothing when the database fails", async () => {
    const capped = new RegistryService(registry.runtime.store, { maxVersionsPerName: 2 });
    const outcomes = await capped.publishBatch(admin, [
      serverJson("com.example/capped", "1.0.0"),
      serverJson("com.example/capped", "1.1.0"),
      serverJson("com.example/capped", "1.2.0"),
    ]);
    assert.deepEqual(summary(outcomes), ["published", "published", "rejected 409 body.version"]);
    await db.query(
      "ALTER TABLE server_versions ADD CONSTRAINT refuse_batch CHECK (name <> 'com.example/broken')",
    );
    try {
      await assert.rejects(
        service.publishBatch(admin, [
          serverJson("com.example/broken", "1.0.0"),
          serverJson("com.example/broken", "1.1.0"),
        ]),
        /refuse_batch/,
      );
      assert.deepEqual(await versionsOf("com.example/broken"), [], "all or nothing for one name's statement");
    } finally {
      await db.query("ALTER TABLE server_versions DROP CONSTRAINT refuse_batch");
    }
  });
});

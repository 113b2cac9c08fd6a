import assert from "node:assert/strict";
import { serverJson, testRegistry, type TestRegistry } from "../support/registry";

describe("ingest: bulk runs refresh the planner's statistics", function () {
  this.timeout(120_000);
  let registry: TestRegistry;

  before(async () => {
    registry = await testRegistry("bulk");
  });
  after(async () => registry.close());

  const maintained = async () =>
    (
      await registry.runtime.db.query<{ vacuumed: boolean; analyzed: boolean }>(
        `SELECT last_vacuum IS NOT NULL AS vacuumed, last_analyze IS NOT NULL AS analyzed
         FROM pg_stat_user_tables WHERE relname = 'server_versions'`,
      )
    ).rows[0];

  it("leaves small runs to autovacuum and vacuums and analyzes after 500 or more changes", async () => {
    const entries = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        origin: `bulk[${from + i}]`,
        document: serverJson(`com.example/bulk-${from + i}`, "1.0.0"),
      }));
    await registry.runtime.ingestor.publishAll(entries(0, 20), "import");
    assert.deepEqual(await maintained(), { vacuumed: false, analyzed: false });
    const report = await registry.runtime.ingestor.publishAll(entries(20, 500), "import");
    assert.equal(report.published, 500);
    // The statistics collector reports a finished VACUUM at once for the backend that ran it.
    assert.deepEqual(await maintained(), { vacuumed: true, analyzed: true });
  });
});

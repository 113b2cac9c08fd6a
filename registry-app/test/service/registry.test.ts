import assert from "node:assert/strict";
import type { RegistryClaims } from "../../src/auth";
import { ProblemError } from "../../src/errors";
import { MAX_VERSIONS_PER_NAME, precedence, systemCaller, type RegistryService } from "../../src/service";
import type { Database, EntryRow } from "../../src/store";
import { serverJson, testRegistry, type TestRegistry } from "../support/registry";

/** Reads straight from the database, untagged (no cache in these tests). */
const DIRECT = { tagged: false };

/** The registry's metadata of a stored API entry. */
function official(entry: EntryRow): { isLatest: boolean; publishedAt: string; updatedAt: string } {
  const parsed = JSON.parse(entry.entryJson) as {
    _meta: Record<string, { isLatest: boolean; publishedAt: string; updatedAt: string }>;
  };
  return parsed._meta["io.modelcontextprotocol.registry/official"] ?? assert.fail("no official metadata");
}

async function rejectsWith(
  promise: Promise<unknown>,
  status: number,
  detail?: RegExp,
): Promise<ProblemError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ProblemError, `expected a ProblemError ${status}, got ${String(caught)}`);
  assert.equal(caught.status, status, caught.detail);
  if (detail) assert.match(caught.detail, detail);
  return caught;
}

describe("service: publish, isLatest and status", function () {
  let registry: TestRegistry;
  let service: RegistryService;
  let db: Database;
  const admin = systemCaller("test");

  before(async () => {
    registry = await testRegistry("service");
    service = registry.runtime.service;
    db = registry.runtime.db;
  });
  after(async () => registry.close());

  async function latestOf(name: string): Promise<string[]> {
    const { rows } = await db.query<{ version: string }>(
      "SELECT version FROM server_versions WHERE name = $1 AND is_latest",
      [name],
    );
    return rows.map((row) => row.version);
  }

  async function publishAll(name: string, versions: string[]): Promise<void> {
    for (const version of versions) await service.publish(admin, serverJson(name, version));
  }

  describe("isLatest matrix", () => {
    const matrix: Array<[string, string[], string]> = [
      ["semver: a greater version takes over", ["1.0.0", "2.0.0"], "2.0.0"],
      ["semver: a smaller version published later does not", ["1.0.0", "2.0.0", "1.5.0"], "2.0.0"],
      ["semver: numeric comparison", ["1.9.0", "1.10.0"], "1.10.0"],
      ["semver: prerelease above the last release", ["2.0.0", "2.1.0-beta.1"], "2.1.0-beta.1"],
      ["semver: release above its prerelease", ["2.1.0-beta.1", "2.1.0"], "2.1.0"],
      ["semver beats an earlier non-semver", ["snapshot-2024", "0.0.1"], "0.0.1"],
      ["non-semver never beats semver", ["0.0.1", "zzz-latest-build"], "0.0.1"],
      ["two non-semver: later publish wins", ["build-b", "build-a"], "build-a"],
      ["equal precedence: later publish wins", ["1.0.0+one", "1.0.0+two"], "1.0.0+two"],
      ["plain semver, equal precedence: later publish wins", ["v1.0.0", "1.0.0"], "1.0.0"],
      ["leading zeros are not semver", ["01.0.0", "0.0.1"], "0.0.1"],
      ["components beyond 2^53 are not semver", ["9007199254740992.0.0", "1.0.0"], "1.0.0"],
      ["a release below a prerelease latest does not take over", ["2.0.0-rc.1", "1.9.9"], "2.0.0-rc.1"],
    ];
    matrix.forEach(([label, versions, expected], index) => {
      it(label, async () => {
        const name = `com.example/matrix-${index}`;
        await publishAll(name, versions);
        assert.deepEqual(await latestOf(name), [expected]);
        const latest = await service.get(name, "latest", false, DIRECT);
        assert.equal(latest.entry.version, expected);
        assert.equal(official(latest.entry).isLatest, true);
      });
    });

    it("recomputes latest after status changes: highest non-deleted, highest of all when all are deleted", async () => {
      const name = "com.example/lifecycle";
      await publishAll(name, ["1.0.0", "2.0.0", "1.5.0"]);
      await service.setStatus(admin, name, "2.0.0", { status: "deleted", statusMessage: "broken build" });
      assert.deepEqual(await latestOf(name), ["1.5.0"]);
      await service.setStatus(admin, name, "1.5.0", { status: "deprecated", statusMessage: "use 2.x" });
      assert.deepEqual(await latestOf(name), ["1.5.0"], "deprecated versions stay eligible");
      await service.setStatus(admin, name, "2.0.0", { status: "active" });
      assert.deepEqual(await latestOf(name), ["2.0.0"]);
      const bulk = await service.setStatusAll(admin, name, { status: "deleted" });
      assert.equal(bulk.updatedCount, 3);
      assert.deepEqual(await latestOf(name), ["2.0.0"], "exactly one latest row even when all are deleted");
      await rejectsWith(service.get(name, "latest", false, DIRECT), 404);
      assert.equal((await service.get(name, "latest", true, DIRECT)).entry.version, "2.0.0");
      await service.publish(admin, serverJson(name, "0.1.0"));
      assert.deepEqual(
        await latestOf(name),
        ["0.1.0"],
        "a new active version replaces an all-deleted latest",
      );
    });

    it("orders every pair of versions as node-semver does, whether the database or the service decides", async function () {
      this.timeout(60_000);
      const kinds = ["1.0.0", "v1.0.0", "1.0.1", "1.9.0", "1.10.0", "2.0.0-beta.1", "2.0.0", "1.0.0+build"];
      const odd = ["01.0.0", "snapshot", "9007199254740991.0.0", "9007199254740992.0.0", "1.0"];
      const versions = [...kinds, ...odd];
      let index = 0;
      for (const first of versions) {
        for (const second of versions) {
          if (first === second) continue;
          index += 1;
          const name = `com.example/pair-${index}`;
          await publishAll(name, [first, second]);
          // The second is published later, so it wins every tie of precedence.
          const expected = precedence(second, first) >= 0 ? second : first;
          assert.deepEqual(await latestOf(name), [expected], `${first} then ${second}`);
        }
      }
    });

    it("asks the service to order against a latest it cannot order, and asks again once that latest moved", async () => {
      const name = "com.example/decide";
      await publishAll(name, ["build-a"]);
      const store = registry.runtime.store;
      const request = (version: string) => ({
        name,
        version,
        document: serverJson(name, version),
        description: `Test server ${name}`,
        title: null,
        remoteUrls: [],
        maxVersions: MAX_VERSIONS_PER_NAME,
      });
      const only = async (version: string, versus?: { id: string; order: number }) => {
        const result = await store.publishMany(name, [request(version)], versus);
        assert.ok(result.kind === "outcomes");
        return result.outcomes[0] ?? assert.fail("one outcome per version");
      };
      const first = await only("build-b");
      assert.ok(first.outcome === "decide");
      assert.equal(first.latest.version, "build-a");
      const stale = await only("build-b", { id: "0", order: 1 });
      assert.equal(stale.outcome, "decide", "an ordering against another row is not used");
      assert.deepEqual(await latestOf(name), ["build-a"], "nothing was written while deciding");
      const stored = await only("build-b", { id: first.latest.id, order: -1 });
      assert.ok(stored.outcome === "stored");
      assert.equal(stored.stored.isLatest, false, "the service's ordering is used for its row");
      assert.deepEqual(await latestOf(name), ["build-a"]);
      const { rows } = await db.query<{ timeout: string }>(
        "SELECT current_setting('lock_timeout') AS timeout",
      );
      assert.equal(rows[0]?.timeout, "0", "the lock timeout stayed in the publish's transaction");
    });

    it("keeps exactly one latest under concurrent publishes of one name", async () => {
      const name = "com.example/concurrent";
      const versions = Array.from({ length: 20 }, (_, i) => `1.${(i * 7) % 20}.0`);
      await Promise.all(versions.map((version) => service.publish(admin, serverJson(name, version))));
      assert.deepEqual(await latestOf(name), ["1.19.0"]);
      const same = await Promise.allSettled(
        Array.from({ length: 5 }, () => service.publish(admin, serverJson("com.example/same", "1.0.0"))),
      );
      assert.equal(same.filter((result) => result.status === "fulfilled").length, 1);
      for (const result of same) {
        if (result.status === "rejected") {
          assert.ok(result.reason instanceof ProblemError);
          assert.equal(result.reason.status, 409);
        }
      }
    });
  });

  describe("registry rules that need the database", () => {
    it("refuses a duplicate version with 409 naming body.version", async () => {
      await service.publish(admin, serverJson("com.example/dup", "1.0.0"));
      const error = await rejectsWith(
        service.publish(admin, serverJson("com.example/dup", "1.0.0")),
        409,
        /already published/,
      );
      assert.equal(error.errors?.[0]?.location, "body.version");
    });

    it("refuses a remote URL another name already uses, and leaves nothing behind", async () => {
      const remote = (url: string) => ({ remotes: [{ type: "streamable-http", url }] });
      await service.publish(
        admin,
        serverJson("com.example/owner", "1.0.0", remote("https://mcp.example.com/a")),
      );
      await service.publish(
        admin,
        serverJson("com.example/owner", "1.1.0", remote("https://MCP.example.com/a")),
      );
      const error = await rejectsWith(
        service.publish(
          admin,
          serverJson("com.example/thief", "1.0.0", {
            remotes: [
              { type: "sse", url: "https://fresh.example.com/sse" },
              { type: "streamable-http", url: "https://mcp.example.com/a" },
            ],
          }),
        ),
        409,
        /already used by server com\.example\/owner/,
      );
      assert.equal(error.errors?.[0]?.location, "body.remotes[1].url");
      const fresh = await db.query("SELECT 1 FROM remote_urls WHERE url = 'https://fresh.example.com/sse'");
      assert.equal(fresh.rows.length, 0, "the rolled-back publish did not claim its other URLs");
      await rejectsWith(service.get("com.example/thief", "1.0.0", true, DIRECT), 404);
    });

    it(`refuses version ${MAX_VERSIONS_PER_NAME + 1} of a name`, async function () {
      this.timeout(60_000);
      const name = "com.example/many";
      await db.query(
        `INSERT INTO server_versions (name, version, document, description, status_changed_at, published_at, updated_at, is_latest)
         SELECT $1, '0.0.' || i, jsonb_build_object('name', $1::text, 'version', '0.0.' || i, 'description', 'd'), 'd',
                now(), now(), now(), i = $2
         FROM generate_series(1, $2) AS i`,
        [name, MAX_VERSIONS_PER_NAME],
      );
      const error = await rejectsWith(
        service.publish(admin, serverJson(name, "1.0.0")),
        409,
        /maximum of 10000 versions/,
      );
      assert.equal(error.errors?.[0]?.location, "body.version");
      // The document itself is fine: /validate warns, publish refuses.
      const validation = await service.validate(serverJson(name, "1.0.0"));
      assert.equal(validation.valid, true);
      assert.ok(
        validation.issues.some(
          (issue) =>
            issue.reference === "max-versions-per-name" &&
            issue.severity === "warning" &&
            issue.type === "registry",
        ),
      );
    });

    it("reports the database-dependent findings from validate as warnings of type registry", async () => {
      await service.publish(admin, serverJson("com.example/val", "1.0.0"));
      const result = await service.validate(serverJson("com.example/val", "1.0.0"));
      assert.equal(result.valid, true, "an already-published version is still a valid document");
      assert.deepEqual(
        result.issues
          .filter((issue) => issue.type === "registry")
          .map((issue) => [issue.path, issue.reference, issue.severity]),
        [["version", "duplicate-version", "warning"]],
      );
      await rejectsWith(
        service.publish(admin, serverJson("com.example/val", "1.0.0")),
        409,
        /already published/,
      );
      assert.equal((await service.validate(serverJson("com.example/val", "1.0.1"))).valid, true);
    });
  });

  describe("permissions", () => {
    const token = (permissions: RegistryClaims["permissions"]): RegistryClaims => ({
      ...systemCaller("x"),
      auth_method: "test",
      permissions,
    });
    const publisher = token([{ action: "publish", resource: "com.acme/*" }]);
    const editor = token([{ action: "edit", resource: "com.acme/*" }]);
    const stranger = token([{ action: "publish", resource: "org.other/*" }]);

    it("publish needs publish permission on the name; the 403 lists what the token allows", async () => {
      await service.publish(publisher, serverJson("com.acme/tool", "1.0.0"));
      await rejectsWith(
        service.publish(stranger, serverJson("com.acme/tool", "1.0.1")),
        403,
        /org\.other\/\*/,
      );
      await rejectsWith(service.publish(editor, serverJson("com.acme/tool", "1.0.1")), 403);
      // No probing: an invalid document of a foreign namespace is a 403, not a 422.
      await rejectsWith(service.publish(stranger, { name: "com.acme/tool", version: "latest" }), 403);
    });

    it("edit and status changes need edit permission, or publish permission on the name", async () => {
      const changed = serverJson("com.acme/tool", "1.0.0", { description: "Edited by the editor" });
      assert.equal(
        JSON.parse((await service.edit(editor, "com.acme/tool", "1.0.0", changed)).documentJson).description,
        "Edited by the editor",
      );
      await service.setStatus(publisher, "com.acme/tool", "1.0.0", { status: "deprecated" });
      await service.setStatus(editor, "com.acme/tool", "1.0.0", { status: "active" });
      await rejectsWith(service.setStatus(stranger, "com.acme/tool", "1.0.0", { status: "deleted" }), 403);
      await rejectsWith(service.setStatusAll(stranger, "com.acme/tool", { status: "deleted" }), 403);
      await rejectsWith(service.edit(stranger, "com.acme/tool", "1.0.0", changed), 403);
    });
  });

  describe("edit and status rules", () => {
    before(async () => {
      await publishAll("com.example/edit", ["1.0.0", "1.1.0"]);
    });

    it("refuses a rename and a version that differs from the path", async () => {
      const renamed = await rejectsWith(
        service.edit(admin, "com.example/edit", "1.0.0", serverJson("com.example/renamed", "1.0.0")),
        400,
        /Renaming is not allowed/,
      );
      assert.equal(renamed.errors?.[0]?.location, "body.name");
      const moved = await rejectsWith(
        service.edit(admin, "com.example/edit", "1.0.0", serverJson("com.example/edit", "1.1.0")),
        400,
      );
      assert.equal(moved.errors?.[0]?.location, "body.version");
      await rejectsWith(
        service.edit(admin, "com.example/edit", "9.9.9", serverJson("com.example/edit", "9.9.9")),
        404,
      );
    });

    it("updates the document and updatedAt, keeping publishedAt", async () => {
      const before = official((await service.get("com.example/edit", "1.0.0", false, DIRECT)).entry);
      const after = await service.edit(
        admin,
        "com.example/edit",
        "1.0.0",
        serverJson("com.example/edit", "1.0.0", { title: "Edited" }),
      );
      assert.equal(JSON.parse(after.documentJson).title, "Edited");
      assert.equal(after.publishedAt, before.publishedAt);
      assert.ok(Date.parse(after.updatedAt) >= Date.parse(before.updatedAt));
    });

    it("refuses a no-op change, a message with active, and a message over 500 characters", async () => {
      await rejectsWith(
        service.setStatus(admin, "com.example/edit", "1.0.0", { status: "active" }),
        400,
        /No changes/,
      );
      const withActive = await rejectsWith(
        service.setStatus(admin, "com.example/edit", "1.0.0", { status: "active", statusMessage: "hi" }),
        400,
      );
      assert.equal(withActive.errors?.[0]?.location, "body.statusMessage");
      await rejectsWith(
        service.setStatus(admin, "com.example/edit", "1.0.0", {
          status: "deprecated",
          statusMessage: "x".repeat(501),
        }),
        400,
      );
      await service.setStatus(admin, "com.example/edit", "1.0.0", {
        status: "deprecated",
        statusMessage: "old",
      });
      await rejectsWith(
        service.setStatus(admin, "com.example/edit", "1.0.0", { status: "deprecated", statusMessage: "old" }),
        400,
      );
      const changedMessage = await service.setStatus(admin, "com.example/edit", "1.0.0", {
        status: "deprecated",
        statusMessage: "older",
      });
      assert.equal(changedMessage.statusMessage, "older");
    });

    it("changes every version in one transaction, or none", async () => {
      await rejectsWith(service.setStatusAll(admin, "com.example/absent", { status: "deleted" }), 404);
      const result = await service.setStatusAll(admin, "com.example/edit", {
        status: "deprecated",
        statusMessage: "moved",
      });
      assert.equal(result.updatedCount, 2);
      assert.deepEqual(result.servers.map((row) => [row.version, row.status, row.statusMessage]).sort(), [
        ["1.0.0", "deprecated", "moved"],
        ["1.1.0", "deprecated", "moved"],
      ]);
      await rejectsWith(
        service.setStatusAll(admin, "com.example/edit", { status: "deprecated", statusMessage: "moved" }),
        400,
      );
    });
  });
});

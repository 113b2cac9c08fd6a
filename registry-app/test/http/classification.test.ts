import assert from "node:assert/strict";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { PUBLISHER_META_KEY } from "../../src/schema";
import { assertConformsToSpec } from "../support/conformance";
import { bearer, serverJson, testRegistry, type TestRegistry } from "../support/registry";

const META = "io.mcp-registry/classification";
const enc = encodeURIComponent;

interface Classified {
  categories: string[];
  tags: string[];
  curated?: string[];
  warnings?: Array<{ path: string; message: string; reference: string }>;
}
interface Entry {
  server: { name: string; version: string };
  _meta: Record<string, unknown> & { [META]?: Classified };
}
interface View {
  name: string;
  override: {
    categories: string[] | null;
    tags: string[] | null;
    updatedAt: string;
    updatedBy: string;
  } | null;
  audit: Array<{
    id: string;
    changedAt: string;
    actor: string;
    before: { categories: string[] | null; tags: string[] | null };
    after: { categories: string[] | null; tags: string[] | null };
  }>;
}
interface Problem {
  detail: string;
  errors?: Array<{ location: string; message: string }>;
}

function declared(categories: unknown, tags: unknown): Record<string, unknown> {
  return { _meta: { [PUBLISHER_META_KEY]: { categories, tags } } };
}

describe("http: categories and tags of a server, curated by administrators", function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  let publisher: string;
  let admin: string;
  let editor: string;
  const name = "com.example/curated";

  async function call(options: InjectOptions): Promise<LightMyRequestResponse> {
    const response = await registry.app.inject(options);
    if (
      response.statusCode === 200 &&
      String(response.headers["content-type"]).startsWith("application/json")
    )
      assertConformsToSpec(String(options.method), String(options.url), 200, response.json());
    return response;
  }

  const latest = async (): Promise<Entry> =>
    (await call({ method: "GET", url: `/v0.1/servers/${enc(name)}/versions/latest` })).json<Entry>();
  const put = (body: unknown, token = admin) =>
    call({
      method: "PUT",
      url: `/v0.1/servers/${enc(name)}/classification`,
      headers: bearer(token),
      payload: body as Record<string, unknown>,
    });
  const publish = (document: Record<string, unknown>) =>
    call({ method: "POST", url: "/v0.1/publish", headers: bearer(publisher), payload: document });
  const listed = async (query: string): Promise<string[]> =>
    (await call({ method: "GET", url: `/v0.1/servers?${query}` }))
      .json<{ servers: Entry[] }>()
      .servers.map((entry) => `${entry.server.name}@${entry.server.version}`);

  before(async () => {
    registry = await testRegistry("classification");
    publisher = await registry.token([{ action: "publish", resource: "com.example/*" }]);
    admin = await registry.token([{ action: "edit", resource: "*" }], "oidc");
    editor = await registry.token([{ action: "edit", resource: "com.example/*" }]);
  });
  after(async () => registry.close());

  it("publishes whatever a publisher declares, indexes what it can, and says what it did not", async () => {
    const response = await publish(
      serverJson(
        name,
        "1.0.0",
        declared(["Databases", "quantum-stuff", 3], ["SQL", "!!!", "Vector Search", "sql"]),
      ),
    );
    assert.equal(response.statusCode, 200, response.body);
    const meta = response.json<Entry>()._meta[META] as Classified;
    assert.deepEqual([meta.categories, meta.tags], [["databases"], ["sql", "vector-search"]]);
    assert.deepEqual(
      meta.warnings?.map((warning) => warning.reference),
      ["categories-not-string", "unknown-category", "label-dropped"],
    );
    // The stored document is what the publisher wrote; the GET shows no warnings.
    const entry = await latest();
    assert.deepEqual(
      (entry.server as unknown as { _meta: Record<string, { categories: unknown }> })._meta[
        PUBLISHER_META_KEY
      ]?.categories,
      ["Databases", "quantum-stuff", 3],
    );
    assert.deepEqual(entry._meta[META], { categories: ["databases"], tags: ["sql", "vector-search"] });

    const validation = (
      await call({
        method: "POST",
        url: "/v0.1/validate",
        payload: serverJson(name, "9.0.0", declared(["Databases", "quantum-stuff"], "not a list")),
      })
    ).json<{
      valid: boolean;
      issues: Array<{ type: string; severity: string; reference: string; path: string }>;
    }>();
    assert.equal(validation.valid, true);
    const classification = validation.issues.filter((issue) => issue.type === "classification");
    // /validate lists errors, then warnings, then notes (each in the publisher's order).
    assert.deepEqual(
      classification.map((issue) => [issue.severity, issue.reference]),
      [
        ["warning", "unknown-category"],
        ["warning", "tags-not-array"],
        ["info", "label-normalised"],
      ],
    );
    assert.match(classification[0]?.path ?? "", /categories\[1\]$/);
  });

  it("an administrator's override applies to every version, is audited, and survives a republish", async () => {
    assert.equal((await publish(serverJson(name, "1.1.0", declared(["search"], ["fresh"])))).statusCode, 200);
    assert.deepEqual(await listed("category=databases"), [`${name}@1.0.0`]);

    const changed = await put({ categories: ["observability", "security"] });
    assert.equal(changed.statusCode, 200, changed.body);
    const view = changed.json<View>();
    assert.deepEqual(view.override?.categories, ["observability", "security"]);
    assert.equal(view.override?.tags, null);
    assert.equal(view.override?.updatedBy, "oidc:tester");
    assert.equal(view.audit.length, 1);
    assert.deepEqual(view.audit[0]?.before, { categories: null, tags: null });
    assert.deepEqual(view.audit[0]?.after, { categories: ["observability", "security"], tags: null });
    assert.equal(view.audit[0]?.actor, "oidc:tester");
    assert.ok(Date.now() - Date.parse(view.audit[0]?.changedAt ?? "") < 60_000);

    // Both versions now: override categories, each version's own tags.
    assert.deepEqual(await listed("category=observability"), [`${name}@1.0.0`, `${name}@1.1.0`]);
    assert.deepEqual(await listed("category=databases"), []);
    assert.deepEqual((await latest())._meta[META], {
      categories: ["observability", "security"],
      tags: ["fresh"],
      curated: ["categories"],
    });

    // A republish (new version declaring other categories) keeps the administrator's.
    const republished = await publish(serverJson(name, "2.0.0", declared(["databases"], ["v2"])));
    assert.equal(republished.statusCode, 200, republished.body);
    assert.deepEqual(republished.json<Entry>()._meta[META], {
      categories: ["observability", "security"],
      tags: ["v2"],
      curated: ["categories"],
    });
    assert.deepEqual(await listed("category=observability&version=latest"), [`${name}@2.0.0`]);
    // So does an edit of an existing version.
    const edited = await call({
      method: "PUT",
      url: `/v0.1/servers/${enc(name)}/versions/1.0.0`,
      headers: bearer(publisher),
      payload: serverJson(name, "1.0.0", declared(["finance"], ["edited"])),
    });
    assert.equal(edited.statusCode, 200, edited.body);
    assert.deepEqual(edited.json<Entry>()._meta[META], {
      categories: ["observability", "security"],
      tags: ["edited"],
      curated: ["categories"],
    });
  });

  it("tags too, then the override removed: publishers' values again, every change in the audit", async () => {
    const before = (await latest())._meta["io.modelcontextprotocol.registry/official"] as {
      updatedAt: string;
    };
    assert.equal((await put({ categories: ["observability"], tags: ["curated-tag"] })).statusCode, 200);
    const entry = await latest();
    assert.deepEqual(entry._meta[META], {
      categories: ["observability"],
      tags: ["curated-tag"],
      curated: ["categories", "tags"],
    });
    const after = entry._meta["io.modelcontextprotocol.registry/official"] as { updatedAt: string };
    assert.ok(after.updatedAt > before.updatedAt, "versions count as updated");
    assert.deepEqual(await listed(`tag=curated-tag`), [`${name}@1.0.0`, `${name}@1.1.0`, `${name}@2.0.0`]);

    // The same override again changes nothing and records nothing.
    const again = (await put({ categories: ["observability"], tags: ["curated-tag"] })).json<View>();
    assert.equal(again.audit.length, 2);

    const removed = await put({});
    assert.equal(removed.statusCode, 200);
    const view = removed.json<View>();
    assert.equal(view.override, null);
    assert.deepEqual(
      view.audit.map((change) => change.after),
      [
        { categories: ["observability", "security"], tags: null },
        { categories: ["observability"], tags: ["curated-tag"] },
        { categories: null, tags: null },
      ],
    );
    assert.deepEqual((await latest())._meta[META], { categories: ["databases"], tags: ["v2"] });
    const read = await call({ method: "GET", url: `/v0.1/servers/${enc(name)}/classification` });
    assert.deepEqual(read.json<View>(), view);
    // The audit is append-only in the database itself.
    await assert.rejects(registry.runtime.db.query("DELETE FROM server_classification_audit"), /append-only/);
  });

  const refusals: Array<[string, () => Promise<LightMyRequestResponse>, number, string | undefined, RegExp]> =
    [
      [
        "no token",
        () => call({ method: "PUT", url: `/v0.1/servers/${enc(name)}/classification`, payload: {} }),
        401,
        undefined,
        /./,
      ],
      [
        "a publisher of the name",
        () => put({ categories: ["search"] }, publisher),
        403,
        undefined,
        /administrators/,
      ],
      ["an editor of the namespace", () => put({ tags: ["x"] }, editor), 403, undefined, /administrators/],
      [
        "an unknown category",
        () => put({ categories: ["search", "quantum-stuff"] }),
        400,
        "body.categories[1]",
        /not a category/,
      ],
      [
        "a repeated category",
        () => put({ categories: ["search", "search"] }),
        400,
        "body.categories[1]",
        /repeats categories\[0\]/,
      ],
      [
        "a tag that is not normalised",
        () => put({ tags: ["Vector Search"] }),
        400,
        "body.tags[0]",
        /lower-case/,
      ],
      [
        "21 tags",
        () => put({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }),
        400,
        "body.tags",
        /at most 20/,
      ],
      ["an unknown field", () => put({ categories: ["search"], colour: "red" }), 400, "body", /colour/],
      ["categories that are not a list", () => put({ categories: "search" }), 400, "body.categories", /./],
      [
        "no body",
        () =>
          call({ method: "PUT", url: `/v0.1/servers/${enc(name)}/classification`, headers: bearer(admin) }),
        400,
        "body",
        /./,
      ],
      [
        "an unknown name",
        () =>
          call({
            method: "PUT",
            url: `/v0.1/servers/${enc("com.example/none")}/classification`,
            headers: bearer(admin),
            payload: { tags: ["a"] },
          }),
        404,
        undefined,
        /not found/,
      ],
    ];
  for (const [title, request, status, location, message] of refusals) {
    it(`refuses ${title} with ${status}${location ? ` naming ${location}` : ""}, changing nothing`, async () => {
      const before = (
        await call({ method: "GET", url: `/v0.1/servers/${enc(name)}/classification` })
      ).json<View>();
      const response = await request();
      assert.equal(response.statusCode, status, response.body);
      assert.match(String(response.headers["content-type"]), /^application\/problem\+json/);
      const problem = response.json<Problem>();
      if (location !== undefined) assert.equal(problem.errors?.[0]?.location, location, response.body);
      assert.match(`${problem.detail} ${problem.errors?.[0]?.message ?? ""}`, message);
      const after = (
        await call({ method: "GET", url: `/v0.1/servers/${enc(name)}/classification` })
      ).json<View>();
      assert.deepEqual(after, before);
    });
  }

  it("answers 404 for the classification of an unknown name", async () => {
    const response = await call({
      method: "GET",
      url: `/v0.1/servers/${enc("com.example/none")}/classification`,
    });
    assert.equal(response.statusCode, 404);
  });
});

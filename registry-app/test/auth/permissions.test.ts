import assert from "node:assert/strict";
import {
  assertCanEdit,
  assertCanPublish,
  patternMatches,
  type RegistryClaims,
  type RegistryPermission,
} from "../../src/auth";
import { blockedPermissions, patternTouchesNamespace } from "../../src/auth/permissions";
import { ProblemError } from "../../src/errors";

function claims(...permissions: RegistryPermission[]): RegistryClaims {
  return {
    iss: "mcp-registry",
    iat: 0,
    nbf: 0,
    exp: 1,
    auth_method: "test",
    auth_method_sub: "t",
    permissions,
  };
}
const publish = (resource: string): RegistryPermission => ({ action: "publish", resource });
const edit = (resource: string): RegistryPermission => ({ action: "edit", resource });

function allowed(check: () => void): boolean {
  try {
    check();
    return true;
  } catch (error) {
    assert.ok(error instanceof ProblemError && error.status === 403, String(error));
    return false;
  }
}

describe("auth: permission patterns", () => {
  it("matches *, trailing-* prefixes and exact names only", () => {
    const cases: [string, string, boolean][] = [
      ["*", "anything/at-all", true],
      ["com.example/*", "com.example/server", true],
      ["com.example/*", "com.example.sub/server", false],
      ["com.example.*", "com.example.sub/server", true],
      ["com.example.*", "com.examplefoo/server", false],
      ["com.example/server", "com.example/server", true],
      ["com.example/server", "com.example/server2", false],
      ["com.example/ser*", "com.example/server", true],
      ["io.github.alice/*", "io.github.alicebob/x", false],
      ["com.example/*", "COM.EXAMPLE/server", false],
    ];
    for (const [pattern, name, expected] of cases) {
      assert.equal(patternMatches(pattern, name), expected, `${pattern} vs ${name}`);
    }
  });
});

describe("auth: permission matrix (publish, edit, status change)", () => {
  const tokens: Record<string, RegistryClaims> = {
    admin: claims(publish("*"), edit("*")),
    dns: claims(publish("com.example/*"), publish("com.example.*")),
    http: claims(publish("com.example/*")),
    github: claims(publish("io.github.alice/*"), publish("io.github.acme/*")),
    editor: claims(edit("com.example/*")),
    anonymous: claims(
      publish("io.modelcontextprotocol.anonymous/*"),
      edit("io.modelcontextprotocol.anonymous/*"),
    ),
    empty: claims(),
  };
  // Status changes use the same rule as edits (assertCanEdit), as in the official registry.
  const names = [
    "com.example/weather",
    "com.example.eu/weather",
    "io.github.alice/tool",
    "io.github.acme/tool",
    "io.github.bob/tool",
    "io.modelcontextprotocol.anonymous/demo",
  ];
  const expected: Record<string, { publish: string[]; edit: string[] }> = {
    admin: { publish: names, edit: names },
    dns: {
      publish: ["com.example/weather", "com.example.eu/weather"],
      edit: ["com.example/weather", "com.example.eu/weather"],
    },
    http: { publish: ["com.example/weather"], edit: ["com.example/weather"] },
    github: {
      publish: ["io.github.alice/tool", "io.github.acme/tool"],
      edit: ["io.github.alice/tool", "io.github.acme/tool"],
    },
    editor: { publish: [], edit: ["com.example/weather"] },
    anonymous: {
      publish: ["io.modelcontextprotocol.anonymous/demo"],
      edit: ["io.modelcontextprotocol.anonymous/demo"],
    },
    empty: { publish: [], edit: [] },
  };

  for (const [who, token] of Object.entries(tokens)) {
    it(`${who} token`, () => {
      const mayPublish = names.filter((name) => allowed(() => assertCanPublish(token, name)));
      const mayEdit = names.filter((name) => allowed(() => assertCanEdit(token, name)));
      assert.deepEqual(mayPublish, expected[who]?.publish);
      assert.deepEqual(mayEdit, expected[who]?.edit);
    });
  }

  it("a refused publish lists the caller's allowed patterns", () => {
    assert.throws(
      () => assertCanPublish(tokens.github as RegistryClaims, "io.github.bob/tool"),
      (error: unknown) =>
        error instanceof ProblemError &&
        error.status === 403 &&
        error.detail.includes("io.github.alice/*, io.github.acme/*") &&
        error.detail.includes("io.github.bob/tool"),
    );
    assert.throws(
      () => assertCanPublish(tokens.empty as RegistryClaims, "com.example/x"),
      (error: unknown) => error instanceof ProblemError && /allows publishing: none/.test(error.detail),
    );
  });
});

describe("auth: blocked namespaces", () => {
  it("catches patterns inside or covering the namespace, not look-alikes", () => {
    assert.equal(patternTouchesNamespace("com.evil/*", "com.evil"), true);
    assert.equal(patternTouchesNamespace("com.evil.*", "com.evil"), true);
    assert.equal(patternTouchesNamespace("com.evil.sub/*", "com.evil"), true);
    assert.equal(patternTouchesNamespace("com.evil/server", "com.evil"), true);
    assert.equal(patternTouchesNamespace("com.*", "com.evil"), true);
    assert.equal(patternTouchesNamespace("com.evil*", "com.evil"), true);
    assert.equal(patternTouchesNamespace("com.evilcorp/*", "com.evil"), false);
    assert.equal(patternTouchesNamespace("com.good/*", "com.evil"), false);
    assert.equal(patternTouchesNamespace("org.*", "com.evil"), false);
  });

  it("exempts holders of *", () => {
    assert.deepEqual(blockedPermissions([publish("*"), publish("com.evil/*")], ["com.evil"]), []);
    assert.deepEqual(blockedPermissions([publish("com.evil/*"), publish("com.ok/*")], ["com.evil/*"]), [
      publish("com.evil/*"),
    ]);
  });
});

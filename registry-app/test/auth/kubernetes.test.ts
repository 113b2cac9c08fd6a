import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { createAuth } from "../../src/auth";
import { FakeOidcIssuer } from "./fakes";
import { authApp, testEnv } from "./support";

interface Answer {
  detail: string;
  registry_token: string;
  errors?: { location: string }[];
}

const START = Date.UTC(2026, 0, 1, 12, 0, 0);
/** The issuer a cluster puts in its tokens; its keys are served elsewhere (discovery URL). */
const CLUSTER_ISSUER = "https://kubernetes.default.svc.cluster.local";

function kubernetesEnv(discovery: string, extra: Record<string, string> = {}) {
  return testEnv({
    MCP_REGISTRY_KUBERNETES_ISSUER: CLUSTER_ISSUER,
    MCP_REGISTRY_KUBERNETES_DISCOVERY_URL: discovery,
    MCP_REGISTRY_KUBERNETES_SERVICE_ACCOUNTS: "mcp-registry-controller/registry-controller",
    MCP_REGISTRY_KUBERNETES_PUBLISH_PERMISSIONS: "com.acme.*",
    MCP_REGISTRY_KUBERNETES_EDIT_PERMISSIONS: "com.acme.*",
    MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE: "0",
    ...extra,
  });
}

describe("auth: /auth/kubernetes (projected service account tokens: the registry controller)", () => {
  let cluster: FakeOidcIssuer;
  let app: FastifyInstance;
  const nowSeconds = START / 1000;
  /** Claims of a projected token as kube-apiserver writes them. */
  const projected = (sub = "system:serviceaccount:mcp-registry-controller:registry-controller") => ({
    iss: CLUSTER_ISSUER,
    aud: ["mcp-registry"],
    sub,
    "kubernetes.io": {
      namespace: "mcp-registry-controller",
      serviceaccount: { name: "registry-controller", uid: "0b3a" },
    },
  });

  async function login(token: unknown, target = app) {
    const res = await target.inject({
      method: "POST",
      url: "/v0.1/auth/kubernetes",
      payload: { service_account_token: token },
    });
    return { status: res.statusCode, body: res.json<Answer>() };
  }

  before(async () => {
    cluster = await FakeOidcIssuer.start();
    cluster.discoveryIssuerOverride = CLUSTER_ISSUER;
    ({ app } = await authApp(kubernetesEnv(cluster.issuer), { now: () => START }));
  });
  after(async () => {
    await app.close();
    await cluster.close();
  });

  it("grants the configured patterns to a listed service account", async () => {
    const res = await login(await cluster.sign(projected(), { nowSeconds }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const who = await app.inject({
      method: "GET",
      url: "/v0/whoami",
      headers: { authorization: `Bearer ${res.body.registry_token}` },
    });
    const claims = who.json<{ auth_method: string; auth_method_sub: string; permissions: unknown }>();
    assert.equal(claims.auth_method, "kubernetes");
    assert.equal(claims.auth_method_sub, "system:serviceaccount:mcp-registry-controller:registry-controller");
    assert.deepEqual(claims.permissions, [
      { action: "publish", resource: "com.acme.*" },
      { action: "edit", resource: "com.acme.*" },
    ]);
  });

  const failures: [string, () => Promise<string>, RegExp][] = [
    [
      "another service account",
      () => cluster.sign(projected("system:serviceaccount:team-a:default"), { nowSeconds }),
      /team-a\/default may not log in/,
    ],
    [
      "a user, not a service account",
      () => cluster.sign(projected("alice"), { nowSeconds }),
      /not a service account/,
    ],
    [
      "a token for the API server (wrong audience)",
      () => cluster.sign({ ...projected(), aud: ["https://kubernetes.default.svc"] }, { nowSeconds }),
      /audience/,
    ],
    [
      "another issuer",
      () => cluster.sign({ ...projected(), iss: "https://other-cluster.example" }, { nowSeconds }),
      /issuer/,
    ],
    [
      "a key the cluster does not publish",
      () => cluster.sign(projected(), { nowSeconds, foreignKey: true }),
      /signature/,
    ],
    [
      "expired",
      () => cluster.sign(projected(), { nowSeconds: nowSeconds - 7200, expiresIn: 3600 }),
      /expired/,
    ],
  ];
  for (const [name, make, reason] of failures) {
    it(`refuses ${name} (401)`, async () => {
      const res = await login(await make());
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.match(res.body.detail, reason);
    });
  }

  it("names the missing field (400)", async () => {
    const res = await app.inject({ method: "POST", url: "/v0.1/auth/kubernetes", payload: {} });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json<Answer>().errors?.[0]?.location, "body.service_account_token");
  });

  it("does not exist unless configured; half a configuration is refused at start", async () => {
    const { app: plain } = await authApp(testEnv());
    assert.equal((await login("x", plain)).status, 404);
    await plain.close();
    await assert.rejects(
      createAuth(testEnv({ MCP_REGISTRY_KUBERNETES_ISSUER: CLUSTER_ISSUER })),
      /MCP_REGISTRY_KUBERNETES_ISSUER and MCP_REGISTRY_KUBERNETES_SERVICE_ACCOUNTS/,
    );
    await assert.rejects(
      createAuth(testEnv({ MCP_REGISTRY_KUBERNETES_CA_FILE: "/ca.crt" })),
      /need MCP_REGISTRY_KUBERNETES_ISSUER/,
    );
    await assert.rejects(
      createAuth(kubernetesEnv(cluster.issuer, { MCP_REGISTRY_KUBERNETES_CA_FILE: "/nonexistent/ca.crt" })),
      /MCP_REGISTRY_KUBERNETES_CA_FILE: cannot read \/nonexistent\/ca.crt/,
    );
    assert.throws(
      () => testEnv({ MCP_REGISTRY_KUBERNETES_SERVICE_ACCOUNTS: "controller" }),
      /is not namespace\/name of a service account/,
    );
  });
});

// The MCPServer flow end to end: the program's CRDs and RBAC on a real kube-apiserver, the real registry on a real
// PostgreSQL, and the `controller` command as separate processes acting as the controller's service account.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { join as pathTo } from "node:path";
import { parseAllDocuments } from "yaml";
import { KubeApiError, type KubeObject } from "../cluster/kube-client";
import { requireToolchain } from "../charts/fixtures";
import {
  API,
  eventually,
  registryEnv,
  removeDir,
  sleep,
  startController,
  startRegistry,
  startTestCluster,
  type ControllerProcess,
  type TestCluster,
  type TestRegistryServer,
} from "./harness";

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Server extends KubeObject {
  metadata: KubeObject["metadata"] & { generation?: number; uid?: string; finalizers?: string[] };
  spec: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    observedGeneration?: number;
    publishedVersion?: string;
    registryUrl?: string;
  };
}
const OFFICIAL = "io.modelcontextprotocol.registry/official";
interface Entry {
  server: { name: string; version: string; description: string };
  _meta: {
    [OFFICIAL]: {
      status: string;
      statusMessage?: string;
      isLatest: boolean;
    };
  };
}

const SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";
const path = (ns: string, name = "") => `/apis/${API}/namespaces/${ns}/mcpservers${name ? `/${name}` : ""}`;

function mcpServer(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  annotations = {},
): KubeObject {
  return {
    apiVersion: API,
    kind: "MCPServer",
    metadata: { name, namespace, annotations },
    spec: { $schema: SCHEMA, ...spec },
  };
}

const condition = (server: Server | undefined, type: string) =>
  server?.status?.conditions?.find((c) => c.type === type);

describe("MCPServer controller: a real API server, the real registry, controller processes", function () {
  this.timeout(900_000);
  let cluster: TestCluster;
  let registryEnvironment: NodeJS.ProcessEnv;
  let registry: TestRegistryServer;
  let leader: ControllerProcess;
  let standby: ControllerProcess | undefined;
  let binDir = "";

  const get = (ns: string, name: string) => cluster.client.json<Server>("GET", path(ns, name));
  const create = (object: KubeObject) => cluster.client.create(object) as Promise<Server>;
  /** An MCPServer with only the required fields. */
  const createServer = (ns: string, object: string, name: string, description: string, version: string) =>
    create(mcpServer(ns, object, { name, description, version }));
  const patch = (ns: string, name: string, body: unknown) =>
    cluster.client.json<Server>("PATCH", path(ns, name), body, "application/merge-patch+json");
  const remove = (ns: string, name: string) => cluster.client.json("DELETE", path(ns, name));
  const registryGet = async (name: string, version: string): Promise<Entry | undefined> => {
    const response = await fetch(
      `${registry.url}/v0.1/servers/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}?include_deleted=true`,
    );
    return response.status === 404 ? undefined : ((await response.json()) as Entry);
  };
  /** The registry's own metadata of one version (status, isLatest), undefined when it holds no such version. */
  const official = async (name: string, version: string) =>
    (await registryGet(name, version))?._meta[OFFICIAL];
  const registryMetric = async (outcome: string) => {
    const text = await (await fetch(`${registry.url}/metrics`)).text();
    const line = text
      .split("\n")
      .find((l) => l.startsWith(`mcp_registry_publish_total{outcome="${outcome}"}`));
    return Number(line?.split(" ")[1] ?? 0);
  };
  const logs = () =>
    [leader, standby]
      .filter(Boolean)
      .map(
        (c) =>
          `--- ${c!.identity}:\n${c!.process.stdout.slice(-30).join("\n")}\n${c!.process.stderr.slice(-10).join("\n")}`,
      )
      .join("\n");
  /** Waits until the object's Ready condition has `reason` for its current generation. */
  const settled = (ns: string, name: string, reason: string, timeoutMs = 90_000) =>
    eventually(
      `${ns}/${name} Ready reason ${reason}`,
      async () => {
        const server = await get(ns, name);
        const ready = condition(server, "Ready");
        return ready?.reason === reason && server.status?.observedGeneration === server.metadata.generation
          ? server
          : undefined;
      },
      timeoutMs,
      logs,
    );
  const events = async (ns: string, name: string) =>
    (await cluster.client.list("v1", "Event", ns))
      .map(
        (e) =>
          e as unknown as { reason: string; message: string; type: string; involvedObject: { name: string } },
      )
      .filter((e) => e.involvedObject.name === name);

  before(async function () {
    binDir = requireToolchain(this);
    cluster = await startTestCluster(binDir);
    registryEnvironment = await registryEnv(cluster, "com.acme.*");
    registry = await startRegistry(registryEnvironment);
    for (const ns of ["team-a", "team-b", "team-c"]) {
      await cluster.client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    }
    for (const team of ["team-a", "team-b"]) {
      await cluster.client.apply({
        apiVersion: API,
        kind: "MCPNamespaceGrant",
        metadata: { name: team },
        spec: {
          namespaces: [team],
          patterns: [`com.acme.${team}/*`],
          description: `issue 15 tests: ${team}`,
        },
      });
    }
    leader = await startController(cluster, registry.url, "replica-a");
  });

  after(async () => {
    await standby?.stop("SIGKILL");
    await leader?.stop("SIGKILL");
    await registry?.close();
    await cluster?.plane.stop();
    if (cluster) removeDir(cluster.dir);
  });

  it("refuses a bad resource at admission (CEL and schema), and a change of spec.name", async () => {
    const refused = async (object: KubeObject) => {
      const error = await create(object).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof KubeApiError, "the API server accepted it");
      assert.equal(error.status, 422);
      return error.message;
    };
    const range = await refused(
      mcpServer("team-a", "range", { name: "com.acme.team-a/x", description: "d", version: "^1.2.0" }),
    );
    assert.match(
      range,
      /spec.version: Invalid value: "string": must be a specific version, not a range or wildcard/,
    );
    const latest = await refused(
      mcpServer("team-a", "latest", { name: "com.acme.team-a/x", description: "d", version: "LATEST" }),
    );
    assert.match(latest, /"latest" is reserved/);
    const name = await refused(
      mcpServer("team-a", "name", { name: "a/b", description: "d", version: "1.0.0" }),
    );
    assert.match(name, /spec.name: Invalid value: "string": must be "namespace\/name"/);
    const long = await refused(
      mcpServer("team-a", "long", {
        name: "com.acme.team-a/x",
        description: "x".repeat(101),
        version: "1.0.0",
      }),
    );
    assert.match(long, /spec.description: Too long/);
    const meta = await refused(
      mcpServer("team-a", "meta", {
        name: "com.acme.team-a/x",
        description: "d",
        version: "1.0.0",
        _meta: { "io.modelcontextprotocol.registry/official": { status: "active" } },
      }),
    );
    assert.match(meta, /is written by the registry and cannot be published/);

    await createServer("team-c", "rename-me", "com.acme.team-c/one", "d", "1.0.0");
    const rename = await patch("team-c", "rename-me", { spec: { name: "com.acme.team-c/two" } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(rename instanceof KubeApiError);
    assert.match(rename.message, /name is immutable/);
  });

  it("publishes a valid resource: Published=True, status, events, printer columns", async () => {
    await create(
      mcpServer("team-a", "weather", {
        name: "com.acme.team-a/weather",
        description: "Forecasts for Acme sites",
        version: "1.0.0",
        packages: [
          {
            registryType: "npm",
            identifier: "@acme/weather",
            version: "1.0.0",
            transport: { type: "stdio" },
          },
        ],
      }),
    );
    const server = await settled("team-a", "weather", "Published");
    assert.equal(condition(server, "Published")?.status, "True");
    assert.equal(condition(server, "Ready")?.status, "True");
    assert.equal(server.status?.publishedVersion, "1.0.0");
    assert.equal(
      server.status?.registryUrl,
      `${registry.url}/v0.1/servers/com.acme.team-a%2Fweather/versions/1.0.0`,
    );
    assert.ok(server.metadata.finalizers?.includes("mcp-registry.io/retire-on-delete"));
    const entry = await registryGet("com.acme.team-a/weather", "1.0.0");
    assert.equal(entry?._meta[OFFICIAL].status, "active");
    assert.equal(entry?.server.description, "Forecasts for Acme sites");
    assert.ok(
      (await events("team-a", "weather")).some((e) => e.reason === "Published" && e.type === "Normal"),
    );
    // kubectl get mcpservers: the columns the API server prints.
    const printed = spawnSync(pathTo(binDir, "kubectl"), ["get", "mcpservers", "-n", "team-a"], {
      encoding: "utf8",
      env: { ...process.env, KUBECONFIG: cluster.plane.kubeconfigPath },
    });
    assert.equal(printed.status, 0, printed.stderr);
    assert.match(printed.stdout, /^NAME +SERVER +VERSION +STATUS +AGE$/m);
    assert.match(printed.stdout, /^weather +com\.acme\.team-a\/weather +1\.0\.0 +Published +\d+s$/m);
  });

  it("publishes a version bump as a new version; the old one stays", async () => {
    await patch("team-a", "weather", { spec: { version: "1.1.0" } });
    const server = await eventually(
      "publishedVersion 1.1.0",
      async () => {
        const s = await get("team-a", "weather");
        return s.status?.publishedVersion === "1.1.0" && s.status.observedGeneration === s.metadata.generation
          ? s
          : undefined;
      },
      90_000,
      logs,
    );
    assert.equal(condition(server, "Published")?.status, "True");
    assert.equal((await official("com.acme.team-a/weather", "1.1.0"))?.isLatest, true);
    assert.equal((await official("com.acme.team-a/weather", "1.0.0"))?.status, "active");
  });

  it("edits the version in place for a change without a version bump", async () => {
    const before = await get("team-a", "weather");
    await patch("team-a", "weather", { spec: { description: "Forecasts and warnings for Acme sites" } });
    await eventually(
      "the edit",
      async () => {
        const s = await get("team-a", "weather");
        return s.status?.observedGeneration === (before.metadata.generation ?? 0) + 1 &&
          condition(s, "Ready")?.status === "True"
          ? s
          : undefined;
      },
      90_000,
      logs,
    );
    assert.equal(
      (await registryGet("com.acme.team-a/weather", "1.1.0"))?.server.description,
      "Forecasts and warnings for Acme sites",
    );
    assert.ok((await events("team-a", "weather")).some((e) => e.reason === "Updated"));
  });

  it("reports Conflict, telling to bump the version, when the registry refuses the edit", async () => {
    // Another server already owns this remote URL; the registry refuses to give it to the weather server.
    const token = await registry.token([{ action: "publish", resource: "com.acme.team-a/*" }]);
    const other = await fetch(`${registry.url}/v0.1/publish`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        $schema: SCHEMA,
        name: "com.acme.team-a/other",
        description: "Owns the remote",
        version: "1.0.0",
        remotes: [{ type: "streamable-http", url: "https://mcp.acme.example/weather" }],
      }),
    });
    assert.equal(other.status, 200);
    await patch("team-a", "weather", {
      spec: { remotes: [{ type: "streamable-http", url: "https://mcp.acme.example/weather" }] },
    });
    const conflict = await settled("team-a", "weather", "Conflict");
    assert.match(
      condition(conflict, "Ready")?.message ?? "",
      /already used by server com.acme.team-a\/other.*bump spec.version/,
    );
    assert.equal(condition(conflict, "Published")?.reason, "Conflict");
    assert.equal(
      (await registryGet("com.acme.team-a/weather", "1.1.0"))?.server.description,
      "Forecasts and warnings for Acme sites",
    );
    await patch("team-a", "weather", { spec: { remotes: null } });
    await settled("team-a", "weather", "Published");
  });

  it("refuses names a namespace was not granted (Forbidden) and publishes nothing for them", async () => {
    // Team B claims team A's published name, and another of team A's names; team C has no grant at all.
    await createServer("team-b", "weather", "com.acme.team-a/weather", "Not ours", "9.0.0");
    await createServer("team-b", "sneaky", "com.acme.team-a/sneaky", "Not ours", "1.0.0");
    const claim = await settled("team-b", "weather", "Forbidden");
    assert.match(
      condition(claim, "Ready")?.message ?? "",
      /namespace team-b may publish com.acme.team-b\/\* \(MCPNamespaceGrant team-b\)/,
    );
    assert.equal(condition(claim, "Published")?.status, "False");
    await settled("team-b", "sneaky", "Forbidden");
    const noGrant = await settled("team-c", "rename-me", "Forbidden");
    assert.match(condition(noGrant, "Ready")?.message ?? "", /no MCPNamespaceGrant lists namespace team-c/);
    assert.equal(await registryGet("com.acme.team-a/weather", "9.0.0"), undefined);
    assert.equal(await registryGet("com.acme.team-a/sneaky", "1.0.0"), undefined);
    assert.equal(await registryGet("com.acme.team-c/one", "1.0.0"), undefined);
    // Team A's resource is untouched by the claim.
    assert.equal(condition(await get("team-a", "weather"), "Ready")?.reason, "Published");
    assert.ok(
      (await events("team-b", "weather")).some((e) => e.reason === "Forbidden" && e.type === "Warning"),
    );
    // A grant that arrives later is picked up without touching the resource.
    await cluster.client.apply({
      apiVersion: API,
      kind: "MCPNamespaceGrant",
      metadata: { name: "team-c" },
      spec: { namespaces: ["team-c"], patterns: ["com.acme.team-c/one"] },
    });
    await settled("team-c", "rename-me", "Published");
  });

  it("publishes registry-app/examples/mcpserver.yaml as it stands (namespace, grant, MCPServer)", async () => {
    const example = parseAllDocuments(
      fs.readFileSync(pathTo(__dirname, "..", "..", "registry-app", "examples", "mcpserver.yaml"), "utf8"),
    ).map((doc) => doc.toJS() as KubeObject);
    assert.deepEqual(
      example.map((o) => o.kind),
      ["Namespace", "MCPNamespaceGrant", "MCPServer"],
    );
    for (const object of example) await cluster.client.apply(object);
    const server = await settled("team-weather", "forecast", "Published");
    const spec = example[2]!.spec as { name: string; version: string };
    assert.equal(server.status?.publishedVersion, spec.version);
    assert.equal((await official(spec.name, spec.version))?.status, "active");
  });

  it("reports Invalid for what only the registry can check, and publishes nothing", async () => {
    await create(
      mcpServer("team-a", "local-remote", {
        name: "com.acme.team-a/local-remote",
        description: "Points at localhost",
        version: "1.0.0",
        remotes: [{ type: "streamable-http", url: "https://localhost/mcp" }],
      }),
    );
    const invalid = await settled("team-a", "local-remote", "Invalid");
    assert.match(condition(invalid, "Ready")?.message ?? "", /remotes\[0\]\.url must not point at localhost/);
    assert.equal(await registryGet("com.acme.team-a/local-remote", "1.0.0"), undefined);
  });

  it("deprecates every version on deletion (or deletes them with the annotation), then lets the object go", async () => {
    await remove("team-a", "weather");
    await eventually(
      "weather gone",
      async () =>
        await get("team-a", "weather").then(
          () => undefined,
          () => true,
        ),
      90_000,
      logs,
    );
    for (const version of ["1.0.0", "1.1.0"]) {
      const meta = await official("com.acme.team-a/weather", version);
      assert.equal(meta?.status, "deprecated", version);
      assert.match(meta?.statusMessage ?? "", /MCPServer team-a\/weather was deleted/);
    }
    // Team B's claim on the same name never owned it: nothing of it was published, nothing is retired for it.
    await create(
      mcpServer(
        "team-a",
        "gone",
        { name: "com.acme.team-a/gone", description: "Short-lived", version: "1.0.0" },
        { "mcp-registry.io/deletion-policy": "Delete" },
      ),
    );
    await settled("team-a", "gone", "Published");
    await remove("team-a", "gone");
    await eventually(
      "gone deleted in the registry",
      async () => {
        const meta = await official("com.acme.team-a/gone", "1.0.0");
        return meta?.status === "deleted" ? meta : undefined;
      },
      90_000,
      logs,
    );
  });

  it("reports RegistryUnavailable during a registry outage and recovers with backoff", async () => {
    await registry.close();
    const failedBefore = await leader.metric("mcp_registry_controller_registry_requests_total", {
      outcome: "unavailable",
    });
    await createServer("team-a", "outage", "com.acme.team-a/outage", "Published after an outage", "1.0.0");
    const down = await settled("team-a", "outage", "RegistryUnavailable");
    assert.equal(condition(down, "Published")?.status, "False");
    assert.match(condition(down, "Ready")?.message ?? "", /retrying with backoff/);
    const started = Date.now();
    await sleep(6_000);
    const attempts =
      (await leader.metric("mcp_registry_controller_registry_requests_total", { outcome: "unavailable" })) -
      failedBefore;
    const window = (Date.now() - started + 1_000) / 1000;
    // Backoff from 250 ms doubling to 4 s: about 6 attempts in 7 s, not one per retry period or per millisecond.
    console.log(`      ${attempts} registry attempts in ${window.toFixed(1)} s of outage`);
    assert.ok(attempts >= 2 && attempts <= 10, `${attempts} attempts in ${window} s`);
    assert.ok(
      (await leader.metric("mcp_registry_controller_reconcile_failures_total", {
        reason: "RegistryUnavailable",
      })) >= 2,
    );
    registry = await startRegistry(registryEnvironment, registry.port);
    const up = await settled("team-a", "outage", "Published");
    assert.equal(condition(up, "Published")?.status, "True");
    assert.equal((await official("com.acme.team-a/outage", "1.0.0"))?.status, "active");
  });

  it("runs two replicas with one leader, never double-publishes, and fails over", async () => {
    standby = await startController(cluster, registry.url, "replica-b");
    await sleep(3_000);
    assert.equal(await leader.metric("mcp_registry_controller_leader"), 1);
    assert.equal(await standby.metric("mcp_registry_controller_leader"), 0);
    const publishes = async () =>
      (await leader.metric("mcp_registry_controller_registry_requests_total", { operation: "publish" })) +
      (standby === undefined
        ? 0
        : await standby.metric("mcp_registry_controller_registry_requests_total", { operation: "publish" }));
    const [success0, rejected0, calls0] = [
      await registryMetric("success"),
      await registryMetric("rejected"),
      await publishes(),
    ];
    const names = ["alpha", "bravo", "charlie", "delta", "echo"];
    for (const name of names) {
      await create(
        mcpServer("team-b", name, {
          name: `com.acme.team-b/${name}`,
          description: `Server ${name}`,
          version: "1.0.0",
        }),
      );
    }
    for (const name of names) await settled("team-b", name, "Published");
    // Both replicas watch and resync; only the leader writes: one publish each, none refused as a duplicate.
    await sleep(3_000);
    assert.equal((await registryMetric("success")) - success0, names.length);
    assert.equal((await registryMetric("rejected")) - rejected0, 0);
    assert.equal((await publishes()) - calls0, names.length);
    assert.equal(
      await standby.metric("mcp_registry_controller_registry_requests_total", { operation: "publish" }),
      0,
    );

    // The leader dies without releasing the lease: the standby takes over once it expires.
    await leader.stop("SIGKILL");
    const lease = await eventually(
      "replica-b holding the lease",
      async () => {
        const l = await cluster.client.json<{ spec: { holderIdentity?: string } }>(
          "GET",
          "/apis/coordination.k8s.io/v1/namespaces/mcp-registry-controller/leases/mcp-registry-controller",
        );
        return l.spec.holderIdentity === "replica-b" ? l : undefined;
      },
      60_000,
      logs,
    );
    assert.equal(lease.spec.holderIdentity, "replica-b");
    const success1 = await registryMetric("success");
    await createServer("team-b", "foxtrot", "com.acme.team-b/foxtrot", "After failover", "1.0.0");
    await settled("team-b", "foxtrot", "Published");
    await sleep(2_000);
    assert.equal((await registryMetric("success")) - success1, 1);
    assert.equal((await registryMetric("rejected")) - rejected0, 0);
  });
});

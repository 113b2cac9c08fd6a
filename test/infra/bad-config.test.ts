import { strict as assert } from "node:assert";
import { loadProgramError, stackConfig, type ConfigOverrides, type StackName } from "../support/program";

/** The stack file's value of a structured key, changed by `edit`, as Pulumi would deliver it (JSON). */
function edited(
  stack: StackName,
  key: string,
  edit: (value: Record<string, unknown>) => void,
): ConfigOverrides {
  const value = JSON.parse(stackConfig(stack)[`mcp-registry:${key}`]!) as Record<string, unknown>;
  edit(value);
  return { [`mcp-registry:${key}`]: JSON.stringify(value) };
}

function message(...problems: string[]): string {
  return `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems
    .map((p) => `  ${p}`)
    .join("\n")}`;
}

describe("infra: bad configuration fails before any resource, naming the key", function () {
  this.timeout(60_000);

  it("a GKE stack without gcp:project", async () => {
    assert.equal(
      await loadProgramError("staging", { "gcp:project": undefined }),
      message("gcp:project: is required for a GKE stack ('pulumi config set gcp:project <project-id>')"),
    );
  });

  it("an unknown region", async () => {
    assert.equal(
      await loadProgramError("production", { "gcp:region": "europe-west99" }),
      message("gcp:region: unknown region 'europe-west99'"),
    );
  });

  it("a node zone outside the region", async () => {
    const overrides = edited("staging", "cluster", (c) => {
      c.nodeZones = ["us-east1-b"];
    });
    assert.equal(
      await loadProgramError("staging", overrides),
      message("mcp-registry:cluster.nodeZones[0]: zone 'us-east1-b' is not in region europe-west1"),
    );
  });

  it("zero replicas", async () => {
    const overrides = edited("local", "gateway", (g) => {
      g.replicas = 0;
    });
    assert.equal(
      await loadProgramError("local", overrides),
      message("mcp-registry:gateway.replicas: must be at least 1"),
    );
  });

  it("a secret-looking key stored in plain text", async () => {
    assert.equal(
      await loadProgramError("local", {}, { plaintextKeys: ["mcp-registry:githubClientSecret"] }),
      message(
        "mcp-registry:githubClientSecret: looks like a secret but is stored in plain text; set it with 'pulumi config set --secret githubClientSecret'",
      ),
    );
  });

  it("production without Secrets encryption or deletion protection", async () => {
    const overrides = edited("production", "cluster", (c) => {
      c.secretsEncryption = false;
      c.deletionProtection = false;
    });
    assert.equal(
      await loadProgramError("production", overrides),
      message(
        "mcp-registry:cluster.secretsEncryption: must be true in production",
        "mcp-registry:cluster.deletionProtection: must be true in production",
      ),
    );
  });

  it("a control plane open to no authorized network", async () => {
    const overrides = edited("staging", "cluster", (c) => {
      c.masterAuthorizedNetworks = [];
    });
    assert.equal(
      await loadProgramError("staging", overrides),
      message(
        "mcp-registry:cluster.masterAuthorizedNetworks: must list at least one network (the control plane is never open to 0.0.0.0/0)",
      ),
    );
  });

  it("MinIO on a GKE stack", async () => {
    assert.equal(
      await loadProgramError("staging", {
        "mcp-registry:objectStore": JSON.stringify({ kind: "minio", storageSize: "10Gi" }),
      }),
      message("mcp-registry:objectStore.kind: must be gcs on a gke cluster"),
    );
  });

  it("a bucket lifecycle that would delete backups Barman still keeps", async () => {
    const overrides = edited("production", "objectStore", (o) => {
      o.deleteAfterDays = 30;
    });
    assert.equal(
      await loadProgramError("production", overrides),
      message("mcp-registry:objectStore.deleteAfterDays: must be greater than backup.retentionDays (30)"),
    );
  });

  it("a Grafana host the Gateway does not serve", async () => {
    const overrides = edited("local", "monitoring", (m) => {
      m.grafanaHost = "grafana.example.org";
    });
    assert.equal(
      await loadProgramError("local", overrides),
      message("mcp-registry:monitoring.grafanaHost: 'grafana.example.org' is not one of gateway.hosts"),
    );
  });
});

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { archivePath } from "../../infra/platform/chart-archive";
import { charts as pinned } from "../../infra/versions";
import {
  loadProgramError,
  repoRoot,
  stackConfig,
  type ConfigOverrides,
  type StackName,
} from "../support/program";

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

  it("an air-gapped chart folder that is missing, or holds another version than the pin", async () => {
    const charts = (source: unknown) => ({ "mcp-registry:charts": JSON.stringify({ source }) });
    const nowhere = path.join(os.tmpdir(), "no-such-chart-folder");
    assert.equal(
      await loadProgramError("local", charts({ kind: "directory", path: nowhere })),
      message(`mcp-registry:charts.source.path: folder ${nowhere} does not exist`),
    );
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "charts-"));
    const all = Object.values(pinned);
    try {
      // Every archive present except K8up, which is another version under the pinned version's file name.
      const shared = path.resolve(repoRoot, "..", "shared", "charts");
      for (const chart of all) {
        const source =
          chart.chart === "k8up" ? path.join(shared, "cert-manager-v1.21.1.tgz") : archivePath(shared, chart);
        if (fs.existsSync(source)) fs.copyFileSync(source, archivePath(folder, chart));
      }
      const problems = all.map((chart) => archivePath(folder, chart)).filter((f) => !fs.existsSync(f));
      if (problems.length > 0) return; // ../shared/charts is absent here; the pins test says so
      assert.equal(
        await loadProgramError("local", charts({ kind: "directory", path: folder })),
        message(
          `mcp-registry:charts.source.path: ${archivePath(folder, pinned.k8up)} holds cert-manager v1.21.1, but k8up ${pinned.k8up.version} is pinned`,
        ),
      );
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it("a chart source of an unknown kind, or an OCI mirror that is not an oci:// URL", async () => {
    const charts = (source: unknown) => ({ "mcp-registry:charts": JSON.stringify({ source }) });
    assert.equal(
      await loadProgramError("staging", charts({ kind: "s3" })),
      message("mcp-registry:charts.source.kind: kind must be one of repository, directory, oci"),
    );
    assert.equal(
      await loadProgramError(
        "staging",
        charts({ kind: "oci", baseUrl: "https://mirror.example.com/charts" }),
      ),
      message(
        "mcp-registry:charts.source.baseUrl: must be an oci:// URL such as oci://europe-west1-docker.pkg.dev/<project>/charts",
      ),
    );
  });

  it("a category taxonomy the registry would refuse at start, or that is missing", async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "taxonomy-"));
    try {
      const withFile = (file: string) =>
        edited("local", "registry", (r) => {
          r.categoriesFile = file;
        });
      const bad = path.join(folder, "categories.yaml");
      fs.writeFileSync(
        bad,
        "- id: Payments\n  title: Payments\n  description: Money.\n- id: payments\n  title: ''\n  description: x\n",
      );
      assert.equal(
        await loadProgramError("local", withFile(bad)),
        message(
          "mcp-registry:registry.categoriesFile: categories[0].id: must be lower-case letters and digits in words joined by single hyphens",
          "mcp-registry:registry.categoriesFile: categories[1].title: must not be empty",
        ),
      );
      const missing = path.join(folder, "absent.yaml");
      assert.equal(
        await loadProgramError("local", withFile(missing)),
        message(`mcp-registry:registry.categoriesFile: cannot read ${missing} (ENOENT)`),
      );
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
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

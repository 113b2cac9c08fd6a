// Every object of each stack, the program's own and every chart-rendered one, applied to a real kube-apiserver
// (with the controller manager, so workloads create Pods and Pod Security Admission judges them). What this proves
// and what it cannot (no kubelet, no webhooks, no cloud) is in README.md, "Set up and test".
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startControlPlane, type ControlPlane } from "../cluster/control-plane";
import type { KubeObject } from "../cluster/kube-client";
import { repoRoot, stackNames } from "../support/program";
import { admitPods, applyStack } from "./apply";
import { SHARED_CHARTS, requireSharedCharts, requireToolchain } from "./fixtures";
import { crdApiVersions } from "./render";
import { chartStack, clusterObjects } from "./stack";

const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1);

/** A node object with no kubelet behind it, so DaemonSets have somewhere to create their Pods. */
const NODE = {
  apiVersion: "v1",
  kind: "Node",
  metadata: {
    name: "test-node-a",
    labels: {
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      "kubernetes.io/hostname": "test-node-a",
      "topology.kubernetes.io/zone": "zone-a",
    },
  },
};

/** The registry Deployment under another name with a privileged container: what PSA restricted must refuse. */
function weakenedCopy(registry: KubeObject): KubeObject {
  const spec = structuredClone(registry.spec) as {
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Record<string, unknown>[] };
    };
  };
  const labels = { "app.kubernetes.io/name": "weakened-registry" };
  spec.selector = { matchLabels: labels };
  spec.template.metadata.labels = labels;
  const container = spec.template.spec.containers[0]!;
  container.securityContext = {
    ...(container.securityContext as object),
    privileged: true,
    allowPrivilegeEscalation: true,
  };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "weakened-registry", namespace: registry.metadata.namespace },
    spec,
  };
}

describe("charts: each stack applied to a real API server", function () {
  this.timeout(1_200_000);
  let binDir = "";
  before(function () {
    requireSharedCharts(this);
    binDir = requireToolchain(this);
  });

  for (const stack of stackNames) {
    it(`${stack}: every object is accepted and every workload's Pods are admitted under their namespace's PSA level`, async () => {
      const started = Date.now();
      const chart = await chartStack(stack, path.join(binDir, "helm"));
      const rendered = Date.now();
      let plane: ControlPlane | undefined;
      try {
        plane = await startControlPlane({
          dir: fs.mkdtempSync(path.join(os.tmpdir(), `control-plane-${stack}-`)),
          binDir,
        });
        const up = Date.now();
        await plane.client.create(NODE);
        const applied = await applyStack(plane.client, clusterObjects(chart));
        // The charts were rendered with exactly the API versions this server now serves.
        const served = new Set(await plane.client.apiVersions());
        const assumed = crdApiVersions(chart.rendered).filter((v) => v.split("/").length === 2);
        assert.deepEqual(
          assumed.filter((v) => !served.has(v)),
          [],
          "rendered with API versions the server lacks",
        );
        const pods = await admitPods(plane.client, applied.workloads);
        const total = Object.values(applied.appliedByKind).reduce((a, b) => a + b, 0);
        const kinds = Object.entries(applied.appliedByKind)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([kind, n]) => `${kind} ${n}`)
          .join(", ");
        console.log(
          [
            `      ${stack}: ${total} objects applied, ${applied.rejections.length} rejections, ` +
              `${pods.admitted} Pods admitted for ${applied.workloads.length} workloads ` +
              `(${pods.jobsFromCronJobs} CronJobs run once); render ${seconds(started, rendered)} s, control ` +
              `plane start ${seconds(rendered, up)} s, apply and admission ${seconds(up, Date.now())} s`,
            `        by kind: ${kinds}`,
            `        left out (${applied.leftOut.length}): webhook configurations and APIServices, which have no backend here`,
          ].join("\n"),
        );
        assert.deepEqual(applied.rejections, []);
        assert.deepEqual(pods.failures, []);
        assert.ok(pods.admitted >= applied.workloads.length - pods.jobsFromCronJobs);

        // The same check fails when it should: the registry Deployment made privileged is refused by PSA.
        const registry = applied.workloads.find(
          (w) => w.kind === "Deployment" && w.metadata.name === "registry",
        );
        assert.ok(registry, "the registry Deployment was applied");
        const weakened = weakenedCopy(registry);
        await plane.client.apply(weakened);
        const refused = await admitPods(plane.client, [weakened], 30_000);
        assert.equal(refused.failures.length, 1, "the privileged Pod was admitted");
        assert.match(refused.failures.join("\n"), /violates PodSecurity "restricted:latest": privileged/);
      } finally {
        await plane?.stop();
      }
    });
  }

  it("scripts/upgrade-crds.sh applies the crds/ folders Helm never upgrades, idempotently", async () => {
    const plane = await startControlPlane({
      dir: fs.mkdtempSync(path.join(os.tmpdir(), "control-plane-crds-")),
      binDir,
      controllers: false,
    });
    try {
      const run = (...args: string[]) =>
        spawnSync(path.join(repoRoot, "scripts", "upgrade-crds.sh"), args, {
          encoding: "utf8",
          env: { ...process.env, PATH: `${binDir}:${process.env.PATH}`, KUBECONFIG: plane.kubeconfigPath },
        });
      for (let round = 1; round <= 2; round++) {
        const result = run("--charts-dir", SHARED_CHARTS);
        assert.equal(result.status, 0, `round ${round}: ${result.stdout}${result.stderr}`);
      }
      const crds = await plane.client.list("apiextensions.k8s.io/v1", "CustomResourceDefinition");
      const names = crds.map((c) => c.metadata.name);
      for (const expected of [
        "schedules.k8up.io",
        "nginxproxies.gateway.nginx.org",
        "prometheuses.monitoring.coreos.com",
      ])
        assert.ok(names.includes(expected), `${expected} missing; applied: ${names.join(", ")}`);
      const missing = run("--charts-dir", path.join(SHARED_CHARTS, "nowhere"));
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /--charts-dir .*nowhere is not a folder/);
    } finally {
      await plane.stop();
    }
  });
});

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
import { GUARDED_POLICIES } from "../../policies/src/core/admission";
import { repoRoot, stackConfig, stackNames, type StackName } from "../support/program";
import { deployment, goodContainer, waitForGuardrails } from "../guardrails/support";
import { admitPods, applyStack } from "./apply";
import { SHARED_CHARTS, requireSharedCharts, requireToolchain } from "./fixtures";
import { crdApiVersions } from "./render";
import { chartStack, clusterObjects } from "./stack";

const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1);

/** The stack's guardrails mode, from its stack file (production denies). */
function guardrailMode(stack: StackName): "audit" | "deny" {
  const raw = stackConfig(stack)["mcp-registry:guardrails"];
  return raw !== undefined && (JSON.parse(raw) as { admission?: string }).admission === "deny"
    ? "deny"
    : "audit";
}

/** A Deployment in the registry's namespace that breaks every guarded rule: privileged, host PID, root, ... */
function badDeployment(): KubeObject {
  const container = {
    ...goodContainer("shell", "docker.io/library/busybox:latest"),
    resources: undefined,
    securityContext: { privileged: true, runAsUser: 0 },
  };
  return deployment("hand-made", "mcp-registry", { hostPID: true, containers: [container] });
}

/** `kubectl apply -f` of one object, as an SRE would run it; stdout and stderr together. */
function kubectlApply(
  binDir: string,
  kubeconfig: string,
  object: KubeObject,
): { status: number | null; output: string } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kubectl-")), "bad.json");
  fs.writeFileSync(file, JSON.stringify(object));
  const result = spawnSync(path.join(binDir, "kubectl"), ["apply", "-f", file], {
    encoding: "utf8",
    env: { ...process.env, KUBECONFIG: kubeconfig },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

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
        const mode = guardrailMode(stack);
        // Workloads are applied only once the stack's own admission policies are enforced, so they judge them.
        const applied = await applyStack(plane.client, clusterObjects(chart), () =>
          waitForGuardrails(plane!.client, "mcp-registry", mode),
        );
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
        // Every object passes the in-cluster guardrails too: no denial above, and no warning in Warn mode.
        const namespaces = applied.appliedByKind.Namespace ?? 0;
        assert.equal(applied.appliedByKind.ValidatingAdmissionPolicy, GUARDED_POLICIES.length);
        assert.equal(
          applied.appliedByKind.ValidatingAdmissionPolicyBinding,
          GUARDED_POLICIES.length * namespaces,
        );
        assert.deepEqual(
          plane.client.warnings.filter((w) => /mcp-registry-/.test(w.text)),
          [],
          "a program or chart object was warned about by the guardrails",
        );
        assert.ok(pods.admitted >= applied.workloads.length - pods.jobsFromCronJobs);

        // The same checks fail when they should: the registry Deployment made privileged is refused, in production
        // by the guardrails already at the Deployment, elsewhere by PSA at its Pod (the guardrails only warn there).
        const registry = applied.workloads.find(
          (w) => w.kind === "Deployment" && w.metadata.name === "registry",
        );
        assert.ok(registry, "the registry Deployment was applied");
        const weakened = weakenedCopy(registry);
        if (mode === "deny") {
          await assert.rejects(
            plane.client.apply(weakened),
            /ValidatingAdmissionPolicy 'mcp-registry-pods-no-privileged' .*denied request/,
          );
        } else {
          await plane.client.apply(weakened);
          const refused = await admitPods(plane.client, [weakened], 30_000);
          assert.equal(refused.failures.length, 1, "the privileged Pod was admitted");
          assert.match(refused.failures.join("\n"), /violates PodSecurity "restricted:latest": privileged/);
        }

        // A bad Deployment applied by hand with kubectl, outside Pulumi: refused in production, warned about elsewhere.
        const bad = kubectlApply(binDir, plane.kubeconfigPath, badDeployment());
        const named = GUARDED_POLICIES.filter((p) => bad.output.includes(`mcp-registry-${p}'`));
        console.log(
          `        kubectl apply of a bad Deployment (${mode}): exit ${bad.status}, policies named: ${named.join(", ")}`,
        );
        if (mode === "deny") {
          assert.notEqual(bad.status, 0, bad.output);
          assert.match(bad.output, /denied request/);
        } else {
          assert.equal(bad.status, 0, bad.output);
          assert.match(bad.output, /Warning: Validation failed for ValidatingAdmissionPolicy 'mcp-registry-/);
        }
        assert.ok(named.length >= 1, bad.output);
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

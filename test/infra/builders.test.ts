import { strict as assert } from "node:assert";
import * as k8s from "@pulumi/kubernetes";
import { chartReference } from "../../infra/platform/chart-archive";
import { allow, namespacePeer, tcp } from "../../infra/platform/network";
import { containerSecurity, podDisruptionBudget, podSecurity, sizing } from "../../infra/platform/values";
import { capture } from "./capture";
import { object, stackRun } from "./runs";

describe("infra: platform builders", function () {
  this.timeout(60_000);

  it("points charts at their repository, a folder of archives, or an OCI mirror (charts.source)", () => {
    const ngf = { chart: "nginx-gateway-fabric", repo: "oci://ghcr.io/nginx/charts", version: "2.2.2" };
    const k8up = { chart: "k8up", repo: "https://k8up-io.github.io/k8up", version: "4.8.7" };
    const repository = { kind: "repository" } as const;
    assert.deepEqual(chartReference(ngf, repository), {
      chart: "oci://ghcr.io/nginx/charts/nginx-gateway-fabric",
    });
    assert.deepEqual(chartReference(k8up, repository), {
      chart: "k8up",
      repositoryOpts: { repo: "https://k8up-io.github.io/k8up" },
    });
    assert.deepEqual(chartReference(k8up, { kind: "directory", path: "/srv/charts" }), {
      chart: "/srv/charts/k8up-4.8.7.tgz",
    });
    assert.deepEqual(chartReference(ngf, { kind: "oci", baseUrl: "oci://mirror.example.com/charts/" }), {
      chart: "oci://mirror.example.com/charts/nginx-gateway-fabric",
    });
  });

  it("hardens chart workloads: restricted security contexts, requests with a memory limit, PDB only when replicated", () => {
    assert.deepEqual(podSecurity(), { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    assert.deepEqual(containerSecurity(), {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.deepEqual(sizing({ cpu: "50m", memory: "64Mi", memoryLimit: "128Mi" }), {
      requests: { cpu: "50m", memory: "64Mi" },
      limits: { memory: "128Mi" },
    });
    assert.deepEqual(podDisruptionBudget(1), { enabled: false });
    assert.deepEqual(podDisruptionBudget(2), { enabled: true, minAvailable: 1 });
  });

  it("builds additive NetworkPolicies and refuses an empty one", async () => {
    const { resources } = await capture(() => {
      const provider = new k8s.Provider("test", { context: "test" });
      allow(
        "p",
        {
          namespace: "a",
          name: "allow-x",
          podLabels: { app: "x" },
          ingress: [{ from: [namespacePeer("b")], ports: tcp(80, 443) }],
        },
        { provider },
      );
      assert.throws(
        () => allow("q", { namespace: "a", name: "nothing" }, { provider }),
        /NetworkPolicy nothing: neither ingress nor egress given/,
      );
    });
    assert.deepEqual(object(resources, "NetworkPolicy", "allow-x", "a").inputs.spec, {
      podSelector: { matchLabels: { app: "x" } },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "b" } } }],
          ports: [
            { protocol: "TCP", port: 80 },
            { protocol: "TCP", port: 443 },
          ],
        },
      ],
    });
  });

  it("lets pods talk within a namespace only where a component needs it", async () => {
    const { resources } = await stackRun("local");
    for (const ns of ["gateway", "cnpg-system", "monitoring", "platform"])
      assert.deepEqual(object(resources, "NetworkPolicy", "allow-same-namespace", ns).inputs.spec.ingress, [
        { from: [{ podSelector: {} }] },
      ]);
    for (const ns of ["cert-manager", "k8up"])
      assert.equal(
        resources.filter(
          (r) => r.inputs.metadata?.name === "allow-same-namespace" && r.inputs.metadata?.namespace === ns,
        ).length,
        0,
        ns,
      );
  });
});

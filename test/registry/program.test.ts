import { strict as assert } from "node:assert";
import { DATABASE_CLUSTER_NAME, REGISTRY_NAMESPACE, RESTORE_DRILL_NAMESPACE } from "../../infra/data/naming";
import { schemaProblems } from "../support/k8s-schema";
import {
  runProgram,
  stackNames,
  type CapturedResource,
  type ProgramRun,
  type StackName,
} from "../support/program";

const expected: Record<
  StackName,
  { replicas: number; instances: number; retention: string; hpa: boolean; pooler: boolean }
> = {
  local: { replicas: 1, instances: 1, retention: "1d", hpa: false, pooler: false },
  staging: { replicas: 2, instances: 2, retention: "7d", hpa: true, pooler: false },
  production: { replicas: 3, instances: 3, retention: "30d", hpa: true, pooler: true },
};

function objects(run: ProgramRun, kind: string, namespace?: string): CapturedResource[] {
  return run.resources.filter(
    (r) =>
      r.type.startsWith("kubernetes:") &&
      r.type.endsWith(`:${kind}`) &&
      (namespace === undefined || r.inputs.metadata?.namespace === namespace),
  );
}

describe("registry: whole program under mocks", function () {
  this.timeout(120_000);
  const runs = new Map<StackName, ProgramRun>();
  before(async () => {
    for (const stack of stackNames) runs.set(stack, await runProgram(stack));
  });

  for (const stack of stackNames) {
    describe(stack, () => {
      const run = () => runs.get(stack)!;

      it("runs the whole program in under 5 s of CPU (a warm run; wall time varies with machine load)", async () => {
        const before = process.cpuUsage();
        const again = await runProgram(stack);
        const cpu = process.cpuUsage(before);
        const cpuMs = (cpu.user + cpu.system) / 1000;
        assert.ok(
          cpuMs < 5000,
          `used ${Math.round(cpuMs)} ms of CPU (${Math.round(again.elapsedMs)} ms wall)`,
        );
      });

      it("deploys the registry with the stack's replicas, hardened, behind the Gateway", () => {
        const [deployment] = objects(run(), "Deployment", REGISTRY_NAMESPACE);
        assert.ok(deployment, "a registry Deployment exists");
        assert.equal(deployment.inputs.spec.replicas, expected[stack].replicas);
        const pod = deployment.inputs.spec.template.spec;
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.equal(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
        assert.equal(pod.containers[0].readinessProbe.httpGet.path, "/readyz");
        if (stack !== "local") assert.match(pod.containers[0].image, /@sha256:[a-f0-9]{64}$/);
        assert.equal(
          objects(run(), "HorizontalPodAutoscaler", REGISTRY_NAMESPACE).length,
          expected[stack].hpa ? 1 : 0,
        );
        assert.equal(objects(run(), "PodDisruptionBudget", REGISTRY_NAMESPACE).length, 1);
        const [route] = objects(run(), "HTTPRoute", REGISTRY_NAMESPACE);
        assert.equal(route?.inputs.spec.parentRefs[0].sectionName, "https");
        const ns = objects(run(), "Namespace").find((r) => r.inputs.metadata.name === REGISTRY_NAMESPACE);
        assert.equal(ns?.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
      });

      it("runs the database with backups, retention, logical dumps and a restore drill", () => {
        const [cluster] = objects(run(), "Cluster", REGISTRY_NAMESPACE);
        assert.equal(cluster?.inputs.metadata.name, DATABASE_CLUSTER_NAME);
        assert.equal(cluster?.inputs.spec.instances, expected[stack].instances);
        assert.equal(
          objects(run(), "ObjectStore", REGISTRY_NAMESPACE)[0]?.inputs.spec.retentionPolicy,
          expected[stack].retention,
        );
        assert.equal(objects(run(), "ScheduledBackup", REGISTRY_NAMESPACE).length, 1);
        assert.equal(objects(run(), "Schedule", REGISTRY_NAMESPACE).length, 1);
        assert.equal(objects(run(), "Pooler", REGISTRY_NAMESPACE).length, expected[stack].pooler ? 1 : 0);
        const [drill] = objects(run(), "CronJob", RESTORE_DRILL_NAMESPACE);
        assert.equal(drill?.inputs.metadata.annotations["mcp-registry.io/drill-of"], DATABASE_CLUSTER_NAME);
      });

      it("alerts on the SLOs, backups and the restore drill", () => {
        const [rule] = objects(run(), "PrometheusRule", REGISTRY_NAMESPACE);
        const alerts = new Set(
          rule?.inputs.spec.groups.flatMap((g: { rules: { alert?: string }[] }) =>
            g.rules.map((r) => r.alert),
          ),
        );
        for (const name of [
          "RegistryAvailabilityBudgetBurn",
          "RegistryDatabaseBackupFailed",
          "RegistryRestoreDrillStale",
        ])
          assert.ok(alerts.has(name), name);
        assert.equal(objects(run(), "ServiceMonitor", REGISTRY_NAMESPACE).length, 1);
      });

      it("has narrow NetworkPolicies in the registry and drill namespaces", () => {
        for (const ns of [REGISTRY_NAMESPACE, RESTORE_DRILL_NAMESPACE]) {
          const policies = objects(run(), "NetworkPolicy", ns);
          assert.ok(
            policies.some((p) => p.inputs.metadata.name === "default-deny"),
            `${ns} denies by default`,
          );
          for (const p of policies)
            for (const rule of [...(p.inputs.spec.ingress ?? []), ...(p.inputs.spec.egress ?? [])])
              assert.ok(
                (rule.ports?.length ?? 0) > 0 || p.inputs.metadata.name.startsWith("allow-same"),
                `${ns}/${p.inputs.metadata.name} names ports in every rule`,
              );
        }
      });

      it("exports URLs, the database, the backup location and the image, and no secret", () => {
        const outputs = run().outputs;
        assert.deepEqual(
          outputs.registryUrls,
          expected[stack] && [
            `https://${stack === "local" ? "registry.mcp.localhost" : stack === "staging" ? "registry.staging.example.com" : "registry.example.com"}`,
          ],
        );
        assert.equal(outputs.databaseCluster, DATABASE_CLUSTER_NAME);
        assert.equal(typeof outputs.registryImage, "string");
        // Plain values only: the program also exports its component objects (cluster, platform, store).
        const values = Object.entries(outputs).filter(
          ([key, value]) =>
            !["kubeconfig", "grafanaAdminPassword"].includes(key) &&
            (typeof value !== "object" || value === null || Array.isArray(value)),
        );
        const plain = JSON.stringify(values);
        assert.ok(!plain.includes("PRIVATE KEY"), "no private key in outputs");
        assert.ok(!plain.includes("test-random-"), "no generated password in outputs");
      });

      it("creates only schema-valid Kubernetes objects", () => {
        assert.deepEqual(schemaProblems(run().resources), []);
      });
    });
  }
});

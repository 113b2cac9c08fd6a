import { strict as assert } from "node:assert";
import { kindsWithoutModel, schemaProblems } from "../support/k8s-schema";
import { stackNames } from "../support/program";
import { stackRun, warmUpSdks } from "./runs";

describe("infra: the whole program under mocks", function () {
  this.timeout(120_000);
  before(() => warmUpSdks());

  for (const stack of stackNames) {
    describe(stack, () => {
      // The 2-core machine is shared with other jobs, so the budget is checked on the CPU time this process spent;
      // wall-clock time is printed too and only bounded loosely (a hang, not a slow neighbour, fails it).
      it("runs to completion in under 5 s", async () => {
        const run = await stackRun(stack);
        const wall = Math.round(run.elapsedMs);
        const cpu = Math.round(run.cpuMs);
        console.log(
          `      ${stack}: ${run.resources.length} resources in ${wall} ms wall-clock, ${cpu} ms CPU`,
        );
        assert.ok(run.resources.length > 50, `only ${run.resources.length} resources`);
        assert.ok(cpu < 5000, `${stack} used ${cpu} ms of CPU`);
        assert.ok(wall < 15000, `${stack} took ${wall} ms`);
      });

      it("exports kubeconfig, gateway address, Grafana URL, backup location and image repository", async () => {
        const { outputs } = await stackRun(stack);
        const gke = stack !== "local";
        assert.equal(outputs.environment, stack);
        assert.equal(typeof outputs.kubeconfig, "string");
        assert.equal(typeof outputs.backupLocation, "string");
        assert.match(String(outputs.backupLocation), gke ? /^gs:\/\/mcp-registry-/ : /^s3:\/\/backups /);
        assert.match(String(outputs.grafanaUrl), /^https:\/\/grafana\./);
        assert.equal(typeof outputs.grafanaAdminPassword, "string");
        if (gke) {
          assert.equal(outputs.gatewayAddress, "203.0.113.10");
          assert.equal(
            outputs.imageRepository,
            `europe-west1-docker.pkg.dev/mcp-registry-${stack}/mcp-registry`,
          );
          assert.match(String(outputs.kubeconfig), /command: gke-gcloud-auth-plugin/);
          assert.equal(outputs.localCaCertificate, undefined);
        } else {
          assert.equal(outputs.gatewayAddress, undefined);
          assert.equal(outputs.imageRepository, undefined);
          assert.match(String(outputs.localCaCertificate), /BEGIN CERTIFICATE/);
        }
      });

      it("creates only Kubernetes objects that are valid against their schemas", async () => {
        const { resources } = await stackRun(stack);
        assert.deepEqual(schemaProblems(resources), []);
        const unchecked = kindsWithoutModel(resources);
        if (unchecked.length > 0) console.log(`      not schema-checked (no model): ${unchecked.join(", ")}`);
      });
    });
  }
});

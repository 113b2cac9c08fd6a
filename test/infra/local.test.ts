import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { MinikubeCluster } from "../../infra/cluster/minikube";
import { findResource } from "../support/program";
import { capture, outputOf } from "./capture";
import { ofProvider, stackRun } from "./runs";

describe("infra: local (Minikube)", function () {
  this.timeout(60_000);

  it("creates no cloud resources", async () => {
    const { resources } = await stackRun("local");
    assert.deepEqual(
      ofProvider(resources, "gcp:").map((r) => r.type),
      [],
    );
  });

  it("talks to the configured Minikube context, never the current one", async () => {
    const { resources } = await stackRun("local");
    const provider = findResource(resources, "pulumi:providers:kubernetes", "local-k8s");
    assert.equal(provider.inputs.context, "minikube");
    assert.equal(provider.inputs.kubeconfig, undefined);
    const k8sResources = resources.filter((r) => r.type.startsWith("kubernetes:"));
    assert.ok(
      k8sResources.every((r) => r.opts.provider?.includes("local-k8s")),
      "every object uses the provider",
    );
  });

  it("exports that context's flattened kubeconfig as a secret", async () => {
    const kubeconfig = "apiVersion: v1\nkind: Config\ncurrent-context: dev\n";
    const { result, calls } = await capture(
      () =>
        new MinikubeCluster("local", {
          settings: { kind: "minikube", context: "dev's", storageClass: "standard" },
        }),
      "test",
      (args) => (args.token === "command:local:run" ? { stdout: kubeconfig, stderr: "" } : args.inputs),
    );
    const run = calls.find((c) => c.token === "command:local:run");
    assert.equal(run?.inputs.command, "kubectl config view --minify --flatten --context='dev'\\''s'");
    assert.equal(await outputOf(result.kubeconfig), kubeconfig);
    assert.equal(await pulumi.isSecret(result.kubeconfig), true);
    assert.equal(result.storageClass, "standard");
    assert.equal(result.imageRepository, undefined);
  });
});

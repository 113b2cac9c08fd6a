// Loads policies/ the way `pulumi preview --policy-pack policies` does (the Node.js language host's
// run-policy-pack runner, which compiles the TypeScript pack with ts-node) and talks to it over the analyzer
// gRPC protocol: the pack must start, describe every policy, take a stack's config and report violations.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerproto from "@pulumi/pulumi/proto/analyzer_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import type * as grpcTypes from "@grpc/grpc-js";
import { policies } from "../../policies/src/policies";
import { repoRoot } from "../support/program";
import { deploymentProps, hardenedContainer, hardenedPodSpec } from "./fixtures";
import { packConfig } from "./support";

const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
// gRPC comes with @pulumi/pulumi; load the same copy its generated client uses.
const grpc = createRequire(path.join(pulumiDir, "package.json"))(
  "@grpc/grpc-js",
) as typeof import("@grpc/grpc-js");

type Callback<Res> = (err: grpcTypes.ServiceError | null, res: Res) => void;

function call<Res>(invoke: (callback: Callback<Res>) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke((err, res) => (err ? reject(err) : resolve(res)));
  });
}

function startPack(): Promise<{ child: ChildProcess; port: number }> {
  const runner = path.join(pulumiDir, "cmd", "run-policy-pack");
  // The first argument is the engine address; a policy pack never calls it.
  const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], {
    cwd: path.join(repoRoot, "policies"),
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const port = /^(\d+)\s*$/m.exec(stdout)?.[1];
      if (port !== undefined) resolve({ child, port: Number(port) });
    });
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) =>
      reject(new Error(`the policy pack exited (${code}) before serving:\n${stderr}${stdout}`)),
    );
  });
}

function resourceOptions(): analyzerproto.AnalyzerResourceOptions {
  const options = new analyzerproto.AnalyzerResourceOptions();
  options.setProtect(false);
  return options;
}

describe("policy pack runtime: loaded as the Pulumi CLI loads it", function () {
  this.timeout(240_000);
  let child: ChildProcess | undefined;
  let client: AnalyzerClient;

  before(async () => {
    const started = await startPack();
    child = started.child;
    client = new AnalyzerClient(`127.0.0.1:${started.port}`, grpc.credentials.createInsecure());
  });

  after(() => {
    client?.close();
    if (child?.pid !== undefined && child.exitCode === null) child.kill();
  });

  it("describes every policy with its severity, remediation and controls", async () => {
    const info = await call<analyzerproto.AnalyzerInfo>((cb) =>
      client.getAnalyzerInfo(new emptyproto.Empty(), cb),
    );
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "policies", "package.json"), "utf8")) as {
      version: string;
    };
    assert.equal(info.getName(), "mcp-registry-policies");
    assert.equal(info.getVersion(), pkg.version);
    const served = info.getPoliciesList();
    assert.deepEqual(
      served.map((p) => p.getName()),
      policies.map((p) => p.name),
    );
    for (const policy of served) {
      assert.notEqual(
        policy.getSeverity(),
        analyzerproto.PolicySeverity.POLICY_SEVERITY_UNSPECIFIED,
        policy.getName(),
      );
      assert.ok(policy.getRemediationSteps().length > 0, policy.getName());
      assert.ok(policy.getTagsList().length >= 2, policy.getName());
    }
  });

  it("takes the staging config and reports a root container as a mandatory violation", async () => {
    const configure = new analyzerproto.ConfigureAnalyzerRequest();
    for (const [name, { enforcementLevel, ...options }] of Object.entries(packConfig("staging"))) {
      const config = new analyzerproto.PolicyConfig();
      config.setEnforcementlevel(
        enforcementLevel === "advisory"
          ? analyzerproto.EnforcementLevel.ADVISORY
          : analyzerproto.EnforcementLevel.MANDATORY,
      );
      config.setProperties(
        structproto.Struct.fromJavaScript(options as Record<string, structproto.JavaScriptValue>),
      );
      configure.getPolicyconfigMap().set(name, config);
    }
    await call<emptyproto.Empty>((cb) => client.configure(configure, cb));

    const root = hardenedContainer("registry");
    Object.assign(root.securityContext as Record<string, unknown>, { runAsNonRoot: false, runAsUser: 0 });
    const request = new analyzerproto.AnalyzeRequest();
    request.setType("kubernetes:apps/v1:Deployment");
    request.setName("registry-deployment");
    request.setUrn("urn:pulumi:staging::mcp-registry::kubernetes:apps/v1:Deployment::registry-deployment");
    request.setProperties(
      structproto.Struct.fromJavaScript(
        deploymentProps(hardenedPodSpec([root])) as Record<string, structproto.JavaScriptValue>,
      ),
    );
    request.setOptions(resourceOptions());
    const response = await call<analyzerproto.AnalyzeResponse>((cb) => client.analyze(request, cb));
    const found = response
      .getDiagnosticsList()
      .map((d) => [d.getPolicyname(), d.getEnforcementlevel(), d.getMessage().split("\n").pop()]);
    assert.deepEqual(found, [
      [
        "pods-run-as-non-root",
        analyzerproto.EnforcementLevel.MANDATORY,
        'container "registry" may run as root (runAsNonRoot is false)',
      ],
      [
        "pods-run-as-non-root",
        analyzerproto.EnforcementLevel.MANDATORY,
        'container "registry" sets runAsUser: 0',
      ],
    ]);
  });

  it("runs stack policies over the whole stack", async () => {
    const resource = new analyzerproto.AnalyzerResource();
    resource.setType("kubernetes:core/v1:Namespace");
    resource.setName("open-ns");
    resource.setUrn("urn:pulumi:staging::mcp-registry::kubernetes:core/v1:Namespace::open-ns");
    resource.setProperties(structproto.Struct.fromJavaScript({ metadata: { name: "open" } }));
    resource.setOptions(resourceOptions());
    const request = new analyzerproto.AnalyzeStackRequest();
    request.setResourcesList([resource]);
    const response = await call<analyzerproto.AnalyzeResponse>((cb) => client.analyzeStack(request, cb));
    const found = response.getDiagnosticsList().map((d) => [d.getPolicyname(), d.getUrn()]);
    const onNamespace = found.filter(([, urn]) => urn === resource.getUrn()).map(([policy]) => policy);
    // The namespace has neither a default deny nor the guardrails' bindings; stack-wide findings (no admission
    // policy, no ExternalSecret in a cloud stack) name no resource.
    assert.deepEqual(onNamespace.sort(), ["guardrails-admission-policies", "stack-namespace-default-deny"]);
  });
});

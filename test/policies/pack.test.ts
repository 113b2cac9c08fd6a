import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerproto from "@pulumi/pulumi/proto/analyzer_pb";
import { parse as parseYaml } from "yaml";
import { exemptions } from "../../policies/exemptions";
import { dispose, validateExemptions, type Exemption } from "../../policies/src/core/exemption";
import { readConfig } from "../../policies/src/core/policy";
import { resolveFromPack } from "../../policies/src/core/secrets";
import { policies, policySubjects } from "../../policies/src/policies";
import { repoRoot, stackNames } from "../support/program";
import { packConfig } from "./support";

const policiesDir = path.join(repoRoot, "policies");
const SEVERITIES = new Set(["low", "medium", "high", "critical"]);
const TYPE_TOKEN = /^[a-z0-9-]+:[A-Za-z0-9./-]*:[A-Za-z0-9]+$/;

describe("policy pack: metadata", () => {
  it("has unique, valid policy names and every policy in exactly one subject", () => {
    const names = policies.map((p) => p.name);
    assert.equal(new Set(names).size, names.length, "duplicate policy names");
    for (const name of names) assert.match(name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.ok(!names.includes("all"), '"all" is reserved by CrossGuard');
    assert.deepEqual(
      policySubjects.map((s) => s.subject),
      [
        "Images",
        "Pods",
        "Availability",
        "Network",
        "RBAC",
        "Custom resources",
        "Data protection",
        "GKE",
        "Secrets",
        "Guardrails",
        "Stack",
      ],
    );
    assert.equal(policySubjects.flatMap((s) => s.policies).length, policies.length);
  });

  it("gives every policy a description, severity, category, remediation steps, controls and scope", () => {
    for (const policy of policies) {
      assert.ok(policy.description.length >= 40, `${policy.name}: description too short`);
      assert.ok(SEVERITIES.has(policy.severity), `${policy.name}: severity`);
      assert.ok(
        policy.category === "security" || policy.category === "availability",
        `${policy.name}: category`,
      );
      assert.ok(policy.remediationSteps.length >= 20, `${policy.name}: remediation steps`);
      assert.ok(policy.controls.length >= 1, `${policy.name}: no external control`);
      for (const control of policy.controls)
        assert.ok(control.id.trim() !== "", `${policy.name}: empty control id`);
      for (const type of policy.appliesTo) assert.match(type, TYPE_TOKEN, `${policy.name}: ${type}`);
      if (policy.kind === "resource")
        assert.ok(policy.appliesTo.length > 0, `${policy.name}: resource policy without types`);
      for (const [key] of Object.entries(policy.configFields)) {
        assert.ok(
          policy.configSchema?.properties[key]?.default !== undefined,
          `${policy.name}: ${key} has no schema default`,
        );
      }
    }
  });

  it("is built into a PolicyPack only by policies/index.ts, from the exported list", () => {
    const sources = fs
      .readdirSync(path.join(policiesDir, "src"), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".ts"));
    for (const file of sources) {
      const text = fs.readFileSync(path.join(policiesDir, "src", file), "utf8");
      assert.ok(!/new PolicyPack\b/.test(text), `${file} constructs a PolicyPack`);
      assert.ok(!/from "\.\.\/\.\.\/(infra|test)\//.test(text), `${file} imports program or test modules`);
    }
    const index = fs.readFileSync(path.join(policiesDir, "index.ts"), "utf8");
    assert.match(index, /new PolicyPack\("mcp-registry-policies"/);
    assert.match(index, /from "\.\/src\/policies"/);
  });

  it("is a loadable Node.js policy pack with a report script", () => {
    const project = parseYaml(fs.readFileSync(path.join(policiesDir, "PulumiPolicy.yaml"), "utf8")) as {
      runtime: unknown;
    };
    assert.equal(project.runtime, "nodejs");
    const pkg = JSON.parse(fs.readFileSync(path.join(policiesDir, "package.json"), "utf8")) as {
      main: string;
      version: string;
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
    };
    assert.equal(pkg.main, "index.ts");
    assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
    assert.ok(pkg.scripts.report, "no report script");
    for (const [name, version] of Object.entries(pkg.dependencies))
      assert.match(version, /^\d+\.\d+\.\d+$/, `${name} is not pinned`);
  });
});

describe("policy pack: per-stack enforcement config", () => {
  for (const stack of stackNames) {
    it(`${stack}: lists every policy once, at the level its category requires, with valid options`, () => {
      const config = packConfig(stack);
      assert.deepEqual(Object.keys(config).sort(), policies.map((p) => p.name).sort());
      for (const policy of policies) {
        const { enforcementLevel, ...options } = config[policy.name] ?? {};
        const expected = stack === "local" && policy.category === "availability" ? "advisory" : "mandatory";
        assert.equal(enforcementLevel, expected, `${stack}: ${policy.name}`);
        assert.doesNotThrow(() => readConfig(policy.name, policy.configFields, options));
      }
      for (const name of ["secrets-stack-config-encrypted", "secrets-kubernetes-secret-source"]) {
        const file = config[name]?.stackConfigFile;
        assert.equal(typeof file, "string");
        assert.ok(fs.existsSync(resolveFromPack(file as string)), `${stack}: ${String(file)} does not exist`);
      }
    });
  }

  it("sets the retention and protection minimums the environments promise", () => {
    const option = (stack: (typeof stackNames)[number], policy: string, key: string) =>
      packConfig(stack)[policy]?.[key];
    assert.deepEqual(
      stackNames.map((s) => option(s, "data-backup-retention", "minRetentionDays")),
      [1, 7, 30],
    );
    assert.deepEqual(
      stackNames.map((s) => option(s, "availability-cnpg-instances", "minInstances")),
      [1, 2, 3],
    );
    assert.deepEqual(
      stackNames.map((s) => option(s, "data-stateful-resources-protected", "requireProtection")),
      [false, false, true],
    );
    assert.deepEqual(
      stackNames.map((s) => option(s, "gke-secrets-encryption", "requireSecretsEncryption")),
      [false, false, true],
    );
  });

  it("rejects a wrong option with a message naming the policy and key", () => {
    const policy = policies.find((p) => p.name === "data-backup-retention");
    assert.ok(policy);
    assert.throws(() => readConfig(policy.name, policy.configFields, { minRetentionDays: "30d" }), {
      message: 'policy data-backup-retention: config "minRetentionDays" must be a number',
    });
    assert.throws(() => readConfig(policy.name, policy.configFields, { retention: 30 }), {
      message: 'policy data-backup-retention: unknown config key "retention"',
    });
  });
});

describe("policy pack: exemptions", () => {
  const sample: Exemption = {
    id: "EX-900",
    policy: "pods-no-host-access",
    resourceType: "kubernetes:apps/v1:DaemonSet",
    resourceName: "node-agent",
    reason: "reads container logs from the node",
    approvedBy: "security@example.com",
    approvedOn: "2026-01-10",
    expiresOn: "2026-06-30",
  };
  const agent = { type: "kubernetes:apps/v1:DaemonSet", name: "node-agent" };

  it("every reviewed exemption names an existing policy and is well formed", () => {
    const names = new Set(policies.map((p) => p.name));
    for (const exemption of exemptions)
      assert.ok(names.has(exemption.policy), `${exemption.id}: unknown policy ${exemption.policy}`);
    assert.doesNotThrow(() => validateExemptions(exemptions));
  });

  it("rejects an exemption without a reason or with a bad date, naming the field", () => {
    assert.throws(() => validateExemptions([{ ...sample, reason: " ", approvedOn: "10/01/2026" }]), {
      message:
        "invalid policy exemptions:\n  exemptions[0] (EX-900).reason: is required\n  exemptions[0] (EX-900).approvedOn: must be YYYY-MM-DD",
    });
  });

  it("downgrades a covered finding with its reason, and stops covering it after expiry", () => {
    assert.deepEqual(
      dispose("pods-no-host-access", agent, 'volume "logs" is a hostPath volume', [sample], "2026-03-01"),
      {
        exempted: true,
        message:
          'exempted by EX-900 (reads container logs from the node): volume "logs" is a hostPath volume',
        exemption: sample,
      },
    );
    assert.deepEqual(dispose("pods-no-host-access", agent, "x", [sample], "2026-07-01"), {
      exempted: false,
      message: "x (exemption EX-900 expired on 2026-06-30)",
    });
    assert.deepEqual(dispose("pods-no-privileged", agent, "x", [sample], "2026-03-01"), {
      exempted: false,
      message: "x",
    });
  });

  it("relies on a per-violation enforcement level that the pinned @pulumi/policy honours", async () => {
    // Exempted findings are reported in CrossGuard's object form at advisory level; check the SDK's analyzer keeps it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const server = require("@pulumi/policy/server") as {
      makeAnalyzeRpcFun: (
        pack: string,
        version: string,
        level: string,
        policies: unknown[],
      ) => (
        call: { request: analyzerproto.AnalyzeRequest },
        cb: (err: unknown, res?: analyzerproto.AnalyzeResponse) => void,
      ) => Promise<void>;
    };
    const policy = {
      name: "probe",
      description: "probe",
      enforcementLevel: "mandatory",
      validateResource: (_args: unknown, report: (v: unknown) => void) => {
        report({ message: "exempted finding", enforcementLevel: "advisory" });
        report("enforced finding");
      },
    };
    const request = new analyzerproto.AnalyzeRequest();
    request.setType("kubernetes:apps/v1:Deployment");
    request.setUrn("urn:pulumi:test::p::kubernetes:apps/v1:Deployment::d");
    request.setName("d");
    request.setProperties(structproto.Struct.fromJavaScript({}));
    request.setOptions(new analyzerproto.AnalyzerResourceOptions());
    const response = await new Promise<analyzerproto.AnalyzeResponse>((resolve, reject) => {
      void server.makeAnalyzeRpcFun("pack", "0.1.0", "mandatory", [policy])({ request }, (err, res) =>
        err || res === undefined ? reject(err) : resolve(res),
      );
    });
    const levels = response.getDiagnosticsList().map((d) => [d.getMessage(), d.getEnforcementlevel()]);
    assert.deepEqual(levels, [
      ["exempted finding", analyzerproto.EnforcementLevel.ADVISORY],
      ["probe\nenforced finding", analyzerproto.EnforcementLevel.MANDATORY],
    ]);
  });
});

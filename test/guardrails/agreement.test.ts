// One table, two judges: every row of test/guardrails/table.ts goes through each guarded CrossGuard policy
// (validateResource, as the pack runs it) and through its ValidatingAdmissionPolicy twin on a real kube-apiserver
// (a server-side dry run in a namespace where only that twin is bound, in Deny mode). Both must reach the row's
// expected verdict for every rule; then the bindings' mechanics: owners, exemptions with expiry, Warn + Audit.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Exemption } from "../../policies/src/core/exemption";
import {
  GUARDED_POLICIES,
  admissionBinding,
  admissionPolicy,
  exemptObjects,
  type GuardedPolicy,
} from "../../policies/src/core/admission";
import { runResourcePolicy } from "../../policies/src/evaluate";
import { policies } from "../../policies/src/policies";
import { requireToolchain } from "../charts/fixtures";
import { startControlPlane, type ControlPlane } from "../cluster/control-plane";
import type { KubeObject } from "../cluster/kube-client";
import { deployment, goodPodSpec, policiesIn, waitForGuardrails } from "./support";
import { TABLE_PARAMS, rows } from "./table";

const namespaceOf = (policy: GuardedPolicy) => `gr-${policy}`;
const EXEMPT_NS = "gr-exemptions";
const AUDIT_NS = "gr-audit";
const TODAY = "2026-12-02";

/** CrossGuard's config for a guarded policy: the same parameters its twin is built with. */
function crossGuardConfig(policy: GuardedPolicy): Record<string, unknown> {
  if (policy === "images-allowed-registries") return { allowedRegistries: TABLE_PARAMS.allowedRegistries };
  if (policy === "pods-resources") return { requireCpuLimit: TABLE_PARAMS.requireCpuLimit };
  return {};
}

function crossGuardViolates(policy: GuardedPolicy, object: KubeObject): boolean {
  const found = policies.find((p) => p.name === policy);
  assert.ok(found, `the pack has no policy ${policy}`);
  const type = `kubernetes:${object.apiVersion.includes("/") ? object.apiVersion : `core/${object.apiVersion}`}:${object.kind}`;
  const result = runResourcePolicy(
    found,
    {
      type,
      name: object.metadata.name ?? "",
      urn: `urn:pulumi:test::t::${type}::x`,
      props: object,
      protect: false,
    },
    crossGuardConfig(policy),
  );
  // Not applicable is a pass: e.g. images-allowed-registries when every image is only in the node's runtime.
  return result.notApplicable === undefined && result.violations.some((v) => !v.exempted);
}

/** The other workload kinds around the same pod spec (CEL finds the spec at a different path in each). */
function shapes(name: string, namespace: string, podSpec: Record<string, unknown>): KubeObject[] {
  const labels = { "app.kubernetes.io/name": name };
  const template = { metadata: { labels }, spec: podSpec };
  const jobSpec = { template: { ...template, spec: { ...podSpec, restartPolicy: "Never" } } };
  return [
    deployment(name, namespace, podSpec),
    { apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels }, spec: podSpec },
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name, namespace },
      spec: { serviceName: name, selector: { matchLabels: labels }, template },
    },
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name, namespace },
      spec: { selector: { matchLabels: labels }, template },
    },
    { apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace }, spec: jobSpec },
    {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name, namespace },
      spec: { schedule: "0 3 * * *", jobTemplate: { spec: jobSpec } },
    },
  ];
}

describe("guardrails: each CEL twin agrees with its CrossGuard policy on a real API server", function () {
  this.timeout(600_000);
  let plane: ControlPlane | undefined;

  before(async function () {
    const binDir = requireToolchain(this);
    plane = await startControlPlane({
      dir: fs.mkdtempSync(path.join(os.tmpdir(), "control-plane-guardrails-")),
      // The controller manager type-checks each policy's CEL and reports it in the policy's status.
      binDir,
    });
    const client = plane.client;
    const live: Exemption = {
      id: "EX-T1",
      policy: "pods-host-namespaces",
      resourceType: "kubernetes:apps/v1:DaemonSet",
      resourceName: `chart:DaemonSet:${EXEMPT_NS}/exempt-agent`,
      reason: "test",
      approvedBy: "test",
      approvedOn: "2026-01-01",
      expiresOn: "2026-12-31",
    };
    const expired: Exemption = {
      ...live,
      id: "EX-T2",
      resourceName: `chart:DaemonSet:${EXEMPT_NS}/expired-agent`,
      expiresOn: "2026-12-01",
    };
    const objects: KubeObject[] = [
      ...[...GUARDED_POLICIES.map(namespaceOf), EXEMPT_NS, AUDIT_NS].map((name) => ({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name },
      })),
      ...GUARDED_POLICIES.map((policy) => admissionPolicy(policy, TABLE_PARAMS) as KubeObject),
      ...GUARDED_POLICIES.map(
        (policy) => admissionBinding(policy, namespaceOf(policy), "deny", []) as KubeObject,
      ),
      admissionBinding(
        "pods-host-namespaces",
        EXEMPT_NS,
        "deny",
        exemptObjects("pods-host-namespaces", [live, expired], TODAY),
      ) as KubeObject,
      admissionBinding("images-pinned", AUDIT_NS, "audit", []) as KubeObject,
    ];
    for (const object of objects) await client.apply(object);
    for (const policy of GUARDED_POLICIES) await waitForTypeChecked(policy);
    await waitForGuardrails(client, namespaceOf("images-pinned"), "deny");
    await waitForGuardrails(client, AUDIT_NS, "audit");
  });

  after(async () => {
    await plane?.stop();
  });

  /** The server type-checks each policy's CEL against every kind it matches; no expression may fail to check. */
  async function waitForTypeChecked(policy: GuardedPolicy): Promise<void> {
    for (let i = 0; i < 600; i++) {
      const stored = await plane!.client.json<{
        status?: { typeChecking?: { expressionWarnings?: { warning: string }[] } };
      }>("GET", `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/mcp-registry-${policy}`);
      const checking = stored.status?.typeChecking;
      if (checking !== undefined) {
        assert.deepEqual(checking.expressionWarnings ?? [], [], `${policy}: CEL type-checking warnings`);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${policy} was never type-checked`);
  }

  for (const row of rows()) {
    it(`${row.violates.length === 0 ? "accepts" : `refuses (${row.violates.join(", ")})`}: ${row.name}`, async () => {
      const disagreements: string[] = [];
      for (const policy of GUARDED_POLICIES) {
        const expected = row.violates.includes(policy);
        const object = deployment("table-row", namespaceOf(policy), row.podSpec);
        const crossGuard = crossGuardViolates(policy, object);
        const response = await plane!.client.dryRunCreate(object);
        const denied = response.status >= 300;
        if (denied)
          assert.deepEqual(policiesIn(response), [policy], `refused for another reason: ${response.body}`);
        if (crossGuard !== expected || denied !== expected)
          disagreements.push(
            `${policy}: expected ${expected ? "violation" : "pass"}, CrossGuard ${crossGuard ? "violation" : "pass"}, API server ${denied ? `refused (${response.body.slice(0, 200)})` : "accepted"}`,
          );
      }
      assert.deepEqual(disagreements, []);
    });
  }

  it("finds the pod spec of a Pod, Deployment, StatefulSet, DaemonSet, Job and CronJob alike", async () => {
    const bad = { ...goodPodSpec(), hostNetwork: true };
    for (const policy of ["pods-host-namespaces"] as const) {
      for (const object of [
        ...shapes("good", namespaceOf(policy), goodPodSpec()),
        ...shapes("bad", namespaceOf(policy), bad),
      ]) {
        const response = await plane!.client.dryRunCreate(object);
        const expected = object.metadata.name === "bad";
        assert.equal(
          crossGuardViolates(policy, object),
          expected,
          `CrossGuard on ${object.kind} ${object.metadata.name}`,
        );
        assert.equal(
          response.status >= 300,
          expected,
          `${object.kind} ${object.metadata.name}: ${response.status} ${response.body.slice(0, 200)}`,
        );
      }
    }
  });

  it("judges a Pod or ReplicaSet at its owning workload, never at an operator that made it", async () => {
    const ns = namespaceOf("pods-host-namespaces");
    const bad = { ...goodPodSpec(), hostNetwork: true };
    const owned = (owner: Record<string, unknown>): KubeObject => ({
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `rs-${String(owner.kind).toLowerCase()}`,
        namespace: ns,
        ownerReferences: [
          { uid: "00000000-0000-0000-0000-000000000001", name: "owner", controller: true, ...owner },
        ],
      },
      spec: {
        selector: { matchLabels: { app: "x" } },
        template: { metadata: { labels: { app: "x" } }, spec: bad },
      },
    });
    const byDeployment = await plane!.client.dryRunCreate(
      owned({ apiVersion: "apps/v1", kind: "Deployment" }),
    );
    assert.equal(byDeployment.status, 201, byDeployment.body.slice(0, 300));
    const byOperator = await plane!.client.dryRunCreate(
      owned({ apiVersion: "postgresql.cnpg.io/v1", kind: "Cluster" }),
    );
    assert.deepEqual(policiesIn(byOperator), ["pods-host-namespaces"]);
    assert.ok(byOperator.status >= 400);
  });

  it("carries a live exemption into the binding, and an expired one no longer exempts", async () => {
    const daemonSet = (name: string) =>
      shapes(name, EXEMPT_NS, { ...goodPodSpec(), hostPID: true }).find((o) => o.kind === "DaemonSet")!;
    const exempt = await plane!.client.dryRunCreate(daemonSet("exempt-agent"));
    assert.equal(exempt.status, 201, exempt.body.slice(0, 300));
    for (const name of ["expired-agent", "other-agent"]) {
      const refused = await plane!.client.dryRunCreate(daemonSet(name));
      assert.deepEqual(
        policiesIn(refused),
        ["pods-host-namespaces"],
        `${name}: ${refused.body.slice(0, 300)}`,
      );
    }
    // The same name as another kind is not exempt either: exclusions name the resource and the kind.
    const asDeployment = await plane!.client.dryRunCreate(
      deployment("exempt-agent", EXEMPT_NS, { ...goodPodSpec(), hostPID: true }),
    );
    assert.ok(asDeployment.status >= 400);
  });

  it("warns and audits instead of refusing where a binding is not in Deny mode", async () => {
    const object = deployment("unpinned", AUDIT_NS, {
      ...goodPodSpec(),
      containers: [
        {
          ...(goodPodSpec().containers as Record<string, unknown>[])[0],
          image: "registry.example.com/approved/app",
        },
      ],
    });
    const response = await plane!.client.dryRunCreate(object);
    assert.equal(response.status, 201);
    assert.deepEqual(policiesIn(response), ["images-pinned"]);
    assert.match(
      response.warnings.join("\n"),
      /images-pinned: images without a digest or a tag other than latest: registry\.example\.com\/approved\/app/,
    );
  });
});

// Secrets from a manager: on staging and production every secret value lives in Google Secret Manager, only
// External Secrets Operator's service account may read it (per secret), and it reaches the cluster through an
// ExternalSecret of the approved store; no Kubernetes Secret the program writes holds a value. Locally, stack-config
// secrets and generated values stay in Kubernetes Secrets.
import { strict as assert } from "node:assert";
import { ESO_NAMESPACE, SECRET_STORE } from "../../infra/platform/external-secrets";
import { SECRET_CATALOG, SECRET_IDS } from "../../infra/secrets/catalog";
import { ACCESSOR_ROLE, REFRESH_INTERVAL } from "../../infra/secrets/secret-manager";
import { SECRET_REVISION_ANNOTATION } from "../../infra/secrets/types";
import { loadProgramError, ofType, runProgram, stackConfig, type CapturedResource } from "../support/program";
import { helmRelease, object, objects, stackRun } from "./runs";

const SM_SECRET = "gcp:secretmanager/secret:Secret";
const SM_VERSION = "gcp:secretmanager/secretVersion:SecretVersion";
const SM_IAM = "gcp:secretmanager/secretIamMember:SecretIamMember";
const EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret";

/** Every string under a value, depth first. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

/** The secret values the mocks hand out (infra's generators and the fake stack-config secret). */
function secretValues(resources: readonly CapturedResource[]): string[] {
  return ofType(resources, SM_VERSION).map((v) => String(v.inputs.secretData));
}

describe("infra: secrets from Secret Manager (staging, production)", function () {
  this.timeout(120_000);

  for (const stack of ["staging", "production"] as const) {
    describe(stack, () => {
      it("writes no Kubernetes Secret: each one the workloads read comes through an ExternalSecret", async () => {
        const { resources } = await stackRun(stack);
        assert.deepEqual(
          objects(resources, "Secret").map((r) => r.name),
          [],
        );
        const targets = objects(resources, "ExternalSecret").map(
          (r) => `${r.inputs.metadata.namespace}/${r.inputs.spec.target.name}`,
        );
        assert.deepEqual(targets.sort(), [
          "mcp-registry-restore-drill/restore-drill-reader",
          "mcp-registry/mcp-registry-db-drill-reader",
          "mcp-registry/registry-dump-restic-repository",
          "mcp-registry/registry-dump-restic-s3",
          "mcp-registry/registry-github",
          "mcp-registry/registry-jwt",
          "monitoring/grafana-admin",
        ]);
        // The registry's pods read only synced Secrets and the one CloudNativePG makes for its app user.
        const registry = object(resources, "Deployment", "registry", "mcp-registry").inputs;
        const refs = registry.spec.template.spec.containers[0].env
          .map((e: { valueFrom?: { secretKeyRef?: { name: string } } }) => e.valueFrom?.secretKeyRef?.name)
          .filter((n: string | undefined) => n !== undefined);
        for (const name of refs)
          assert.ok(targets.includes(`mcp-registry/${name}`) || name === "mcp-registry-db-app", name);
      });

      it("holds no secret value in any Kubernetes object, Helm value or stack output", async () => {
        const { resources, outputs } = await runProgram(stack);
        const values = secretValues(resources);
        assert.equal(values.length, SECRET_IDS.length, "one first version per catalogued secret");
        for (const value of values) assert.ok(value.length >= 8, `a real value was stored: ${value}`);
        const kubernetes = resources.filter((r) => r.type.startsWith("kubernetes:"));
        for (const r of kubernetes)
          for (const text of strings(r.inputs))
            for (const value of values)
              assert.ok(!text.includes(value), `${r.type} ${r.name} contains a secret value`);
        // Stack outputs a human reads (grafanaAdminPassword is a secret output on purpose, kept encrypted).
        const exported = Object.entries(outputs)
          .filter(([name, value]) => typeof value === "string" && name !== "grafanaAdminPassword")
          .map(([, value]) => String(value));
        for (const value of values) assert.ok(!exported.some((text) => text.includes(value)));
      });

      it("keeps each value in its own replicated Secret Manager secret, readable by ESO's account alone", async () => {
        const { resources } = await stackRun(stack);
        const secrets = ofType(resources, SM_SECRET).map((r) => r.inputs);
        assert.deepEqual(secrets.map((s) => s.secretId).sort(), [...SECRET_IDS].sort());
        for (const secret of secrets) {
          assert.deepEqual(secret.replication, { userManaged: { replicas: [{ location: "europe-west1" }] } });
          assert.equal(
            secret.annotations.description,
            SECRET_CATALOG[secret.secretId as keyof typeof SECRET_CATALOG].description,
          );
        }
        const eso = `serviceAccount:external-secrets@mcp-registry-${stack}.iam.gserviceaccount.com`;
        const grants = ofType(resources, SM_IAM).map((r) => r.inputs);
        assert.deepEqual(grants.map((g) => g.secretId).sort(), [...SECRET_IDS].sort());
        for (const grant of grants) assert.deepEqual([grant.role, grant.member], [ACCESSOR_ROLE, eso]);
        // Nothing else grants ESO's account anything, and no one gets Secret Manager roles on the project.
        const elsewhere = resources.filter(
          (r) => r.type !== SM_IAM && strings(r.inputs).includes(eso) && r.type.startsWith("gcp:"),
        );
        assert.deepEqual(
          elsewhere.map((r) => r.type),
          [],
        );
        const projectRoles = ofType(resources, "gcp:projects/iAMMember:IAMMember").map((r) => r.inputs.role);
        assert.ok(
          projectRoles.every((role: string) => !role.startsWith("roles/secretmanager.")),
          projectRoles.join(),
        );
        const versions = ofType(resources, SM_VERSION);
        assert.ok(versions.every((v) => v.inputs.deletionPolicy === "ABANDON"));
        assert.equal(
          ofType(resources, SM_SECRET).every((r) => (r.opts.protect === true) === (stack === "production")),
          true,
        );
      });

      it("syncs through the approved store, refreshing each pinned version, from allowed namespaces only", async () => {
        const { resources } = await stackRun(stack);
        const store = object(resources, "ClusterSecretStore", SECRET_STORE.name).inputs.spec;
        assert.deepEqual(store.provider, { gcpsm: { projectID: `mcp-registry-${stack}` } });
        const allowed: string[] = store.conditions[0].namespaces;
        assert.deepEqual([...allowed].sort(), ["mcp-registry", "mcp-registry-restore-drill", "monitoring"]);
        for (const external of ofType(resources, EXTERNAL_SECRET)) {
          const spec = external.inputs.spec;
          assert.deepEqual(spec.secretStoreRef, SECRET_STORE);
          assert.equal(spec.refreshInterval, REFRESH_INTERVAL);
          assert.ok(allowed.includes(external.inputs.metadata.namespace));
          for (const item of spec.data) {
            assert.ok((SECRET_IDS as string[]).includes(item.remoteRef.key));
            assert.equal(item.remoteRef.version, "1", "the version Pulumi created, until one is pinned");
          }
        }
      });

      it("runs External Secrets Operator as its own Google account through Workload Identity", async () => {
        const { resources } = await stackRun(stack);
        const values = helmRelease(resources, "external-secrets").inputs.values;
        assert.equal(values.installCRDs, true);
        assert.equal(
          values.serviceAccount.annotations["iam.gke.io/gcp-service-account"],
          `external-secrets@mcp-registry-${stack}.iam.gserviceaccount.com`,
        );
        assert.equal(values.processPushSecret, false);
        const binding = ofType(resources, "gcp:serviceaccount/iAMMember:IAMMember").find(
          (r) => r.inputs.serviceAccountId === "external-secrets",
        );
        assert.equal(
          binding?.inputs.member,
          `serviceAccount:mcp-registry-${stack}.svc.id.goog[${ESO_NAMESPACE}/external-secrets]`,
        );
        assert.equal(binding?.inputs.role, "roles/iam.workloadIdentityUser");
      });
    });
  }

  it("rotation: a pinned version reaches the ExternalSecret and restarts the registry's pods", async () => {
    const before = (await stackRun("staging")).resources;
    const after = (
      await runProgram("staging", {
        "mcp-registry:secretVersions": JSON.stringify({ "registry-jwt-signing-key": 3 }),
      })
    ).resources;
    const jwt = (rs: CapturedResource[]) =>
      object(rs, "ExternalSecret", "registry-jwt", "mcp-registry").inputs.spec;
    assert.equal(jwt(before).data[0].remoteRef.version, "1");
    assert.equal(jwt(after).data[0].remoteRef.version, "3");
    const revision = (rs: CapturedResource[]) =>
      object(rs, "Deployment", "registry", "mcp-registry").inputs.spec.template.metadata.annotations[
        SECRET_REVISION_ANNOTATION
      ];
    assert.notEqual(revision(after), revision(before));
    // Grafana reads another secret: its pods keep their revision.
    const grafana = (rs: CapturedResource[]) =>
      helmRelease(rs, "kube-prometheus-stack").inputs.values.grafana.podAnnotations[
        SECRET_REVISION_ANNOTATION
      ];
    assert.equal(grafana(after), grafana(before));
  });

  it("package-registry credentials: one Secret Manager secret each, synced into the registry's Secret, pinnable", async () => {
    const NEXUS = "https://nexus.internal.example:8443/repository/pypi";
    const OCI = "https://registry.internal.example";
    const stackRegistry = JSON.parse(stackConfig("staging")["mcp-registry:registry"] ?? "{}") as object;
    const { resources } = await runProgram("staging", {
      "mcp-registry:registry": JSON.stringify({
        ...stackRegistry,
        packageValidation: {
          enabled: true,
          pypiUrls: ["https://pypi.org", NEXUS],
          authenticatedRegistries: [{ url: NEXUS, username: "verifier" }, { url: OCI }],
        },
      }),
      "mcp-registry:packageRegistryCredentials": JSON.stringify({
        [NEXUS]: "nexus-pass",
        [OCI]: "oci-token",
      }),
      "mcp-registry:secretVersions": JSON.stringify({ "registry-package-credential-1": 4 }),
    });
    assert.deepEqual(objects(resources, "Secret"), [], "no Kubernetes Secret holds them");
    const synced = object(resources, "ExternalSecret", "registry-package-credentials", "mcp-registry").inputs
      .spec;
    assert.deepEqual(
      synced.data.map((d: { secretKey: string; remoteRef: { key: string; version: string } }) =>
        [d.secretKey, d.remoteRef.key, d.remoteRef.version].join(" "),
      ),
      ["credential-0 registry-package-credential-0 1", "credential-1 registry-package-credential-1 4"],
    );
    const grants = ofType(resources, SM_IAM).map((r) => String(r.inputs.secretId));
    assert.ok(
      grants.includes("registry-package-credential-0") && grants.includes("registry-package-credential-1"),
    );
    const firstVersions = secretValues(resources);
    assert.ok(firstVersions.includes("nexus-pass") && firstVersions.includes("oci-token"));
    const env = object(resources, "Deployment", "registry", "mcp-registry").inputs.spec.template.spec
      .containers[0].env as Array<{
      name: string;
      valueFrom?: { secretKeyRef?: { name: string; key: string } };
    }>;
    assert.deepEqual(
      env
        .filter((e) => e.valueFrom?.secretKeyRef?.name === "registry-package-credentials")
        .map((e) => e.valueFrom?.secretKeyRef?.key),
      ["credential-0", "credential-1"],
    );
  });

  it("refuses an unknown secret id or a version that is not a number, before creating anything", async () => {
    const message = await loadProgramError("staging", {
      "mcp-registry:secretVersions": JSON.stringify({
        "registry-jwt": 2,
        "grafana-admin-password": "latest",
      }),
    });
    assert.match(message, /mcp-registry:secretVersions/);
    assert.match(message, /grafana-admin-password: must be a number/);
  });

  it("local keeps stack-config secrets and generated values in Kubernetes Secrets, and refuses pinned versions", async () => {
    const { resources } = await stackRun("local");
    assert.deepEqual(ofType(resources, EXTERNAL_SECRET), []);
    assert.deepEqual(ofType(resources, SM_SECRET), []);
    assert.match(
      object(resources, "Secret", "registry-jwt", "mcp-registry").inputs.stringData["private-key.pem"],
      /^-----BEGIN PRIVATE KEY-----/,
    );
    const message = await loadProgramError("local", {
      "mcp-registry:secretVersions": JSON.stringify({ "registry-jwt-signing-key": 2 }),
    });
    assert.match(message, /mcp-registry:secretVersions: applies to GKE stacks only/);
  });
});

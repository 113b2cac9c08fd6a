import { strict as assert } from "node:assert";
import * as k8s from "@pulumi/kubernetes";
import { KubernetesSecretStore } from "../../infra/secrets/kubernetes";
import { GCS_S3_ENDPOINT, GcsStore } from "../../infra/storage/gcs";
import { MinioStore, bucketSetupScript } from "../../infra/storage/minio";
import { checkGrantName, gcsBucketName, gcsLifecycleRules, s3BucketPolicy } from "../../infra/storage/policy";
import { images } from "../../infra/versions";
import { type CapturedResource } from "../support/program";
import { capture, outputOf } from "./capture";
import { object, ofProvider, stackRun } from "./runs";

const consumers = {
  database: { namespace: "mcp-registry", serviceAccountName: "mcp-registry-db" },
  restic: { namespace: "mcp-registry", serviceAccountName: "mcp-registry-backup" },
  drill: {
    namespace: "mcp-registry-restore-drill",
    serviceAccountName: "mcp-registry-db-drill",
    readOnly: true,
  },
};

function minio() {
  const provider = new k8s.Provider("test", { context: "minikube" });
  const store = new MinioStore("backups", {
    provider,
    namespace: "platform",
    storageClass: "standard",
    storageSize: "10Gi",
    bucket: "backups",
  });
  return {
    store,
    db: store.grantDatabaseAccess("registry-db", consumers.database),
    restic: store.grantResticAccess("registry-dump", consumers.restic),
    drill: store.grantDatabaseAccess("restore-drill", consumers.drill),
  };
}

function gcs(softDeleteDays = 30) {
  const provider = new k8s.Provider("test", { context: "gke" });
  const store = new GcsStore("backups", {
    provider,
    project: "mcp-registry-production",
    environment: "production",
    settings: { location: "EU", softDeleteDays, noncurrentVersionDays: 30, deleteAfterDays: 90 },
    workloadPool: "mcp-registry-production.svc.id.goog",
    protect: true,
    // The GCS store with plain Kubernetes Secrets: what it stores is checked here, Secret Manager in secrets.test.ts.
    secrets: new KubernetesSecretStore(),
  });
  return {
    store,
    db: store.grantDatabaseAccess("registry-db", consumers.database),
    restic: store.grantResticAccess("registry-dump", consumers.restic),
    drill: store.grantDatabaseAccess("restore-drill", consumers.drill),
  };
}

function secretIn(resources: CapturedResource[], name: string, namespace: string): Record<string, string> {
  return object(resources, "Secret", name, namespace).inputs.stringData as Record<string, string>;
}

describe("infra: backup object stores", function () {
  this.timeout(60_000);

  describe("MinIO (local)", () => {
    it("runs the last community release as non-root on a PVC, with generated root credentials", async () => {
      const { resources } = await capture(minio);
      const deployment = object(resources, "Deployment", "minio", "platform").inputs.spec;
      const pod = deployment.template.spec;
      const container = pod.containers[0];
      assert.equal(container.image, images.minio);
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.equal(container.securityContext.runAsNonRoot, true);
      assert.equal(pod.automountServiceAccountToken, false);
      assert.equal(deployment.strategy.type, "Recreate");
      assert.deepEqual(pod.volumes[1], { name: "data", persistentVolumeClaim: { claimName: "minio-data" } });
      const pvc = object(resources, "PersistentVolumeClaim", "minio-data", "platform").inputs.spec;
      assert.deepEqual([pvc.storageClassName, pvc.resources.requests.storage], ["standard", "10Gi"]);
      const root = secretIn(resources, "minio-root", "platform");
      assert.equal(root.user, "test-random-backups-root-user");
      assert.equal(root.password, "test-random-backups-root-password");
      assert.ok(
        container.env.every(
          (e: { name: string; value?: string }) => !/PASSWORD|SECRET/.test(e.name) || e.value === undefined,
        ),
      );
    });

    it("creates both buckets and a writer and a reader user with a Job", async () => {
      const { resources } = await capture(minio);
      const job = object(resources, "Job", "minio-buckets", "platform").inputs.spec.template.spec;
      const env = Object.fromEntries(
        job.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]),
      );
      assert.equal(job.containers[0].image, images.minioClient);
      assert.equal(env.BUCKETS, "backups backups-restic");
      assert.deepEqual(JSON.parse(env.READER_POLICY).Statement[1].Action, ["s3:GetObject"]);
      assert.equal(job.containers[0].command[2], bucketSetupScript());
      assert.match(bucketSetupScript(), /mc mb --ignore-existing "store\/\$bucket"/);
    });

    it("grants S3 keys in the consumer's namespace: writer keys to backups, reader keys to drills", async () => {
      const { resources, result } = await capture(minio);
      assert.equal(await outputOf(result.db.destinationPath), "s3://backups/cnpg");
      assert.equal(await outputOf(result.db.endpointUrl!), "http://minio.platform.svc:9000");
      assert.equal(result.db.auth.kind, "s3-secret");
      const writer = secretIn(resources, "registry-db-backup-s3", "mcp-registry");
      assert.deepEqual(writer, {
        ACCESS_KEY_ID: "test-random-backups-writer-access-key",
        ACCESS_SECRET_KEY: "test-random-backups-writer-secret-key",
      });
      const reader = secretIn(resources, "restore-drill-backup-s3", "mcp-registry-restore-drill");
      assert.equal(reader.ACCESS_KEY_ID, "test-random-backups-reader-access-key");
      assert.equal(await outputOf(result.restic.bucket), "backups-restic");
      assert.equal(
        secretIn(resources, "registry-dump-restic-repository", "mcp-registry").password,
        "test-random-backups-restic-password",
      );
      assert.equal(
        await outputOf(result.restic.repositoryPasswordSecret.name),
        "registry-dump-restic-repository",
      );
      const toMinio = [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "platform" } },
              podSelector: {
                matchLabels: {
                  "app.kubernetes.io/name": "minio",
                  "app.kubernetes.io/component": "object-store",
                },
              },
            },
          ],
          ports: [{ protocol: "TCP", port: 9000 }],
        },
      ];
      assert.deepEqual(result.db.egress, toMinio);
      assert.deepEqual(result.restic.egress, toMinio);
    });

    it("lets only granted namespaces reach MinIO", async () => {
      const { resources } = await capture(minio);
      const ingress = resources
        .filter(
          (r) =>
            r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy" &&
            r.inputs.metadata.namespace === "platform",
        )
        .filter((r) => String(r.inputs.metadata.name).startsWith("allow-s3-"))
        .map(
          (r) =>
            r.inputs.spec.ingress[0].from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
        );
      assert.deepEqual(ingress.sort(), ["mcp-registry", "mcp-registry", "mcp-registry-restore-drill"]);
    });

    it("refuses a grant name that cannot name Kubernetes objects", async () => {
      await capture(() => {
        const { store } = minio();
        assert.throws(
          () => store.grantDatabaseAccess("Registry_DB", consumers.database),
          /^Error: backup grant 'Registry_DB': must be a lower-case DNS label of at most 30 characters$/,
        );
      });
    });
  });

  describe("GCS (GKE)", () => {
    it("creates private, versioned buckets with soft delete and a lifecycle per purpose", async () => {
      const { resources } = await capture(() => gcs());
      const buckets = resources
        .filter((r) => r.type === "gcp:storage/bucket:Bucket")
        .sort((a, b) => String(a.inputs.name).localeCompare(String(b.inputs.name)));
      assert.deepEqual(
        buckets.map((b) => b.inputs.name),
        ["mcp-registry-production-production-db-backups", "mcp-registry-production-production-restic"],
      );
      for (const { inputs } of buckets) {
        assert.equal(inputs.uniformBucketLevelAccess, true);
        assert.equal(inputs.publicAccessPrevention, "enforced");
        assert.deepEqual(inputs.versioning, { enabled: true });
        assert.equal(inputs.softDeletePolicy.retentionDurationSeconds, 30 * 86400);
        assert.equal(inputs.forceDestroy, false);
        assert.equal(inputs.location, "EU");
      }
      const [db, restic] = buckets;
      assert.deepEqual(
        db!.inputs.lifecycleRules.map((r: { condition: unknown }) => r.condition),
        [
          { daysSinceNoncurrentTime: 30, withState: "ARCHIVED" },
          { age: 90, withState: "LIVE" },
        ],
      );
      assert.deepEqual(
        restic!.inputs.lifecycleRules.map((r: { condition: unknown }) => r.condition),
        [{ daysSinceNoncurrentTime: 30, withState: "ARCHIVED" }],
      );
      const iam = resources.filter((r) => r.type === "gcp:storage/bucketIAMMember:BucketIAMMember");
      assert.ok(iam.every((r) => !/allUsers|allAuthenticatedUsers/.test(r.inputs.member)));
    });

    it("binds CloudNativePG through Workload Identity without keys, read-only for drills", async () => {
      const { resources, result } = await capture(() => gcs());
      assert.equal(result.db.auth.kind, "workload-identity");
      assert.equal(result.db.endpointUrl, undefined);
      assert.equal(
        await outputOf(result.db.destinationPath),
        "gs://mcp-registry-production-production-db-backups/cnpg",
      );
      if (result.db.auth.kind !== "workload-identity") return;
      assert.deepEqual(await outputOf(result.db.auth.annotations), {
        "iam.gke.io/gcp-service-account": "mcp-production-cnpg@mcp-registry-test.iam.gserviceaccount.com",
      });
      const bindings = resources
        .filter((r) => r.type === "gcp:serviceaccount/iAMMember:IAMMember")
        .map((r) => [r.inputs.serviceAccountId, r.inputs.member]);
      assert.deepEqual(bindings, [
        [
          "projects/mcp-registry-test/serviceAccounts/mcp-production-cnpg",
          "serviceAccount:mcp-registry-production.svc.id.goog[mcp-registry/mcp-registry-db]",
        ],
        [
          "projects/mcp-registry-test/serviceAccounts/mcp-production-cnpg-read",
          "serviceAccount:mcp-registry-production.svc.id.goog[mcp-registry-restore-drill/mcp-registry-db-drill]",
        ],
      ]);
      assert.deepEqual(result.db.egress, [
        { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
        { to: [{ ipBlock: { cidr: "169.254.169.254/32" } }], ports: [{ protocol: "TCP", port: 80 }] },
        { to: [{ ipBlock: { cidr: "169.254.169.252/32" } }], ports: [{ protocol: "TCP", port: 988 }] },
      ]);
      const readerRoles = resources
        .filter(
          (r) =>
            r.type === "gcp:storage/bucketIAMMember:BucketIAMMember" &&
            String(r.inputs.member).includes("cnpg-read"),
        )
        .map((r) => r.inputs.role);
      assert.deepEqual(readerRoles, ["roles/storage.objectViewer", "roles/storage.legacyBucketReader"]);
    });

    it("gives restic the HMAC key of a dedicated account as a Kubernetes Secret, and a generated repository password", async () => {
      const { resources, result } = await capture(() => gcs());
      const hmac = resources.find((r) => r.type === "gcp:storage/hmacKey:HmacKey")!;
      assert.equal(
        hmac.inputs.serviceAccountEmail,
        "mcp-production-restic@mcp-registry-test.iam.gserviceaccount.com",
      );
      assert.deepEqual(secretIn(resources, "registry-dump-restic-s3", "mcp-registry"), {
        ACCESS_KEY_ID: "GOOG1EID",
        ACCESS_SECRET_KEY: "hmac-secret",
      });
      assert.equal(await outputOf(result.restic.endpointUrl), GCS_S3_ENDPOINT);
      assert.equal(
        secretIn(resources, "registry-dump-restic-repository", "mcp-registry").password,
        "test-random-backups-restic-password",
      );
      const resticIam = resources.filter(
        (r) =>
          r.type === "gcp:storage/bucketIAMMember:BucketIAMMember" &&
          String(r.inputs.member).includes("restic"),
      );
      assert.ok(resticIam.every((r) => r.inputs.bucket === "mcp-registry-production-production-restic"));
    });
  });

  describe("wiring in the program", () => {
    it("uses MinIO locally and GCS on GKE, and never creates cloud resources locally", async () => {
      const local = (await stackRun("local")).resources;
      assert.deepEqual(ofProvider(local, "gcp:"), []);
      assert.ok(local.some((r) => r.type === "mcp-registry:storage:Minio"));
      const production = (await stackRun("production")).resources;
      assert.ok(production.some((r) => r.type === "mcp-registry:storage:Gcs"));
      assert.ok(!production.some((r) => r.type === "mcp-registry:storage:Minio"));
    });

    it("exports the backup consumers of the data layer's contract", async () => {
      const { outputs } = await stackRun("local");
      assert.deepEqual(outputs.backupConsumers, {
        database: { namespace: "mcp-registry", serviceAccountName: "mcp-registry-db" },
        restic: { namespace: "mcp-registry", serviceAccountName: "mcp-registry-backup" },
      });
    });
  });

  describe("pure rules", () => {
    it("scopes S3 policies to the buckets, read-only without writes or deletes", () => {
      const writer = JSON.parse(s3BucketPolicy(["a", "b"], false));
      assert.deepEqual(writer.Statement[0].Resource, ["arn:aws:s3:::a", "arn:aws:s3:::b"]);
      assert.deepEqual(writer.Statement[1].Resource, ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"]);
      assert.ok(writer.Statement[1].Action.includes("s3:DeleteObject"));
      const reader = JSON.parse(s3BucketPolicy(["a"], true));
      assert.deepEqual(reader.Statement[1].Action, ["s3:GetObject"]);
      assert.throws(() => s3BucketPolicy([], true), /no buckets/);
    });

    it("never expires live objects of a restic repository", () => {
      assert.deepEqual(gcsLifecycleRules("restic", { noncurrentVersionDays: 7, deleteAfterDays: 30 }), [
        { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: 7, withState: "ARCHIVED" } },
      ]);
      assert.equal(
        gcsLifecycleRules("database", { noncurrentVersionDays: 7, deleteAfterDays: 30 }).length,
        2,
      );
    });

    it("names buckets within GCS limits and grants as DNS labels", () => {
      assert.equal(gcsBucketName("p-123456", "staging", "restic"), "p-123456-staging-restic");
      assert.throws(
        () => gcsBucketName("x".repeat(30), "production", "db-backups-and-more-and-more"),
        /longer than 63/,
      );
      assert.doesNotThrow(() => checkGrantName("registry-db"));
      assert.throws(() => checkGrantName("-bad"), /must be a lower-case DNS label/);
    });
  });
});

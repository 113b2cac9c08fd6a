import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { Database } from "../../infra/data/database";
import { LogicalBackup } from "../../infra/data/logical-backup";
import {
  DATABASE_CLUSTER_NAME,
  REGISTRY_NAMESPACE,
  RESTORE_DRILL_NAMESPACE,
  SCRATCH_CLUSTER_NAME,
  barmanRetention,
  cnpgSchedule,
  logicalDumpCommand,
  resticRetention,
} from "../../infra/data/naming";
import {
  RESTORE_DRILL_SCRIPT_PATH,
  RestoreDrill,
  scratchClusterManifest,
} from "../../infra/data/restore-drill";
import { KubernetesSecretStore } from "../../infra/secrets/kubernetes";
import type { Settings } from "../../infra/settings";
import type { BackupAccess } from "../../infra/storage/types";
import { images } from "../../infra/versions";
import { schemaProblems, validateObject } from "../support/k8s-schema";
import type { CapturedResource, ResourceInputs } from "../support/program";
import {
  GSA_EMAIL,
  capture,
  gcsAccess,
  isSecretPath,
  kind,
  GCS_EGRESS,
  MINIO_EGRESS,
  minioAccess,
  named,
  one,
  platform,
  resticAccess,
  settingsFor,
} from "./support";

const clients = [{ "app.kubernetes.io/name": "registry" }];

function database(settings: Settings, access: BackupAccess, spreadAcrossZones: boolean) {
  let db: Database | undefined;
  const run = capture((provider) => {
    db = new Database("db", {
      provider,
      namespace: REGISTRY_NAMESPACE,
      clusterName: DATABASE_CLUSTER_NAME,
      database: settings.database,
      backup: settings.backup,
      defaultStorageClass: "standard",
      spreadAcrossZones,
      backupAccess: access,
      platform,
      clientSelectors: clients,
      drillNamespace: RESTORE_DRILL_NAMESPACE,
      protect: false,
      secrets: new KubernetesSecretStore(),
    });
  });
  return run.then((resources) => ({ resources, db: db! }));
}

function crd(resources: readonly CapturedResource[], k: string): ResourceInputs[] {
  return kind(resources, k).map((r) => r.inputs);
}

describe("data layer: pure rules", () => {
  it("turns five-field cron into CloudNativePG's six fields and rejects anything else", () => {
    assert.equal(cnpgSchedule("0 2 * * *"), "0 0 2 * * *");
    assert.throws(
      () => cnpgSchedule("0 0 2 * * *"),
      /^Error: backup\.schedule: '0 0 2 \* \* \*' is not a five-field/,
    );
  });

  it("derives Barman and restic retention from the retention days", () => {
    assert.equal(barmanRetention(30), "30d");
    assert.deepEqual(resticRetention(7), { keepLast: 2, keepDaily: 7 });
    assert.throws(() => barmanRetention(0), /backup\.retentionDays/);
    assert.throws(() => resticRetention(1.5), /backup\.retentionDays/);
  });

  it("dumps the application database over the local socket", () => {
    assert.match(
      logicalDumpCommand(),
      /^pg_dump --host=\/controller\/run --username=postgres --dbname=registry /,
    );
  });
});

describe("data layer: Database", () => {
  it("local: one instance, WAL archiving and daily base backups to MinIO kept 1 day, no pooler", async () => {
    const settings = settingsFor("local");
    const { resources, db } = await database(settings, minioAccess(REGISTRY_NAMESPACE), false);
    assert.equal(db.readHost, undefined, "no standby to read from");
    assert.deepEqual(db.readEndpointSelectors, []);
    const cluster = one(resources, "Cluster");
    assert.equal(cluster.metadata.name, DATABASE_CLUSTER_NAME);
    assert.equal(cluster.spec.instances, 1);
    assert.equal(cluster.spec.imageName, images.postgres);
    assert.equal(cluster.spec.storage.storageClass, "standard");
    assert.deepEqual(cluster.spec.plugins, [
      {
        name: platform.cnpg.barmanPluginName,
        isWALArchiver: true,
        parameters: { barmanObjectName: `${DATABASE_CLUSTER_NAME}-backups` },
      },
    ]);
    assert.deepEqual(cluster.spec.bootstrap.initdb.postInitApplicationSQL, [
      "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    ]);
    assert.equal(cluster.spec.postgresql.synchronous, undefined);
    assert.equal(cluster.spec.serviceAccountTemplate, undefined);
    assert.equal(cluster.spec.inheritedMetadata.annotations["k8up.io/backupcommand"], logicalDumpCommand());
    assert.equal(cluster.spec.inheritedMetadata.annotations["k8up.io/backupcommand-container"], "postgres");

    const store = one(resources, "ObjectStore");
    assert.equal(store.apiVersion, "barmancloud.cnpg.io/v1");
    assert.equal(store.spec.retentionPolicy, "1d");
    assert.equal(store.spec.configuration.destinationPath, "s3://backups/cnpg");
    assert.equal(store.spec.configuration.endpointURL, "http://minio.platform.svc:9000");
    assert.deepEqual(store.spec.configuration.s3Credentials.accessKeyId, {
      name: "backup-s3",
      key: "ACCESS_KEY_ID",
    });

    const scheduled = one(resources, "ScheduledBackup");
    assert.equal(scheduled.spec.schedule, `0 ${settings.backup.schedule}`);
    assert.equal(scheduled.spec.method, "plugin");
    assert.deepEqual(scheduled.spec.pluginConfiguration, { name: platform.cnpg.barmanPluginName });
    assert.deepEqual(scheduled.spec.cluster, { name: DATABASE_CLUSTER_NAME });

    assert.equal(kind(resources, "Pooler").length, 0);
    const monitors = crd(resources, "PodMonitor");
    assert.equal(monitors.length, 1);
    assert.equal(monitors[0]!.metadata.labels.release, "kube-prometheus-stack");
    assert.equal(monitors[0]!.spec.selector.matchLabels["cnpg.io/cluster"], DATABASE_CLUSTER_NAME);
    assert.deepEqual(schemaProblems(resources), []);
  });

  it("production: three instances across zones, quorum commit, pooler, GCS through Workload Identity, 30 days", async () => {
    const settings = settingsFor("production");
    const { resources, db } = await database(settings, gcsAccess(), true);
    const cluster = one(resources, "Cluster");
    assert.equal(cluster.spec.instances, 3);
    assert.deepEqual(cluster.spec.postgresql.synchronous, {
      method: "any",
      number: 1,
      dataDurability: "required",
    });
    assert.deepEqual(cluster.spec.affinity, {
      enablePodAntiAffinity: true,
      topologyKey: "topology.kubernetes.io/zone",
      podAntiAffinityType: "required",
    });
    assert.equal(cluster.spec.walStorage.size, "20Gi");
    assert.deepEqual(cluster.spec.serviceAccountTemplate.metadata.annotations, {
      "iam.gke.io/gcp-service-account": GSA_EMAIL,
    });
    const store = one(resources, "ObjectStore");
    assert.deepEqual(store.spec.configuration.googleCredentials, { gkeEnvironment: true });
    assert.equal(store.spec.configuration.s3Credentials, undefined);
    assert.equal(store.spec.retentionPolicy, "30d");

    const pooler = one(resources, "Pooler");
    assert.equal(pooler.spec.type, "rw");
    assert.equal(pooler.spec.pgbouncer.poolMode, "transaction");
    assert.equal(db.host, pooler.metadata.name);
    // Reads go to the standbys directly (prepared statements, no pooler in between).
    assert.equal(db.readHost, `${DATABASE_CLUSTER_NAME}-ro`);
    assert.deepEqual(db.readEndpointSelectors, [
      { "cnpg.io/cluster": DATABASE_CLUSTER_NAME, "cnpg.io/podRole": "instance" },
    ]);
    assert.equal(crd(resources, "PodMonitor").length, 2);
    assert.deepEqual(schemaProblems(resources), []);
  });

  it("keeps the drill reader's password secret", async () => {
    const { db, resources } = await database(settingsFor("staging"), gcsAccess(), false);
    assert.equal(db.drillReaderPassword.id, "database-drill-reader-password");
    const secret = resources.find((r) => r.type === "kubernetes:core/v1:Secret");
    assert.equal(isSecretPath(secret, "stringData.password"), true);
    assert.equal(secret?.inputs.stringData.username, "restore_drill");
  });

  it("admits only replication, the operator, clients, the drill and Prometheus to the instances", async () => {
    const { resources } = await database(settingsFor("production"), gcsAccess(), true);
    const policy = named(resources, "NetworkPolicy", `${DATABASE_CLUSTER_NAME}-instances`);
    assert.deepEqual(policy.spec.policyTypes, ["Ingress", "Egress"]);
    for (const rule of policy.spec.ingress) {
      assert.ok(rule.from?.length > 0, "every ingress rule names its sources");
      assert.ok(rule.ports?.length > 0, "every ingress rule names its ports");
    }
    const ports = new Set(
      policy.spec.ingress.flatMap((r: ResourceInputs) => r.ports.map((p: ResourceInputs) => p.port)),
    );
    assert.deepEqual([...ports].sort(), [5432, 8000, 9187]);
    for (const rule of policy.spec.egress)
      assert.ok(rule.ports?.length > 0, "every egress rule names its ports");
    // The store's own egress rules (GCS over HTTPS and the metadata server's tokens) close the list.
    assert.deepEqual(policy.spec.egress.slice(-GCS_EGRESS.length), GCS_EGRESS);
    const pooler = named(resources, "NetworkPolicy", `${DATABASE_CLUSTER_NAME}-pooler-rw`);
    assert.deepEqual(pooler.spec.ingress[0].from, [{ podSelector: { matchLabels: clients[0] } }]);
  });

  it("rejects synchronous replication with as many standbys as instances, before creating anything", async () => {
    const settings = settingsFor("production");
    const bad = {
      ...settings.database,
      synchronous: { enabled: true, method: "any" as const, number: 3 },
    };
    await assert.rejects(
      capture((provider) => {
        new Database("db", {
          provider,
          namespace: REGISTRY_NAMESPACE,
          clusterName: DATABASE_CLUSTER_NAME,
          database: bad,
          backup: settings.backup,
          defaultStorageClass: "standard",
          spreadAcrossZones: true,
          backupAccess: gcsAccess(),
          platform,
          clientSelectors: clients,
          drillNamespace: RESTORE_DRILL_NAMESPACE,
          protect: true,
          secrets: new KubernetesSecretStore(),
        });
      }),
      /^Error: database\.synchronous\.number: must be less than database\.instances$/,
    );
  });
});

describe("data layer: LogicalBackup (K8up)", () => {
  for (const [stack, days] of [
    ["local", 1],
    ["staging", 7],
    ["production", 30],
  ] as const) {
    it(`${stack}: restic dumps, prune keeping ${days} daily snapshots, and check`, async () => {
      const settings = settingsFor(stack);
      const resources = await capture((provider) => {
        new LogicalBackup("logical", {
          provider,
          namespace: REGISTRY_NAMESPACE,
          name: "registry-logical",
          backup: settings.backup,
          restic: resticAccess(REGISTRY_NAMESPACE),
          platform,
        });
      });
      const schedule = one(resources, "Schedule");
      assert.equal(schedule.apiVersion, "k8up.io/v1");
      assert.deepEqual(schedule.spec.backend.repoPasswordSecretRef, {
        name: "restic-repository",
        key: "password",
      });
      assert.equal(schedule.spec.backend.s3.bucket, "restic");
      assert.deepEqual(schedule.spec.backend.s3.secretAccessKeySecretRef, {
        name: "restic-s3",
        key: "ACCESS_SECRET_KEY",
      });
      assert.equal(schedule.spec.backup.schedule, settings.backup.resticSchedule);
      assert.equal(schedule.spec.prune.schedule, settings.backup.pruneSchedule);
      assert.equal(schedule.spec.prune.retention.keepDaily, days);
      assert.equal(schedule.spec.check.schedule, settings.backup.checkSchedule);
      assert.equal(schedule.spec.podSecurityContext.runAsNonRoot, true);
      const policy = one(resources, "NetworkPolicy");
      assert.deepEqual(policy.spec.ingress, []);
      assert.deepEqual(policy.spec.egress.slice(1), MINIO_EGRESS);
    });
  }
});

/** The drill reader's password as Database stores it, in the store the drill builds its own Secret with. */
function storedReaderPassword() {
  const secrets = new KubernetesSecretStore();
  const readerPassword = secrets.value("database-drill-reader-password", pulumi.secret("reader-password"));
  return { secrets, readerPassword };
}

describe("data layer: RestoreDrill", () => {
  async function drill(stack: "local" | "production", access: BackupAccess) {
    const settings = settingsFor(stack);
    let component: RestoreDrill | undefined;
    const resources = await capture((provider) => {
      component = new RestoreDrill("drill", {
        provider,
        namespace: RESTORE_DRILL_NAMESPACE,
        sourceCluster: DATABASE_CLUSTER_NAME,
        sourceNamespace: REGISTRY_NAMESPACE,
        scratchCluster: SCRATCH_CLUSTER_NAME,
        schedule: settings.backup.drillSchedule,
        backupAccess: access,
        ...storedReaderPassword(),
        database: settings.database,
        storageClass: "standard",
        platform,
      });
    });
    return { resources, settings, component: component! };
  }

  it("is a CronJob the policy pack recognises, that succeeds only when restore and verification pass", async () => {
    const { resources, settings } = await drill("local", minioAccess(RESTORE_DRILL_NAMESPACE));
    const cron = one(resources, "CronJob");
    assert.equal(cron.metadata.namespace, RESTORE_DRILL_NAMESPACE);
    assert.equal(cron.metadata.labels["app.kubernetes.io/component"], "restore-drill");
    assert.equal(cron.metadata.annotations["mcp-registry.io/drill-of"], DATABASE_CLUSTER_NAME);
    assert.equal(cron.spec.schedule, settings.backup.drillSchedule);
    assert.equal(cron.spec.concurrencyPolicy, "Forbid");
    const job = cron.spec.jobTemplate.spec;
    assert.equal(job.backoffLimit, 0);
    const pod = job.template.spec;
    assert.deepEqual(
      pod.initContainers.map((c: ResourceInputs) => c.name),
      ["remove-previous", "restore", "wait-ready", "verify"],
    );
    assert.deepEqual(
      pod.containers.map((c: ResourceInputs) => c.name),
      ["clean-up"],
    );
    for (const c of [...pod.initContainers, ...pod.containers]) {
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
      assert.ok(c.resources.limits.memory, `${c.name} has a memory limit`);
    }
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const verify = pod.initContainers[3];
    assert.equal(verify.image, images.postgres);
    const password = verify.env.find((e: ResourceInputs) => e.name === "PGPASSWORD");
    assert.deepEqual(password.valueFrom.secretKeyRef, { name: "restore-drill-reader", key: "password" });
    assert.ok(verify.env.every((e: ResourceInputs) => !String(e.value ?? "").includes("reader-password")));
    assert.match(
      verify.env.find((e: ResourceInputs) => e.name === "SOURCE_URI").value,
      /^postgresql:\/\/restore_drill@mcp-registry-db-r\.mcp-registry\.svc:5432\/registry$/,
    );
    assert.deepEqual(pod.initContainers[2].args, [
      "wait",
      "--for=condition=Ready",
      `cluster.postgresql.cnpg.io/${SCRATCH_CLUSTER_NAME}`,
      "--timeout=10800s",
    ]);
  });

  it("ships the verification script and a valid scratch Cluster bootstrapped by recovery", async () => {
    const { resources } = await drill("local", minioAccess(RESTORE_DRILL_NAMESPACE));
    const config = named(resources, "ConfigMap", "restore-drill");
    assert.equal(config.data["restore-drill.sh"], fs.readFileSync(RESTORE_DRILL_SCRIPT_PATH, "utf8"));
    const scratch = JSON.parse(config.data["scratch-cluster.json"]) as ResourceInputs;
    assert.deepEqual(validateObject(scratch), { status: "valid" });
    assert.equal(scratch.metadata.name, SCRATCH_CLUSTER_NAME);
    assert.equal(scratch.spec.instances, 1);
    assert.deepEqual(scratch.spec.bootstrap.recovery, { source: "origin", database: "registry" });
    assert.deepEqual(scratch.spec.externalClusters[0].plugin.parameters, {
      barmanObjectName: `${DATABASE_CLUSTER_NAME}-backups`,
      serverName: DATABASE_CLUSTER_NAME,
    });
    assert.equal(
      scratch.spec.plugins,
      undefined,
      "the scratch cluster never archives into the source's store",
    );
    const store = one(resources, "ObjectStore");
    assert.equal(store.metadata.namespace, RESTORE_DRILL_NAMESPACE);
    assert.equal(store.spec.retentionPolicy, undefined, "only the source's archiver expires backups");
    assert.deepEqual(schemaProblems(resources), []);
  });

  it("on GKE the scratch instances use Workload Identity", async () => {
    const { resources } = await drill("production", gcsAccess());
    const scratch = JSON.parse(named(resources, "ConfigMap", "restore-drill").data["scratch-cluster.json"]);
    assert.deepEqual(scratch.spec.serviceAccountTemplate.metadata.annotations, {
      "iam.gke.io/gcp-service-account": GSA_EMAIL,
    });
    assert.deepEqual(one(resources, "ObjectStore").spec.configuration.googleCredentials, {
      gkeEnvironment: true,
    });
  });

  it("has least-privilege RBAC: CNPG clusters in its own namespace only", async () => {
    const { resources } = await drill("local", minioAccess(RESTORE_DRILL_NAMESPACE));
    const role = one(resources, "Role");
    assert.equal(role.metadata.namespace, RESTORE_DRILL_NAMESPACE);
    assert.deepEqual(role.rules, [
      {
        apiGroups: ["postgresql.cnpg.io"],
        resources: ["clusters"],
        verbs: ["get", "list", "watch", "create", "delete"],
      },
    ]);
    assert.equal(kind(resources, "ClusterRole").length, 0);
    assert.equal(kind(resources, "ClusterRoleBinding").length, 0);
    const ns = one(resources, "Namespace");
    assert.equal(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
    const drillPolicy = named(resources, "NetworkPolicy", "restore-drill");
    assert.deepEqual(drillPolicy.spec.ingress, []);
  });

  it("rejects a deadline too short for a restore", async () => {
    await assert.rejects(
      capture((provider) => {
        new RestoreDrill("drill", {
          provider,
          namespace: RESTORE_DRILL_NAMESPACE,
          sourceCluster: DATABASE_CLUSTER_NAME,
          sourceNamespace: REGISTRY_NAMESPACE,
          scratchCluster: SCRATCH_CLUSTER_NAME,
          schedule: "0 6 * * *",
          backupAccess: minioAccess(RESTORE_DRILL_NAMESPACE),
          ...storedReaderPassword(),
          database: settingsFor("local").database,
          storageClass: "standard",
          platform,
          deadlineSeconds: 60,
        });
      }),
      /deadlineSeconds must be a whole number of at least 600/,
    );
  });

  it("scratch manifest helper matches the CNPG model", () => {
    const manifest = scratchClusterManifest({
      name: SCRATCH_CLUSTER_NAME,
      namespace: RESTORE_DRILL_NAMESPACE,
      sourceCluster: DATABASE_CLUSTER_NAME,
      objectStoreName: "store",
      barmanPluginName: platform.cnpg.barmanPluginName,
      storageSize: "1Gi",
      storageClass: "standard",
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
    });
    assert.deepEqual(validateObject(manifest), { status: "valid" });
  });
});

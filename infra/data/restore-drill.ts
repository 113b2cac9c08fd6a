// The restore drill: a CronJob that restores the latest backup (base backup + archived WAL) into a scratch
// CloudNativePG cluster in its own namespace, compares it with the live source, and deletes the scratch
// cluster. The Job succeeds only when restore and verification pass, so kube-state-metrics'
// `kube_cronjob_status_last_successful_time` for this CronJob is the "last successful restore" metric.
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { mirrorImage, type ImageMirror } from "../lib/mirror";
import { API_SERVER_PORTS, HardenedNamespace } from "../lib/namespace";
import { appLabels, hardenedContainer, hardenedPodSpec } from "../lib/workload";
import type { SecretStore, SecretValue } from "../secrets/types";
import type { Platform } from "../platform/types";
import type { DatabaseSettings } from "../settings";
import type { BackupAccess } from "../storage/types";
import { images } from "../versions";
import { objectStoreSpec } from "./database";
import {
  DATABASE_NAME,
  DRILL_COMPONENT,
  DRILL_OF_ANNOTATION,
  DRILL_READER_ROLE,
  INSTANCE_STATUS_PORT,
  POSTGRES_PORT,
  databaseServices,
} from "./naming";

/** The verification script, shipped to the drill in a ConfigMap. */
export const RESTORE_DRILL_SCRIPT_PATH = path.join(__dirname, "restore-drill.sh");

export interface RestoreDrillArgs {
  readonly provider: k8s.Provider;
  /** Namespace the drill, its RBAC and the scratch cluster live in (created here). */
  readonly namespace: string;
  /** The CNPG cluster whose backups are drilled, and its namespace. */
  readonly sourceCluster: string;
  readonly sourceNamespace: string;
  /** Name of the scratch cluster; its instance pods run as a service account of this name. */
  readonly scratchCluster: string;
  /** Five-field cron. */
  readonly schedule: string;
  /**
   * Backups of the source, readable in `namespace` by `scratchCluster`'s service account; a function is
   * called with the drill's namespace once it exists, so the store can create credentials in it.
   */
  readonly backupAccess: BackupAccess | ((namespace: HardenedNamespace) => BackupAccess);
  /** Password of the read-only role the source database grants the drill, as stored by `secrets`. */
  readonly readerPassword: SecretValue;
  /** The stack's secret store, which also keeps the reader's password. */
  readonly secrets: SecretStore;
  /** Size of the scratch cluster: the source's storage and resources. */
  readonly database: Pick<Readonly<DatabaseSettings>, "storageSize" | "resources">;
  readonly storageClass: string;
  readonly platform: Pick<Platform, "cnpg" | "namespaces" | "ready">;
  /** Upper bound of one drill (restore, verify, clean-up) before Kubernetes fails the Job. */
  readonly deadlineSeconds?: number;
  /** Pull kubectl and PostgreSQL through these mirrors (GKE); from their upstreams otherwise. */
  readonly imageMirror?: ImageMirror;
}

export interface ScratchClusterInput {
  readonly name: string;
  readonly namespace: string;
  readonly sourceCluster: string;
  readonly objectStoreName: string;
  readonly barmanPluginName: string;
  readonly storageSize: string;
  readonly storageClass: string;
  readonly resources: DatabaseSettings["resources"];
  /** Workload Identity annotations for the scratch instances' service account (GKE). */
  readonly serviceAccountAnnotations?: Record<string, string>;
  /** The PostgreSQL image (mirrored on GKE); images.postgres when omitted. */
  readonly imageName?: string;
}

/** The scratch Cluster the drill creates: one instance bootstrapped by recovery from the source's backups. */
export function scratchClusterManifest(input: ScratchClusterInput): Record<string, unknown> {
  return {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Cluster",
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: appLabels(input.name, "restore-drill-scratch"),
    },
    spec: {
      instances: 1,
      imageName: input.imageName ?? images.postgres,
      enableSuperuserAccess: false,
      storage: { size: input.storageSize, storageClass: input.storageClass },
      resources: { requests: { ...input.resources.requests }, limits: { ...input.resources.limits } },
      // No target: recover to the end of the archived WAL, i.e. the latest restorable point.
      bootstrap: { recovery: { source: "origin", database: DATABASE_NAME } },
      externalClusters: [
        {
          name: "origin",
          plugin: {
            name: input.barmanPluginName,
            parameters: { barmanObjectName: input.objectStoreName, serverName: input.sourceCluster },
          },
        },
      ],
      ...(input.serviceAccountAnnotations === undefined
        ? {}
        : { serviceAccountTemplate: { metadata: { annotations: input.serviceAccountAnnotations } } }),
    },
  };
}

export class RestoreDrill extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly cronJob: k8s.batch.v1.CronJob;
  readonly cronJobName: string;

  constructor(name: string, args: RestoreDrillArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:data:RestoreDrill", name, {}, opts);
    const script = fs.readFileSync(RESTORE_DRILL_SCRIPT_PATH, "utf8");
    const deadline = args.deadlineSeconds ?? 4 * 3600;
    if (!Number.isInteger(deadline) || deadline < 600)
      throw new Error("RestoreDrill: deadlineSeconds must be a whole number of at least 600");
    const { provider, scratchCluster } = args;

    const ns = new HardenedNamespace(
      `${name}-namespace`,
      { provider, name: args.namespace, podSecurity: "restricted" },
      { parent: this },
    );
    this.namespace = ns.name;
    const namespace = ns.name;
    const access = typeof args.backupAccess === "function" ? args.backupAccess(ns) : args.backupAccess;
    const child = { parent: this, provider, dependsOn: [ns] };
    const crd = { parent: this, provider, dependsOn: [ns, ...args.platform.ready] };
    this.cronJobName = "restore-drill";
    const labels = { ...appLabels(this.cronJobName, DRILL_COMPONENT) };
    const drillPods = {
      "app.kubernetes.io/name": this.cronJobName,
      "app.kubernetes.io/component": DRILL_COMPONENT,
    };
    const scratchPods = { "cnpg.io/cluster": scratchCluster };

    const readerSecret = args.secrets.secret(
      `${name}-reader`,
      {
        namespace,
        name: "restore-drill-reader",
        type: "kubernetes.io/basic-auth",
        labels,
        data: { username: DRILL_READER_ROLE, password: args.readerPassword },
      },
      child,
    );

    // The scratch cluster reads the source's backups through an ObjectStore of its own namespace; without
    // a retention policy, as only the source's archiver may expire backups.
    const objectStoreName = `${args.sourceCluster}-backups`;
    const storeSpec = objectStoreSpec(access, "");
    delete storeSpec.retentionPolicy;
    new k8s.apiextensions.CustomResource(
      `${name}-object-store`,
      {
        apiVersion: "barmancloud.cnpg.io/v1",
        kind: "ObjectStore",
        metadata: { name: objectStoreName, namespace, labels },
        spec: storeSpec,
      },
      crd,
    );

    const annotations = access.auth.kind === "workload-identity" ? access.auth.annotations : undefined;
    const manifest = pulumi.all([namespace, annotations ?? pulumi.output(undefined)]).apply(([nsName, wi]) =>
      JSON.stringify(
        scratchClusterManifest({
          name: scratchCluster,
          namespace: nsName,
          sourceCluster: args.sourceCluster,
          objectStoreName,
          barmanPluginName: args.platform.cnpg.barmanPluginName,
          storageSize: args.database.storageSize,
          storageClass: args.storageClass,
          resources: args.database.resources,
          imageName: mirrorImage(images.postgres, args.imageMirror),
          ...(wi === undefined ? {} : { serviceAccountAnnotations: wi }),
        }),
        null,
        2,
      ),
    );
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { name: "restore-drill", namespace, labels },
        data: { "restore-drill.sh": script, "scratch-cluster.json": manifest },
      },
      child,
    );

    const account = new k8s.core.v1.ServiceAccount(
      `${name}-account`,
      { metadata: { name: this.cronJobName, namespace, labels }, automountServiceAccountToken: false },
      child,
    );
    // Least privilege: create, watch and delete CNPG clusters in the drill's own namespace, nothing else.
    const role = new k8s.rbac.v1.Role(
      `${name}-role`,
      {
        metadata: { name: this.cronJobName, namespace, labels },
        rules: [
          {
            apiGroups: ["postgresql.cnpg.io"],
            resources: ["clusters"],
            verbs: ["get", "list", "watch", "create", "delete"],
          },
        ],
      },
      child,
    );
    new k8s.rbac.v1.RoleBinding(
      `${name}-binding`,
      {
        metadata: { name: this.cronJobName, namespace, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace }],
      },
      child,
    );

    const clusterRef = `cluster.postgresql.cnpg.io/${scratchCluster}`;
    const small = { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } };
    const kubectl = (containerName: string, kubectlArgs: string[]) =>
      hardenedContainer({
        name: containerName,
        image: mirrorImage(images.kubectl, args.imageMirror),
        args: kubectlArgs,
        env: [{ name: "HOME", value: "/tmp" }],
        resources: small,
        volumeMounts: [{ name: "drill", mountPath: "/drill", readOnly: true }],
      });
    const source = databaseServices(args.sourceCluster);
    const scratch = databaseServices(scratchCluster);
    const uri = (host: string) =>
      `postgresql://${DRILL_READER_ROLE}@${host}:${POSTGRES_PORT}/${DATABASE_NAME}`;

    this.cronJob = new k8s.batch.v1.CronJob(
      `${name}-cronjob`,
      {
        metadata: {
          name: this.cronJobName,
          namespace,
          labels,
          annotations: { [DRILL_OF_ANNOTATION]: args.sourceCluster },
        },
        spec: {
          schedule: args.schedule,
          concurrencyPolicy: "Forbid",
          startingDeadlineSeconds: 3600,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            metadata: { labels },
            spec: {
              backoffLimit: 0,
              activeDeadlineSeconds: deadline,
              template: {
                metadata: { labels },
                spec: hardenedPodSpec({
                  serviceAccountName: account.metadata.name,
                  // kubectl talks to the API server with this pod's token; scoped by the Role above.
                  automountServiceAccountToken: true,
                  restartPolicy: "Never",
                  // Steps run in order; a failed step fails the Job and leaves the scratch cluster for
                  // forensics until the next drill's first step removes it.
                  initContainers: [
                    kubectl("remove-previous", ["delete", clusterRef, "--ignore-not-found", "--wait=true"]),
                    kubectl("restore", ["create", "-f", "/drill/scratch-cluster.json"]),
                    kubectl("wait-ready", [
                      "wait",
                      "--for=condition=Ready",
                      clusterRef,
                      `--timeout=${Math.floor(deadline * 0.75)}s`,
                    ]),
                    hardenedContainer({
                      name: "verify",
                      image: mirrorImage(images.postgres, args.imageMirror),
                      command: ["bash", "/drill/restore-drill.sh"],
                      env: [
                        { name: "HOME", value: "/tmp" },
                        // Any instance of the source, a replica where one exists.
                        { name: "SOURCE_URI", value: uri(`${source.r}.${args.sourceNamespace}.svc`) },
                        { name: "RESTORE_URI", value: uri(`${scratch.rw}.${args.namespace}.svc`) },
                        {
                          name: "PGPASSWORD",
                          valueFrom: { secretKeyRef: { name: readerSecret.name, key: "password" } },
                        },
                        { name: "MARGIN_SECONDS", value: "300" },
                      ],
                      resources: {
                        requests: { cpu: "50m", memory: "64Mi" },
                        limits: { cpu: "500m", memory: "256Mi" },
                      },
                      volumeMounts: [{ name: "drill", mountPath: "/drill", readOnly: true }],
                    }),
                  ],
                  containers: [kubectl("clean-up", ["delete", clusterRef, "--wait=true"])],
                  volumes: [{ name: "drill", configMap: { name: config.metadata.name, defaultMode: 0o444 } }],
                }),
              },
            },
          },
        },
      },
      { ...child, dependsOn: [ns, config] },
    );

    this.networkPolicies(name, args, access, namespace, drillPods, scratchPods);
    this.registerOutputs({ namespace: this.namespace, cronJob: this.cronJobName });
  }

  private networkPolicies(
    name: string,
    args: RestoreDrillArgs,
    access: BackupAccess,
    namespace: pulumi.Output<string>,
    drillPods: Record<string, string>,
    scratchPods: Record<string, string>,
  ): void {
    const child = { parent: this, provider: args.provider };
    const tcp = (port: number) => ({ protocol: "TCP", port });
    const apiServer = { ports: API_SERVER_PORTS.map(tcp) };

    new k8s.networking.v1.NetworkPolicy(
      `${name}-drill-pods`,
      {
        metadata: { name: "restore-drill", namespace },
        spec: {
          podSelector: { matchLabels: drillPods },
          policyTypes: ["Ingress", "Egress"],
          ingress: [],
          egress: [
            apiServer,
            {
              to: [
                { podSelector: { matchLabels: scratchPods } },
                {
                  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": args.sourceNamespace } },
                  podSelector: { matchLabels: { "cnpg.io/cluster": args.sourceCluster } },
                },
              ],
              ports: [tcp(POSTGRES_PORT)],
            },
          ],
        },
      },
      child,
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-scratch-pods`,
      {
        metadata: { name: "restore-drill-scratch", namespace },
        spec: {
          // The scratch instance and CNPG's recovery job pod both carry the cluster label.
          podSelector: { matchLabels: scratchPods },
          policyTypes: ["Ingress", "Egress"],
          ingress: [
            { from: [{ podSelector: { matchLabels: drillPods } }], ports: [tcp(POSTGRES_PORT)] },
            {
              from: [
                {
                  namespaceSelector: {
                    matchLabels: { "kubernetes.io/metadata.name": args.platform.namespaces.cnpg },
                  },
                },
              ],
              ports: [tcp(INSTANCE_STATUS_PORT)],
            },
          ],
          egress: [apiServer, ...access.egress],
        },
      },
      child,
    );
  }
}

// Logical dumps with K8up: a Schedule whose backup runs the database pods' `k8up.io/backupcommand` (pg_dump)
// and stores the stream in a restic repository on the object store, plus prune (retention) and check runs.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { API_SERVER_PORTS } from "../lib/namespace";
import { NON_ROOT_ID, appLabels } from "../lib/workload";
import type { Platform } from "../platform/types";
import type { BackupSettings } from "../settings";
import type { ResticAccess } from "../storage/types";
import { resticRetention } from "./naming";

export interface LogicalBackupArgs {
  readonly provider: k8s.Provider;
  readonly namespace: pulumi.Input<string>;
  /** Name of the Schedule (and prefix of the jobs K8up creates). */
  readonly name: string;
  readonly backup: Readonly<BackupSettings>;
  /** Restic repository on the object store, with keys and password Secrets in `namespace`. */
  readonly restic: ResticAccess;
  readonly platform: Pick<Platform, "ready">;
}

export class LogicalBackup extends pulumi.ComponentResource {
  readonly schedule: k8s.apiextensions.CustomResource;

  constructor(name: string, args: LogicalBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:data:LogicalBackup", name, {}, opts);
    const retention = resticRetention(args.backup.retentionDays);
    const { provider, namespace, restic } = args;
    const child = { parent: this, provider };
    const history = { failedJobsHistoryLimit: 3, successfulJobsHistoryLimit: 1 };
    // K8up's restic pods are not ours to build; the Schedule hands them the restricted pod context.
    const podSecurityContext = {
      runAsNonRoot: true,
      runAsUser: NON_ROOT_ID,
      runAsGroup: NON_ROOT_ID,
      fsGroup: NON_ROOT_ID,
      seccompProfile: { type: "RuntimeDefault" },
    };

    this.schedule = new k8s.apiextensions.CustomResource(
      `${name}-schedule`,
      {
        apiVersion: "k8up.io/v1",
        kind: "Schedule",
        metadata: { name: args.name, namespace, labels: appLabels(args.name, "logical-backup") },
        spec: {
          backend: {
            repoPasswordSecretRef: {
              name: restic.repositoryPasswordSecret.name,
              key: restic.repositoryPasswordSecret.key,
            },
            s3: {
              endpoint: restic.endpointUrl,
              bucket: restic.bucket,
              accessKeyIDSecretRef: { name: restic.auth.secretName, key: restic.auth.accessKeyIdKey },
              secretAccessKeySecretRef: { name: restic.auth.secretName, key: restic.auth.secretAccessKeyKey },
            },
          },
          podSecurityContext,
          resourceRequirementsTemplate: {
            requests: { cpu: "50m", memory: "128Mi" },
            limits: { cpu: "1", memory: "512Mi" },
          },
          backup: { schedule: args.backup.resticSchedule, ...history },
          prune: { schedule: args.backup.pruneSchedule, retention, ...history },
          check: { schedule: args.backup.checkSchedule, ...history },
        },
      },
      { ...child, dependsOn: args.platform.ready },
    );

    new k8s.networking.v1.NetworkPolicy(
      `${name}-restic-jobs`,
      {
        metadata: { name: `${args.name}-restic-jobs`, namespace },
        spec: {
          // Every pod K8up starts for backup, prune and check carries `k8up.io/type`.
          podSelector: { matchExpressions: [{ key: "k8up.io/type", operator: "Exists" }] },
          policyTypes: ["Ingress", "Egress"],
          ingress: [],
          egress: [
            // The backup job execs the dump command in a database pod through the API server.
            { ports: API_SERVER_PORTS.map((port) => ({ protocol: "TCP", port })) },
            ...restic.egress,
          ],
        },
      },
      child,
    );

    this.registerOutputs({ schedule: args.name });
  }
}

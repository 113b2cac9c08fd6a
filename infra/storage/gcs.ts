// GKE backups: two Cloud Storage buckets (database, restic) with uniform access, public access prevention,
// versioning, soft delete and lifecycle per environment. CloudNativePG reaches its bucket through Workload
// Identity (no keys); K8up's restic only speaks S3 with keys, so it gets the HMAC key of a dedicated GSA.
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ANYWHERE, GKE_METADATA_EGRESS, tcp } from "../platform/network";
import type { SecretStore, SecretValue } from "../secrets/types";
import { checkGrantName, gcsBucketName, gcsLifecycleRules } from "./policy";
import type { BackupAccess, BackupConsumer, BackupObjectStore, GrantOptions, ResticAccess } from "./types";

/** The GCS XML API, which speaks S3 to clients holding an HMAC key. */
export const GCS_S3_ENDPOINT = "https://storage.googleapis.com";
const ACCESS_KEY_ID = "ACCESS_KEY_ID";
const SECRET_ACCESS_KEY = "ACCESS_SECRET_KEY";
/** Object read/write plus bucket metadata reads, which barman-cloud and restic do before writing. */
const WRITER_ROLES = ["roles/storage.objectAdmin", "roles/storage.legacyBucketReader"];
const READER_ROLES = ["roles/storage.objectViewer", "roles/storage.legacyBucketReader"];

export interface GcsStoreSettings {
  readonly location: string;
  readonly softDeleteDays: number;
  readonly noncurrentVersionDays: number;
  readonly deleteAfterDays: number;
}

export interface GcsStoreArgs {
  readonly provider: k8s.Provider;
  readonly project: string;
  readonly environment: string;
  readonly settings: Readonly<GcsStoreSettings>;
  /** Workload Identity pool (`<project>.svc.id.goog`). */
  readonly workloadPool: string;
  readonly protect: boolean;
  /** Where the HMAC key and the restic password are kept (Secret Manager on GKE). */
  readonly secrets: SecretStore;
}

export class GcsStore extends pulumi.ComponentResource implements BackupObjectStore {
  readonly kind = "gcs" as const;
  readonly location: pulumi.Output<string>;
  readonly databaseBucket: gcp.storage.Bucket;
  readonly resticBucket: gcp.storage.Bucket;
  private readonly provider: k8s.Provider;
  private readonly workloadPool: string;
  private readonly writerGsa: gcp.serviceaccount.Account;
  private readonly readerGsa: gcp.serviceaccount.Account;
  private readonly hmac: { accessId: pulumi.Output<string>; secret: pulumi.Output<string> };
  private readonly resticPassword: pulumi.Output<string>;
  private readonly secrets: SecretStore;
  private stored: { accessId: SecretValue; secret: SecretValue; password: SecretValue } | undefined;

  constructor(name: string, args: GcsStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:storage:Gcs", name, {}, opts);
    const { project, environment, settings } = args;
    this.provider = args.provider;
    this.workloadPool = args.workloadPool;
    this.secrets = args.secrets;
    const child = { parent: this };
    const stateful = { parent: this, protect: args.protect };

    const bucket = (purpose: "database" | "restic", bucketName: string) =>
      new gcp.storage.Bucket(
        `${name}-${purpose}`,
        {
          project,
          name: bucketName,
          location: settings.location,
          storageClass: "STANDARD",
          uniformBucketLevelAccess: true,
          publicAccessPrevention: "enforced",
          versioning: { enabled: true },
          softDeletePolicy: { retentionDurationSeconds: settings.softDeleteDays * 24 * 60 * 60 },
          lifecycleRules: gcsLifecycleRules(purpose, settings).map((rule) => ({
            action: { ...rule.action },
            condition: { ...rule.condition },
          })),
          // A backup bucket is never emptied by `pulumi destroy`.
          forceDestroy: false,
          labels: { "mcp-registry-environment": environment, purpose },
        },
        stateful,
      );
    this.databaseBucket = bucket("database", gcsBucketName(project, environment, "db-backups"));
    this.resticBucket = bucket("restic", gcsBucketName(project, environment, "restic"));
    this.location = pulumi.interpolate`gs://${this.databaseBucket.name} (database) and gs://${this.resticBucket.name} (restic)`;

    const gsa = (id: string, description: string) =>
      new gcp.serviceaccount.Account(
        `${name}-${id}`,
        { project, accountId: `mcp-${environment}-${id}`.slice(0, 30), displayName: description },
        child,
      );
    const grant = (
      resourceName: string,
      target: gcp.storage.Bucket,
      role: string,
      account: gcp.serviceaccount.Account,
    ) =>
      new gcp.storage.BucketIAMMember(
        resourceName,
        { bucket: target.name, role, member: pulumi.interpolate`serviceAccount:${account.email}` },
        child,
      );

    this.writerGsa = gsa("cnpg", "CloudNativePG backups (read-write)");
    this.readerGsa = gsa("cnpg-read", "CloudNativePG restores and drills (read-only)");
    WRITER_ROLES.forEach((role) =>
      grant(`${name}-cnpg-${roleSuffix(role)}`, this.databaseBucket, role, this.writerGsa),
    );
    READER_ROLES.forEach((role) =>
      grant(`${name}-cnpg-read-${roleSuffix(role)}`, this.databaseBucket, role, this.readerGsa),
    );

    const resticGsa = gsa("restic", "K8up restic backups (HMAC key, restic bucket only)");
    WRITER_ROLES.forEach((role) =>
      grant(`${name}-restic-${roleSuffix(role)}`, this.resticBucket, role, resticGsa),
    );
    const hmacKey = new gcp.storage.HmacKey(
      `${name}-restic-hmac`,
      { project, serviceAccountEmail: resticGsa.email, state: "ACTIVE" },
      { parent: this, additionalSecretOutputs: ["secret"] },
    );
    this.hmac = { accessId: pulumi.secret(hmacKey.accessId), secret: pulumi.secret(hmacKey.secret) };
    this.resticPassword = pulumi.secret(
      new random.RandomPassword(`${name}-restic-password`, { length: 48, special: false }, { parent: this })
        .result,
    );
    this.registerOutputs({ location: this.location });
  }

  grantDatabaseAccess(name: string, consumer: BackupConsumer, _opts?: GrantOptions): BackupAccess {
    checkGrantName(name);
    const account = consumer.readOnly ? this.readerGsa : this.writerGsa;
    new gcp.serviceaccount.IAMMember(
      `${name}-workload-identity`,
      {
        serviceAccountId: account.name,
        role: "roles/iam.workloadIdentityUser",
        member: pulumi.interpolate`serviceAccount:${this.workloadPool}[${consumer.namespace}/${consumer.serviceAccountName}]`,
      },
      { parent: this },
    );
    return {
      bucket: this.databaseBucket.name,
      destinationPath: pulumi.interpolate`gs://${this.databaseBucket.name}/cnpg`,
      endpointUrl: undefined,
      // Cloud Storage over HTTPS, and the metadata server that hands out the Workload Identity token.
      egress: [{ to: [ANYWHERE], ports: tcp(443) }, ...GKE_METADATA_EGRESS],
      auth: {
        kind: "workload-identity",
        serviceAccountEmail: account.email,
        annotations: account.email.apply((email): Record<string, string> => ({
          "iam.gke.io/gcp-service-account": email,
        })),
      },
    };
  }

  grantResticAccess(name: string, consumer: BackupConsumer, opts?: GrantOptions): ResticAccess {
    checkGrantName(name);
    const k8sOpts = { parent: this, provider: this.provider, dependsOn: opts?.dependsOn ?? [] };
    const store = this.secrets;
    // Stored once, whatever the number of grants; the secret store refuses the same id twice.
    this.stored ??= {
      accessId: store.value("restic-gcs-hmac-access-id", this.hmac.accessId, { parent: this }),
      secret: store.value("restic-gcs-hmac-secret", this.hmac.secret, { parent: this }),
      password: store.value("restic-repository-password", this.resticPassword, { parent: this }),
    };
    const keys = store.secret(
      `${name}-restic-s3`,
      {
        namespace: consumer.namespace,
        name: `${name}-restic-s3`,
        data: { [ACCESS_KEY_ID]: this.stored.accessId, [SECRET_ACCESS_KEY]: this.stored.secret },
      },
      k8sOpts,
    );
    const password = store.secret(
      `${name}-restic-repository`,
      {
        namespace: consumer.namespace,
        name: `${name}-restic-repository`,
        data: { password: this.stored.password },
      },
      k8sOpts,
    );
    return {
      bucket: this.resticBucket.name,
      endpointUrl: pulumi.output(GCS_S3_ENDPOINT),
      auth: {
        kind: "s3-secret",
        secretName: keys.name,
        namespace: consumer.namespace,
        accessKeyIdKey: ACCESS_KEY_ID,
        secretAccessKeyKey: SECRET_ACCESS_KEY,
      },
      repositoryPasswordSecret: { name: password.name, key: "password" },
      egress: [{ to: [ANYWHERE], ports: tcp(443) }],
    };
  }
}

function roleSuffix(role: string): string {
  return role.split("/")[1]!.replace(/\./g, "-").toLowerCase();
}

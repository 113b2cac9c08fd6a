// `local` backups: a single-node MinIO on a PVC (last community release image; MinIO is in maintenance mode),
// with generated root credentials, least-privilege users per access level, and a Job that creates the buckets.
// Consumers see only S3 (endpoint, bucket, keys), so any other S3 server can take MinIO's place.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { HardenedNamespace } from "../lib/namespace";
import { appLabels, hardenedContainer, hardenedPodSpec, selectorLabels } from "../lib/workload";
import { allow, namespacePeer, tcp } from "../platform/network";
import { images } from "../versions";
import { checkGrantName, s3BucketPolicy } from "./policy";
import type {
  BackupAccess,
  BackupConsumer,
  BackupObjectStore,
  GrantOptions,
  ResticAccess,
  S3SecretAuth,
} from "./types";

const S3_PORT = 9000;
const ACCESS_KEY_ID = "ACCESS_KEY_ID";
const SECRET_ACCESS_KEY = "ACCESS_SECRET_KEY";

export interface MinioStoreArgs {
  readonly provider: k8s.Provider;
  readonly namespace: string;
  readonly storageClass: string;
  readonly storageSize: string;
  /** Database bucket; restic gets `<bucket>-restic`. */
  readonly bucket: string;
  readonly dependsOn?: pulumi.Resource[];
}

interface Credentials {
  readonly accessKey: pulumi.Output<string>;
  readonly secretKey: pulumi.Output<string>;
}

export class MinioStore extends pulumi.ComponentResource implements BackupObjectStore {
  readonly kind = "minio" as const;
  readonly location: pulumi.Output<string>;
  readonly endpointUrl: pulumi.Output<string>;
  readonly databaseBucket: string;
  readonly resticBucket: string;
  /** The bucket Job: grants wait for it so consumers never see a missing bucket or user. */
  readonly ready: pulumi.Resource[];
  private readonly provider: k8s.Provider;
  private readonly namespace: string;
  private readonly writer: Credentials;
  private readonly reader: Credentials;
  private readonly resticPassword: pulumi.Output<string>;

  constructor(name: string, args: MinioStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:storage:Minio", name, {}, opts);
    const provider = args.provider;
    this.provider = provider;
    this.namespace = args.namespace;
    this.databaseBucket = args.bucket;
    this.resticBucket = `${args.bucket}-restic`;
    this.endpointUrl = pulumi.output(`http://minio.${args.namespace}.svc:${S3_PORT}`);
    this.location = pulumi.output(
      `s3://${this.databaseBucket} (database) and s3://${this.resticBucket} (restic) at http://minio.${args.namespace}.svc:${S3_PORT}`,
    );

    // restricted: MinIO and mc run as a fixed non-root UID with a read-only root filesystem.
    const ns = new HardenedNamespace(
      `${name}-ns`,
      { provider, name: args.namespace, podSecurity: "restricted", allowSameNamespace: true },
      { parent: this, dependsOn: args.dependsOn },
    );
    const k8sOpts = { parent: this, provider, dependsOn: [ns] };

    const rootUser = new random.RandomString(
      `${name}-root-user`,
      { length: 20, special: false, upper: false },
      { parent: this },
    );
    const rootPassword = new random.RandomPassword(
      `${name}-root-password`,
      { length: 40, special: false },
      { parent: this },
    );
    this.writer = this.credentials(`${name}-writer`);
    this.reader = this.credentials(`${name}-reader`);
    this.resticPassword = pulumi.secret(
      new random.RandomPassword(`${name}-restic-password`, { length: 48, special: false }, { parent: this })
        .result,
    );

    const rootSecret = new k8s.core.v1.Secret(
      `${name}-root`,
      {
        metadata: { name: "minio-root", namespace: args.namespace },
        type: "Opaque",
        stringData: { user: rootUser.result, password: rootPassword.result },
      },
      k8sOpts,
    );
    const usersSecret = new k8s.core.v1.Secret(
      `${name}-users`,
      {
        metadata: { name: "minio-users", namespace: args.namespace },
        type: "Opaque",
        stringData: {
          "writer-access-key": this.writer.accessKey,
          "writer-secret-key": this.writer.secretKey,
          "reader-access-key": this.reader.accessKey,
          "reader-secret-key": this.reader.secretKey,
        },
      },
      k8sOpts,
    );
    const pvc = new k8s.core.v1.PersistentVolumeClaim(
      `${name}-data`,
      {
        metadata: { name: "minio-data", namespace: args.namespace },
        spec: {
          accessModes: ["ReadWriteOnce"],
          storageClassName: args.storageClass,
          resources: { requests: { storage: args.storageSize } },
        },
      },
      k8sOpts,
    );

    const labels = appLabels("minio", "object-store", images.minio.split(":")[1]);
    const selector = selectorLabels("minio", "object-store");
    const secretEnv = (envName: string, secret: string, key: string) => ({
      name: envName,
      valueFrom: { secretKeyRef: { name: secret, key } },
    });
    const deployment = new k8s.apps.v1.Deployment(
      `${name}-server`,
      {
        metadata: { name: "minio", namespace: args.namespace, labels },
        spec: {
          replicas: 1,
          // One writer on a ReadWriteOnce volume: the old pod must be gone before the new one mounts it.
          strategy: { type: "Recreate" },
          selector: { matchLabels: selector },
          template: {
            metadata: { labels },
            spec: hardenedPodSpec({
              containers: [
                hardenedContainer({
                  name: "minio",
                  image: images.minio,
                  args: ["server", "/data", "--address", `:${S3_PORT}`, "--certs-dir", "/tmp/certs"],
                  env: [
                    secretEnv("MINIO_ROOT_USER", "minio-root", "user"),
                    secretEnv("MINIO_ROOT_PASSWORD", "minio-root", "password"),
                    { name: "MINIO_BROWSER", value: "off" },
                    { name: "HOME", value: "/tmp" },
                  ],
                  ports: [{ name: "s3", containerPort: S3_PORT }],
                  readinessProbe: {
                    httpGet: { path: "/minio/health/ready", port: S3_PORT },
                    periodSeconds: 10,
                  },
                  livenessProbe: {
                    httpGet: { path: "/minio/health/live", port: S3_PORT },
                    periodSeconds: 20,
                    failureThreshold: 3,
                  },
                  resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
                  volumeMounts: [{ name: "data", mountPath: "/data" }],
                }),
              ],
              volumes: [{ name: "data", persistentVolumeClaim: { claimName: "minio-data" } }],
            }),
          },
        },
      },
      { ...k8sOpts, dependsOn: [ns, rootSecret, pvc] },
    );
    const service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: "minio", namespace: args.namespace, labels },
        spec: {
          type: "ClusterIP",
          selector,
          ports: [{ name: "s3", port: S3_PORT, targetPort: S3_PORT, protocol: "TCP" }],
        },
      },
      k8sOpts,
    );

    const job = new k8s.batch.v1.Job(
      `${name}-buckets`,
      {
        metadata: {
          name: "minio-buckets",
          namespace: args.namespace,
          labels: appLabels("minio-buckets", "setup"),
        },
        spec: {
          backoffLimit: 6,
          activeDeadlineSeconds: 600,
          template: {
            metadata: { labels: appLabels("minio-buckets", "setup") },
            spec: hardenedPodSpec({
              restartPolicy: "OnFailure",
              containers: [
                hardenedContainer({
                  name: "mc",
                  image: images.minioClient,
                  command: ["/bin/sh", "-c", bucketSetupScript()],
                  env: [
                    { name: "MC_CONFIG_DIR", value: "/tmp/.mc" },
                    { name: "MINIO_URL", value: `http://minio.${args.namespace}.svc:${S3_PORT}` },
                    { name: "BUCKETS", value: `${this.databaseBucket} ${this.resticBucket}` },
                    {
                      name: "WRITER_POLICY",
                      value: s3BucketPolicy([this.databaseBucket, this.resticBucket], false),
                    },
                    {
                      name: "READER_POLICY",
                      value: s3BucketPolicy([this.databaseBucket, this.resticBucket], true),
                    },
                    secretEnv("MINIO_ROOT_USER", "minio-root", "user"),
                    secretEnv("MINIO_ROOT_PASSWORD", "minio-root", "password"),
                    secretEnv("WRITER_ACCESS_KEY", "minio-users", "writer-access-key"),
                    secretEnv("WRITER_SECRET_KEY", "minio-users", "writer-secret-key"),
                    secretEnv("READER_ACCESS_KEY", "minio-users", "reader-access-key"),
                    secretEnv("READER_SECRET_KEY", "minio-users", "reader-secret-key"),
                  ],
                  resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "128Mi" } },
                }),
              ],
            }),
          },
        },
      },
      { ...k8sOpts, dependsOn: [deployment, service, usersSecret] },
    );
    this.ready = [job];
    this.registerOutputs({ location: this.location, endpointUrl: this.endpointUrl });
  }

  grantDatabaseAccess(name: string, consumer: BackupConsumer, opts?: GrantOptions): BackupAccess {
    checkGrantName(name);
    const auth = this.s3Secret(
      `${name}-backup-s3`,
      consumer,
      consumer.readOnly ? this.reader : this.writer,
      opts,
    );
    this.allowConsumer(name, consumer, opts);
    return {
      bucket: pulumi.output(this.databaseBucket),
      destinationPath: pulumi.output(`s3://${this.databaseBucket}/cnpg`),
      endpointUrl: this.endpointUrl,
      auth,
      egress: this.egressToMinio(),
    };
  }

  grantResticAccess(name: string, consumer: BackupConsumer, opts?: GrantOptions): ResticAccess {
    checkGrantName(name);
    const auth = this.s3Secret(
      `${name}-restic-s3`,
      consumer,
      consumer.readOnly ? this.reader : this.writer,
      opts,
    );
    this.allowConsumer(name, consumer, opts);
    const password = new k8s.core.v1.Secret(
      `${name}-restic-repository`,
      {
        metadata: { name: `${name}-restic-repository`, namespace: consumer.namespace },
        type: "Opaque",
        stringData: { password: this.resticPassword },
      },
      this.grantOpts(opts),
    );
    return {
      bucket: pulumi.output(this.resticBucket),
      endpointUrl: this.endpointUrl,
      auth,
      repositoryPasswordSecret: { name: password.metadata.name, key: "password" },
      egress: this.egressToMinio(),
    };
  }

  private egressToMinio(): k8s.types.input.networking.v1.NetworkPolicyEgressRule[] {
    return [
      {
        to: [
          {
            ...namespacePeer(this.namespace),
            podSelector: { matchLabels: selectorLabels("minio", "object-store") },
          },
        ],
        ports: tcp(S3_PORT),
      },
    ];
  }

  private credentials(name: string): Credentials {
    const accessKey = new random.RandomString(
      `${name}-access-key`,
      { length: 20, special: false, upper: false },
      {
        parent: this,
      },
    );
    const secretKey = new random.RandomPassword(
      `${name}-secret-key`,
      { length: 40, special: false },
      {
        parent: this,
      },
    );
    return { accessKey: pulumi.secret(accessKey.result), secretKey: pulumi.secret(secretKey.result) };
  }

  private grantOpts(opts: GrantOptions | undefined): pulumi.CustomResourceOptions {
    return { parent: this, provider: this.provider, dependsOn: [...this.ready, ...(opts?.dependsOn ?? [])] };
  }

  private s3Secret(
    secretName: string,
    consumer: BackupConsumer,
    credentials: Credentials,
    opts: GrantOptions | undefined,
  ): S3SecretAuth {
    const secret = new k8s.core.v1.Secret(
      secretName,
      {
        metadata: { name: secretName, namespace: consumer.namespace },
        type: "Opaque",
        stringData: { [ACCESS_KEY_ID]: credentials.accessKey, [SECRET_ACCESS_KEY]: credentials.secretKey },
      },
      this.grantOpts(opts),
    );
    return {
      kind: "s3-secret",
      secretName: secret.metadata.name,
      namespace: consumer.namespace,
      accessKeyIdKey: ACCESS_KEY_ID,
      secretAccessKeyKey: SECRET_ACCESS_KEY,
    };
  }

  /** MinIO's side of the network: S3 from the consumer's namespace (once per grant). */
  private allowConsumer(name: string, consumer: BackupConsumer, opts: GrantOptions | undefined): void {
    allow(
      `${name}-${consumer.serviceAccountName}-to-minio`,
      {
        namespace: this.namespace,
        name: `allow-s3-${name}-${consumer.serviceAccountName}`.slice(0, 63),
        podLabels: selectorLabels("minio", "object-store"),
        ingress: [{ from: [namespacePeer(consumer.namespace)], ports: tcp(S3_PORT) }],
      },
      { parent: this, provider: this.provider, dependsOn: opts?.dependsOn ?? [] },
    );
  }
}

/** Idempotent bucket and user setup: re-running it (a new Job after a change) converges, never fails on "exists". */
export function bucketSetupScript(): string {
  return [
    "set -eu",
    // MinIO may still be starting; the Job's activeDeadlineSeconds bounds the wait.
    'until mc alias set store "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null; do sleep 5; done',
    'for bucket in $BUCKETS; do mc mb --ignore-existing "store/$bucket"; done',
    'printf "%s" "$WRITER_POLICY" > /tmp/writer.json',
    'printf "%s" "$READER_POLICY" > /tmp/reader.json',
    "mc admin policy create store backup-writer /tmp/writer.json",
    "mc admin policy create store backup-reader /tmp/reader.json",
    'mc admin user add store "$WRITER_ACCESS_KEY" "$WRITER_SECRET_KEY"',
    'mc admin user add store "$READER_ACCESS_KEY" "$READER_SECRET_KEY"',
    'mc admin user info store "$WRITER_ACCESS_KEY" | grep -q backup-writer || mc admin policy attach store backup-writer --user "$WRITER_ACCESS_KEY"',
    'mc admin user info store "$READER_ACCESS_KEY" | grep -q backup-reader || mc admin policy attach store backup-reader --user "$READER_ACCESS_KEY"',
  ].join("\n");
}

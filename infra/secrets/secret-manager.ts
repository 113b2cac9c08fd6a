// staging and production: every secret value lives in Google Secret Manager (one secret per value, replicated in
// the stack's region), readable only by External Secrets Operator's service account, and reaches the cluster
// through an ExternalSecret that names the exact version. The first version comes from Pulumi (stack config
// secrets and generated values); rotations add versions outside Pulumi and pin them in `secretVersions`.
import { createHash } from "node:crypto";
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ImageMirror } from "../lib/mirror";
import type { ChartSource } from "../platform/chart-archive";
import { ExternalSecretsOperator, SECRET_STORE } from "../platform/external-secrets";
import { secretDescription, type SecretId } from "./catalog";
import type { ManagedSecret, SecretSpec, SecretStore, SecretValue } from "./types";

/** How often ESO re-reads each pinned version, which also undoes any hand edit of the Kubernetes Secret. */
export const REFRESH_INTERVAL = "1h";
export const ACCESSOR_ROLE = "roles/secretmanager.secretAccessor";

export interface SecretManagerStoreArgs {
  readonly provider: k8s.Provider;
  readonly project: string;
  readonly region: string;
  readonly workloadPool: string;
  readonly chartSource: ChartSource;
  readonly imageMirror: ImageMirror | undefined;
  /** Namespaces that may hold ExternalSecrets (the store refuses every other). */
  readonly consumerNamespaces: readonly string[];
  /** Versions pinned by SREs after a rotation (settings `secretVersions`); the Pulumi-created one otherwise. */
  readonly versions: Readonly<Partial<Record<SecretId, number>>>;
  readonly replicas: number;
  readonly protect: boolean;
  readonly dependsOn: pulumi.Resource[];
}

interface ManagerValue extends SecretValue {
  /** The version ExternalSecrets read: the pinned one, else the one Pulumi created. */
  readonly version: pulumi.Output<string>;
}

/** The Secret Manager secret id of a catalog value (the catalog ids are valid ids as they are). */
export function secretManagerId(id: SecretId): string {
  return id;
}

export class SecretManagerStore extends pulumi.ComponentResource implements SecretStore {
  readonly kind = "secret-manager" as const;
  readonly operator: ExternalSecretsOperator;
  private readonly values = new Map<SecretId, ManagerValue>();

  constructor(
    name: string,
    private readonly args: SecretManagerStoreArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("mcp-registry:secrets:SecretManagerStore", name, {}, opts);
    const api = new gcp.projects.Service(
      `${name}-api`,
      {
        project: args.project,
        service: "secretmanager.googleapis.com",
        disableOnDestroy: false,
        disableDependentServices: false,
      },
      { parent: this },
    );
    this.operator = new ExternalSecretsOperator(
      `${name}-operator`,
      {
        provider: args.provider,
        chartSource: args.chartSource,
        imageMirror: args.imageMirror,
        project: args.project,
        workloadPool: args.workloadPool,
        consumerNamespaces: args.consumerNamespaces,
        replicas: args.replicas,
        dependsOn: [...args.dependsOn, api],
      },
      { parent: this },
    );
    this.registerOutputs({ store: SECRET_STORE.name });
  }

  value(id: SecretId, value: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): SecretValue {
    if (this.values.has(id)) throw new Error(`secret value ${id} is stored twice`);
    const { project, region } = this.args;
    const at = { ...opts, dependsOn: [...toArray(opts.dependsOn), ...this.operator.ready] };
    const secret = new gcp.secretmanager.Secret(
      `${id}-secret`,
      {
        project,
        secretId: secretManagerId(id),
        // Kept in the stack's region only (data residency); Google replicates it within the region.
        replication: { userManaged: { replicas: [{ location: region }] } },
        labels: { "managed-by": "pulumi", "mcp-registry-secret": id },
        annotations: { description: secretDescription(id) },
      },
      { ...at, protect: this.args.protect },
    );
    const first = new gcp.secretmanager.SecretVersion(
      `${id}-version`,
      { secret: secret.id, secretData: pulumi.secret(value), deletionPolicy: "ABANDON" },
      // Abandon, never destroy: a replaced first version may still be pinned somewhere; SREs disable old versions.
      { ...at, additionalSecretOutputs: ["secretData"] },
    );
    new gcp.secretmanager.SecretIamMember(
      `${id}-eso-accessor`,
      { project, secretId: secret.secretId, role: ACCESSOR_ROLE, member: this.operator.member },
      at,
    );
    const pinned = this.args.versions[id];
    const version = pinned === undefined ? first.version : pulumi.output(String(pinned));
    const stored: ManagerValue = { id, version, revision: version.apply((v) => `${id}@${v}`) };
    this.values.set(id, stored);
    return stored;
  }

  secret(resourceName: string, spec: SecretSpec, opts: pulumi.CustomResourceOptions): ManagedSecret {
    const stored: { key: string; value: ManagerValue }[] = [];
    const literals: Record<string, string> = {};
    for (const [key, item] of Object.entries(spec.data)) {
      if (typeof item === "string") {
        literals[key] = item;
        continue;
      }
      const value = this.values.get(item.id);
      if (value === undefined) throw new Error(`Secret ${spec.name}: value ${item.id} was never stored`);
      stored.push({ key, value });
    }
    if (stored.length === 0) throw new Error(`Secret ${spec.name}: holds no stored value, only literals`);
    // A name known now is checked now; ESO's store conditions refuse any other namespace at run time.
    if (typeof spec.namespace === "string" && !this.args.consumerNamespaces.includes(spec.namespace))
      throw new Error(
        `Secret ${spec.name}: namespace ${spec.namespace} may not use ${SECRET_STORE.name} (consumerNamespaces)`,
      );
    const labels = spec.labels === undefined ? {} : { ...spec.labels };
    const external = new k8s.apiextensions.CustomResource(
      resourceName,
      {
        apiVersion: "external-secrets.io/v1",
        kind: "ExternalSecret",
        metadata: { name: spec.name, namespace: spec.namespace, labels },
        spec: {
          refreshInterval: REFRESH_INTERVAL,
          secretStoreRef: { kind: SECRET_STORE.kind, name: SECRET_STORE.name },
          target: {
            name: spec.name,
            creationPolicy: "Owner",
            template: {
              type: spec.type ?? "Opaque",
              metadata: { labels },
              // Non-secret keys (a user name) are written by the template; the fetched keys are merged in.
              ...(Object.keys(literals).length === 0
                ? {}
                : { engineVersion: "v2", mergePolicy: "Merge", data: literals }),
            },
          },
          data: stored.map(({ key, value }) => ({
            secretKey: key,
            remoteRef: { key: secretManagerId(value.id), version: value.version },
          })),
        },
      },
      { ...opts, dependsOn: [...toArray(opts.dependsOn), ...this.operator.ready] },
    );
    const revision = pulumi
      .all(stored.map(({ value }) => value.revision))
      .apply((parts) => createHash("sha256").update(parts.join(",")).digest("hex").slice(0, 16));
    return { name: pulumi.output(external.metadata).apply(() => spec.name), revision, resource: external };
  }
}

function toArray(
  value: pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> | undefined,
): pulumi.Input<pulumi.Resource>[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value as pulumi.Input<pulumi.Resource>];
}

// Data protection: database backups with enough retention and a restore drill, hardened GCS buckets with no
// public members, and `protect` on stateful resources in production.
import { K8S, annotationsOf, labelsOf, metadataName, namespaceOf, objectRef } from "./core/kubernetes";
import { resourcePolicy, stackPolicy, type Subject } from "./core/policy";
import { list, listAt, rec, recAt, str, strAt } from "./core/values";
import { sourceDatabases } from "./stack";

export const BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io";
export const RESTORE_DRILL_COMPONENT = "restore-drill";
export const DRILL_OF_ANNOTATION = "mcp-registry.io/drill-of";

export const GCP = {
  bucket: "gcp:storage/bucket:Bucket",
  bucketIamMember: "gcp:storage/bucketIAMMember:BucketIAMMember",
  bucketIamBinding: "gcp:storage/bucketIAMBinding:BucketIAMBinding",
  bucketIamPolicy: "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
  bucketAcl: "gcp:storage/bucketAccessControl:BucketAccessControl",
  defaultObjectAcl: "gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
  objectAcl: "gcp:storage/objectAccessControl:ObjectAccessControl",
  gkeCluster: "gcp:container/cluster:Cluster",
  nodePool: "gcp:container/nodePool:NodePool",
  kmsKeyRing: "gcp:kms/keyRing:KeyRing",
  kmsCryptoKey: "gcp:kms/cryptoKey:CryptoKey",
  artifactRegistry: "gcp:artifactregistry/repository:Repository",
} as const;

/** Days in a CNPG retention policy (`30d`, `4w`, `1m`), or undefined when malformed. */
export function retentionDays(policy: string): number | undefined {
  const match = /^([1-9][0-9]*)([dwm])$/.exec(policy);
  if (match === null) return undefined;
  return Number(match[1]) * { d: 1, w: 7, m: 30 }[match[2] as "d" | "w" | "m"];
}

export const backupRetention = stackPolicy({
  name: "data-backup-retention",
  description:
    "Every CloudNativePG Cluster (other than restore targets) archives WAL and base backups through the Barman " +
    `Cloud plugin (spec.plugins: ${BARMAN_PLUGIN}, isWALArchiver true, parameters.barmanObjectName) to an ` +
    "ObjectStore in its namespace whose spec.retentionPolicy keeps at least minRetentionDays (local 1, staging " +
    "7, production 30).",
  severity: "high",
  category: "security",
  remediationSteps:
    `Add {name: ${BARMAN_PLUGIN}, isWALArchiver: true, parameters: {barmanObjectName: <ObjectStore>}} to the ` +
    "Cluster's spec.plugins and set the ObjectStore's spec.retentionPolicy (e.g. 30d) to the environment minimum.",
  controls: [{ source: "Project baseline", id: "Point-in-time recovery with retention per environment" }],
  appliesTo: [K8S.cnpgCluster],
  config: {
    minRetentionDays: {
      type: "number",
      default: 30,
      description: "Shortest backup retention allowed, in days.",
    },
  },
  validate: ({ resources, config, report }) => {
    const stores = resources.filter((r) => r.type === K8S.objectStore);
    for (const cluster of sourceDatabases(resources)) {
      const ref = objectRef(cluster.props, cluster.name);
      const plugin = listAt(cluster.props, "spec", "plugins").find((p) => strAt(p, "name") === BARMAN_PLUGIN);
      if (plugin === undefined) {
        report(`database ${ref} has no ${BARMAN_PLUGIN} plugin (no WAL archiving or base backups)`, cluster);
        continue;
      }
      if (rec(plugin)?.enabled === false)
        report(`database ${ref} disables the ${BARMAN_PLUGIN} plugin`, cluster);
      if (rec(plugin)?.isWALArchiver !== true) {
        report(
          `database ${ref} does not archive WAL through ${BARMAN_PLUGIN} (isWALArchiver is not true)`,
          cluster,
        );
      }
      const storeName = strAt(plugin, "parameters", "barmanObjectName");
      const store = stores.find(
        (s) => metadataName(s.props) === storeName && namespaceOf(s.props) === namespaceOf(cluster.props),
      );
      if (store === undefined) {
        report(
          `database ${ref} names ObjectStore "${storeName ?? ""}", which the stack does not define`,
          cluster,
        );
        continue;
      }
      const policy = strAt(store.props, "spec", "retentionPolicy");
      const days = policy === undefined ? undefined : retentionDays(policy);
      if (days === undefined) {
        report(
          `ObjectStore ${objectRef(store.props, store.name)} has ${policy === undefined ? "no" : `a malformed (${policy})`} retentionPolicy`,
          store,
        );
      } else if (days < config.minRetentionDays) {
        report(
          `ObjectStore ${objectRef(store.props, store.name)} keeps backups ${policy} (${days} days); at least ` +
            `${config.minRetentionDays} days are required`,
          store,
        );
      }
    }
  },
});

export const restoreDrill = stackPolicy({
  name: "data-restore-drill",
  description:
    "Every CloudNativePG Cluster (other than restore targets) has a restore drill: a CronJob labelled " +
    `app.kubernetes.io/component: ${RESTORE_DRILL_COMPONENT} with annotation ${DRILL_OF_ANNOTATION}: <cluster name> ` +
    "that is not suspended.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Add the scheduled restore-drill CronJob for the database (restore the latest backup into a scratch cluster, " +
    `compare, export the result), labelled and annotated with ${DRILL_OF_ANNOTATION}.`,
  controls: [{ source: "Project baseline", id: "Backups proven by scheduled restores" }],
  appliesTo: [K8S.cnpgCluster],
  validate: ({ resources, report }) => {
    const drills = resources.filter(
      (r) =>
        r.type === K8S.cronJob &&
        labelsOf(recAt(r.props, "metadata"))["app.kubernetes.io/component"] === RESTORE_DRILL_COMPONENT,
    );
    for (const cluster of sourceDatabases(resources)) {
      const name = metadataName(cluster.props) ?? "";
      const qualified = `${namespaceOf(cluster.props)}/${name}`;
      const drill = drills.find((d) => {
        const target = annotationsOf(recAt(d.props, "metadata"))[DRILL_OF_ANNOTATION];
        return target === name || target === qualified;
      });
      const ref = objectRef(cluster.props, cluster.name);
      if (drill === undefined) report(`database ${ref} has no restore-drill CronJob`, cluster);
      else if (recAt(drill.props, "spec")?.suspend === true)
        report(`the restore drill of database ${ref} is suspended`, drill);
    }
  },
});

export const bucketHardening = resourcePolicy({
  name: "data-gcs-bucket-hardening",
  description:
    "Every GCS bucket has uniform bucket-level access, public access prevention enforced and object versioning.",
  severity: "high",
  category: "security",
  remediationSteps:
    'Set uniformBucketLevelAccess: true, publicAccessPrevention: "enforced" and versioning: {enabled: true}.',
  controls: [
    { source: "checkov", id: "CKV_GCP_29" },
    { source: "checkov", id: "CKV_GCP_114" },
    { source: "checkov", id: "CKV_GCP_78" },
    { source: "CIS GCP", id: "5.2" },
  ],
  appliesTo: [GCP.bucket],
  validate: ({ resource, report }) => {
    const props = resource.props;
    if (props.uniformBucketLevelAccess !== true) report("uniformBucketLevelAccess is not true");
    if (props.publicAccessPrevention !== "enforced") {
      report(
        `publicAccessPrevention is ${str(props.publicAccessPrevention) ?? "unset (inherited)"}, not enforced`,
      );
    }
    if (recAt(props, "versioning")?.enabled !== true) report("versioning is not enabled");
  },
});

const PUBLIC_MEMBERS = new Set(["allUsers", "allAuthenticatedUsers"]);

/** Members or ACL entities a resource grants, or undefined when a policy document cannot be parsed. */
function grantedMembers(resource: Subject): string[] | undefined {
  const props = resource.props;
  switch (resource.type) {
    case GCP.bucketIamMember:
      return [str(props.member) ?? ""];
    case GCP.bucketIamBinding:
      return list(props.members).map((m) => str(m) ?? "");
    case GCP.bucketIamPolicy: {
      const data = str(props.policyData);
      if (data === undefined) return [];
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        return undefined;
      }
      return listAt(parsed, "bindings").flatMap((b) => listAt(b, "members").map((m) => str(m) ?? ""));
    }
    default:
      return [str(props.entity) ?? ""];
  }
}

export const noPublicBuckets = resourcePolicy({
  name: "data-gcs-no-public-access",
  description: "No bucket IAM member, binding, policy or ACL grants allUsers or allAuthenticatedUsers.",
  severity: "critical",
  category: "security",
  remediationSteps:
    "Grant roles to specific service accounts or groups only; remove allUsers/allAuthenticatedUsers.",
  controls: [
    { source: "checkov", id: "CKV_GCP_28" },
    { source: "CIS GCP", id: "5.1" },
  ],
  appliesTo: [
    GCP.bucketIamMember,
    GCP.bucketIamBinding,
    GCP.bucketIamPolicy,
    GCP.bucketAcl,
    GCP.defaultObjectAcl,
    GCP.objectAcl,
  ],
  validate: ({ resource, report }) => {
    const members = grantedMembers(resource);
    if (members === undefined)
      return report("policyData is not valid JSON, so its members cannot be checked");
    for (const member of members) {
      if (PUBLIC_MEMBERS.has(member))
        report(`grants ${member} access to bucket ${strAt(resource.props, "bucket") ?? ""}`);
    }
  },
});

export const DEFAULT_STATEFUL_TYPES: readonly string[] = [
  GCP.gkeCluster,
  GCP.kmsKeyRing,
  GCP.kmsCryptoKey,
  GCP.bucket,
  GCP.artifactRegistry,
  K8S.cnpgCluster,
  K8S.pvc,
];

export const statefulProtected = stackPolicy({
  name: "data-stateful-resources-protected",
  description:
    "Where requireProtection is set (production), stateful resources carry Pulumi's protect option: the GKE " +
    "cluster, KMS key ring and keys, buckets, the Artifact Registry repository, CloudNativePG Clusters and PVCs " +
    "(config statefulTypes), and every Namespace that holds a database or a PVC (deleting it deletes them).",
  severity: "high",
  category: "security",
  remediationSteps:
    "Pass { protect: settings.protectStatefulResources } when creating the resource (and its namespace); " +
    "unprotect deliberately with `pulumi state unprotect` before a planned removal.",
  controls: [{ source: "Project baseline", id: "Stateful resources protected from deletion (production)" }],
  appliesTo: [],
  config: {
    requireProtection: {
      type: "boolean",
      default: true,
      description: "Require protect on stateful resources.",
    },
    statefulTypes: {
      type: "stringArray",
      default: DEFAULT_STATEFUL_TYPES,
      description: "Resource types that hold state.",
    },
  },
  validate: ({ resources, config, report, notApplicable }) => {
    if (!config.requireProtection) return notApplicable("protection is not required in this environment");
    const types = new Set(config.statefulTypes);
    const stateful = resources.filter((r) => types.has(r.type));
    const holding = new Set(
      resources
        .filter((r) => r.type === K8S.cnpgCluster || r.type === K8S.pvc)
        .map((r) => namespaceOf(r.props)),
    );
    const namespaces = resources.filter(
      (r) => r.type === K8S.namespace && holding.has(metadataName(r.props) ?? r.name),
    );
    if (stateful.length === 0 && namespaces.length === 0)
      return notApplicable("the stack has no stateful resources");
    for (const resource of stateful) {
      if (!resource.protect) report(`${resource.type} ${resource.name} is not protected`, resource);
    }
    for (const namespace of namespaces) {
      if (!namespace.protect) {
        report(
          `Namespace ${metadataName(namespace.props) ?? namespace.name} holds stateful resources and is not protected`,
          namespace,
        );
      }
    }
  },
});

export const dataProtectionPolicies = [
  backupRetention,
  restoreDrill,
  bucketHardening,
  noPublicBuckets,
  statefulProtected,
];

// The Google identity of package verification on GKE: a service account that the registry's Kubernetes
// service account acts as through Workload Identity, allowed to read the private Artifact Registry
// repositories that publishers' packages live in (its token comes from the GKE metadata server).
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

export interface RegistryPackageIdentityArgs {
  readonly project: string;
  /** Workload Identity pool (`<project>.svc.id.goog`). */
  readonly pool: string;
  readonly namespace: string;
  readonly serviceAccountName: string;
  /** `projects/<project>/locations/<location>/repositories/<repository>`, each granted artifactregistry.reader. */
  readonly repositories: readonly string[];
}

/** `projects/p/locations/l/repositories/r` -> its parts. */
export function repositoryParts(path: string): { project: string; location: string; repository: string } {
  const match = /^projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([^/]+)$/.exec(path);
  if (match === null)
    throw new Error(`'${path}' is not projects/<project>/locations/<location>/repositories/<repository>`);
  return { project: match[1] as string, location: match[2] as string, repository: match[3] as string };
}

export class RegistryPackageIdentity extends pulumi.ComponentResource {
  readonly email: pulumi.Output<string>;

  constructor(name: string, args: RegistryPackageIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:registry:RegistryPackageIdentity", name, {}, opts);
    const child = { parent: this };
    const account = new gcp.serviceaccount.Account(
      `${name}-account`,
      {
        project: args.project,
        accountId: "mcp-registry-packages",
        displayName: "MCP registry package verification (reads private package repositories)",
      },
      child,
    );
    new gcp.serviceaccount.IAMMember(
      `${name}-workload-identity`,
      {
        serviceAccountId: account.name,
        role: "roles/iam.workloadIdentityUser",
        member: `serviceAccount:${args.pool}[${args.namespace}/${args.serviceAccountName}]`,
      },
      child,
    );
    args.repositories.forEach((path, i) => {
      const { project, location, repository } = repositoryParts(path);
      new gcp.artifactregistry.RepositoryIamMember(
        `${name}-reader-${i}`,
        {
          project,
          location,
          repository,
          role: "roles/artifactregistry.reader",
          member: pulumi.interpolate`serviceAccount:${account.email}`,
        },
        child,
      );
    });
    this.email = account.email;
    this.registerOutputs({ email: this.email });
  }
}

// The stack's own mirrors in Artifact Registry: one remote (pull-through, caching) Docker repository per upstream
// registry the program and its charts pull from, and a standard repository holding the pinned Helm charts as OCI
// artifacts. The node service account may read the image mirrors and nothing else of the project's registries.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import {
  CHARTS_REPOSITORY,
  UPSTREAM_REGISTRIES,
  mirrorFor,
  remoteRepositoryId,
  type ImageMirror,
  type UpstreamRegistry,
} from "../lib/mirror";

export interface ArtifactMirrorsArgs {
  readonly project: string;
  readonly region: string;
  /** `serviceAccount:<email>` of the nodes: granted reader on each image mirror. */
  readonly nodeMember: pulumi.Input<string>;
  /** The reader role nodes get on a repository. */
  readonly readerRole: string;
  /** `protect: true` on the repositories (production). */
  readonly protect: boolean;
  readonly dependsOn: pulumi.Resource[];
}

/** Docker Hub is Artifact Registry's preset upstream; the others are addressed by their HTTPS endpoint. */
export function remoteConfig(
  upstream: UpstreamRegistry,
): gcp.types.input.artifactregistry.RepositoryRemoteRepositoryConfig {
  const description = `${upstream}, cached on first pull`;
  return upstream === "docker.io"
    ? { description, dockerRepository: { publicRepository: "DOCKER_HUB" } }
    : { description, commonRepository: { uri: `https://${upstream}` } };
}

export class ArtifactMirrors extends pulumi.ComponentResource {
  readonly mirror: ImageMirror;
  readonly remotes: gcp.artifactregistry.Repository[];
  readonly charts: gcp.artifactregistry.Repository;
  /** The node service account's reader grants: nodes may pull once these exist. */
  readonly grants: pulumi.Resource[];

  constructor(name: string, args: ArtifactMirrorsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:cluster:ArtifactMirrors", name, {}, opts);
    const { project, region } = args;
    const after = { parent: this, dependsOn: args.dependsOn, protect: args.protect };
    this.mirror = mirrorFor(project, region);

    // No cleanup policy: the cache is what keeps a rollout working when an upstream removes or rate-limits an image.
    this.remotes = UPSTREAM_REGISTRIES.map(
      (upstream) =>
        new gcp.artifactregistry.Repository(
          `${name}-${remoteRepositoryId(upstream)}`,
          {
            project,
            location: region,
            repositoryId: remoteRepositoryId(upstream),
            format: "DOCKER",
            mode: "REMOTE_REPOSITORY",
            description: `Pull-through mirror of ${upstream} for the cluster's nodes.`,
            remoteRepositoryConfig: remoteConfig(upstream),
          },
          after,
        ),
    );
    this.charts = new gcp.artifactregistry.Repository(
      `${name}-${CHARTS_REPOSITORY}`,
      {
        project,
        location: region,
        repositoryId: CHARTS_REPOSITORY,
        format: "DOCKER",
        description: "The Helm charts pinned in infra/versions.ts, pushed by scripts/mirror-charts.sh.",
        // A pinned version is pushed once; a tag can never be moved to other chart contents.
        dockerConfig: { immutableTags: true },
      },
      after,
    );
    this.grants = this.remotes.map(
      (repository, i) =>
        new gcp.artifactregistry.RepositoryIamMember(
          `${name}-${remoteRepositoryId(UPSTREAM_REGISTRIES[i]!)}-nodes-reader`,
          {
            project,
            location: region,
            repository: repository.name,
            role: args.readerRole,
            member: args.nodeMember,
          },
          { parent: this },
        ),
    );
    this.registerOutputs({ base: this.mirror.base });
  }
}

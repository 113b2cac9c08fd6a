// Pull-through mirrors (GKE stacks): every image a node pulls comes through an Artifact Registry remote repository
// of the stack's project, one per upstream registry, so a public registry's outage, rate limit or removed image
// cannot stop a rollout. Pure: which repository mirrors which upstream, and how a reference is rewritten.
import { parseImage } from "../../policies/src/core/images";

/** The upstream registries the program and its charts pull from, each mirrored by one remote repository. */
export const UPSTREAM_REGISTRIES = ["docker.io", "quay.io", "ghcr.io", "registry.k8s.io"] as const;
export type UpstreamRegistry = (typeof UPSTREAM_REGISTRIES)[number];

/** Artifact Registry repository of the mirrored Helm charts (a standard repository; scripts/mirror-charts.sh fills it). */
export const CHARTS_REPOSITORY = "charts";

/** Where the stack's mirrors live; undefined on Minikube, where nodes pull from the upstreams directly. */
export interface ImageMirror {
  /** `<region>-docker.pkg.dev/<project>`: the host and project every mirror repository sits below. */
  readonly base: string;
}

export function mirrorFor(project: string, region: string): ImageMirror {
  return { base: `${region}-docker.pkg.dev/${project}` };
}

/** `quay.io` → `quay-io`: the id of the remote repository that mirrors an upstream. */
export function remoteRepositoryId(upstream: UpstreamRegistry): string {
  return upstream.replace(/\./g, "-");
}

/** The registry to pull an upstream's images from: its mirror (`<base>/quay-io`), or the upstream itself. */
export function registryFor(upstream: UpstreamRegistry, mirror: ImageMirror | undefined): string {
  return mirror === undefined ? upstream : `${mirror.base}/${remoteRepositoryId(upstream)}`;
}

/** `oci://<base>/charts`: the chart source of a mirrored stack (settings `charts.source.baseUrl`). */
export function chartMirrorUrl(mirror: ImageMirror): string {
  return `oci://${mirror.base}/${CHARTS_REPOSITORY}`;
}

export class MirrorError extends Error {}

/**
 * An image reference pulled through the mirror: `quay.io/minio/mc:1` → `<base>/quay-io/minio/mc:1`,
 * `busybox:1.37` → `<base>/docker-io/library/busybox:1.37`. References already below the mirror's base (the
 * registry's own repository) stay as they are; an upstream without a mirror is an error, never a silent bypass.
 */
export function mirrorImage(reference: string, mirror: ImageMirror | undefined): string {
  if (mirror === undefined || reference.startsWith(`${mirror.base}/`)) return reference;
  const image = parseImage(reference);
  if (typeof image === "string") throw new MirrorError(image);
  const upstream = UPSTREAM_REGISTRIES.find((u) => u === image.registry);
  if (upstream === undefined)
    throw new MirrorError(
      `"${reference}" comes from ${image.registry}, which has no mirror (mirrored: ${UPSTREAM_REGISTRIES.join(", ")})`,
    );
  const tag = image.tag === undefined ? "" : `:${image.tag}`;
  const digest = image.digest === undefined ? "" : `@${image.digest}`;
  return `${registryFor(upstream, mirror)}/${image.path}${tag}${digest}`;
}

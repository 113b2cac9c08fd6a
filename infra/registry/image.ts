// The registry's container image: built from registry-app/ with @pulumi/command (Minikube's builder locally,
// docker buildx for linux/amd64 and linux/arm64 pushed to Artifact Registry on GKE), or a prebuilt image that
// CI promotes by digest. Builds are keyed on a content hash of the build context, so only a change to what
// goes into the image rebuilds it.
import * as fs from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSettings, RegistrySettings } from "../settings";
import { contentHash } from "../lib/content-hash";
import { dockerfileBaseImages } from "../lib/dockerfile";

/** The Pulumi project root (Pulumi.yaml): the working directory Pulumi runs the program and its commands in. */
const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
/** registry-app/, the image's build context. */
export const REGISTRY_APP_DIR = path.join(PROJECT_ROOT, "registry-app");
/** Repository name of the image, locally and in Artifact Registry. */
export const IMAGE_NAME = "mcp-registry";
/** The platforms GKE node pools may run (amd64 and Arm machine types). */
export const DEFAULT_PLATFORMS: readonly string[] = ["linux/amd64", "linux/arm64"];

const DIGEST_REF = /^[^\s@]+@sha256:[a-f0-9]{64}$/;
const TAG_LENGTH = 16;

/** Where the image comes from. */
export type ImageSource =
  /** `minikube -p <profile> image build` into the cluster's own runtime; nothing is pushed. */
  | { readonly kind: "minikube"; readonly profile: string }
  /** `docker buildx build --push` to `<repository>/mcp-registry`, referenced by the pushed digest. */
  | {
      readonly kind: "buildx";
      readonly repository: pulumi.Input<string>;
      readonly platforms?: readonly string[];
    }
  /** An image built elsewhere (CI promotes staging's digest to production); `requireDigest` on GKE. */
  | { readonly kind: "prebuilt"; readonly ref: string; readonly requireDigest: boolean };

export interface RegistryImageArgs {
  readonly source: ImageSource;
  /** The build context; defaults to the repository's registry-app/. Tests pass a copy. */
  readonly context?: string;
}

/** Everything about a build that is decided before any resource exists (pure apart from reading the context). */
export interface ImagePlan {
  /** sha256 of the build context (infra/lib/content-hash.ts). */
  readonly contentHash: string;
  /** Image tag: the first 16 hex digits of the content hash. */
  readonly tag: string;
  /** Build context and Dockerfile, relative to the project root, with `/` separators. */
  readonly context: string;
  readonly dockerfile: string;
  /** The Dockerfile's FROM images. */
  readonly baseImages: readonly string[];
  /** registry-app's package.json version, recorded in the image's labels. */
  readonly version: string;
}

/** The image cannot be built or used as configured; the message names the argument. */
export class RegistryImageError extends pulumi.RunError {
  constructor(message: string) {
    super(message);
    this.name = "RegistryImageError";
  }
}

/**
 * The registry image. `ref` is what a pod spec uses: `mcp-registry:<hash>` on Minikube,
 * `<repository>/mcp-registry@sha256:<digest>` on GKE, or the prebuilt reference.
 */
export class RegistryImage extends pulumi.ComponentResource {
  static readonly type = "mcp-registry:registry:Image";

  /** Image reference for the pod spec (by digest on GKE). */
  readonly ref: pulumi.Output<string>;
  /** Never on Minikube (the image exists only in the cluster's runtime), IfNotPresent otherwise. */
  readonly pullPolicy: "Never" | "IfNotPresent";
  /** The FROM images of the Dockerfile built; empty for a prebuilt image. */
  readonly baseImages: string[];
  /** The build plan; undefined for a prebuilt image. */
  readonly plan: ImagePlan | undefined;
  /** The build command; undefined for a prebuilt image. */
  readonly build: command.local.Command | undefined;

  constructor(name: string, args: RegistryImageArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate and read the context first, so bad arguments register nothing.
    const source = validateSource(args.source);
    const plan = source.kind === "prebuilt" ? undefined : planImage(args.context ?? REGISTRY_APP_DIR);
    super(RegistryImage.type, name, {}, opts);

    this.plan = plan;
    this.baseImages = plan === undefined ? [] : [...plan.baseImages];
    this.pullPolicy = source.kind === "minikube" ? "Never" : "IfNotPresent";

    if (source.kind === "prebuilt" || plan === undefined) {
      this.build = undefined;
      this.ref = pulumi.output(source.kind === "prebuilt" ? source.ref : "");
    } else {
      const environment = {
        // The policy pack reads these two (issue 7 §3): which Dockerfile, and its FROM images.
        DOCKERFILE: plan.dockerfile,
        BASE_IMAGES: plan.baseImages.join(","),
        CONTEXT: plan.context,
        VERSION: plan.version,
      };
      if (source.kind === "minikube") {
        const image = `${IMAGE_NAME}:${plan.tag}`;
        this.build = new command.local.Command(
          `${name}-build`,
          {
            create: minikubeBuildScript(),
            environment: { ...environment, IMAGE: image, MINIKUBE_PROFILE: source.profile },
            triggers: [plan.contentHash],
          },
          { parent: this },
        );
        this.ref = this.build.stdout.apply(() => image);
      } else {
        const repository = pulumi.output(source.repository).apply(validateRepository);
        const platforms = (source.platforms ?? DEFAULT_PLATFORMS).join(",");
        this.build = new command.local.Command(
          `${name}-build`,
          {
            create: buildxBuildScript(),
            environment: {
              ...environment,
              IMAGE: pulumi.interpolate`${repository}/${IMAGE_NAME}:${plan.tag}`,
              PLATFORMS: platforms,
            },
            triggers: [plan.contentHash],
          },
          { parent: this },
        );
        this.ref = pulumi
          .all([repository, this.build.stdout])
          .apply(([repo, stdout]) => `${repo}/${IMAGE_NAME}@${digestFromBuildMetadata(stdout)}`);
      }
    }
    this.registerOutputs({ ref: this.ref, pullPolicy: this.pullPolicy, baseImages: this.baseImages });
  }
}

/** Reads the build context: its content hash, the Dockerfile's base images and the app's version. */
export function planImage(contextDir: string): ImagePlan {
  const dir = path.resolve(contextDir);
  const dockerfilePath = path.join(dir, "Dockerfile");
  if (!fs.existsSync(dockerfilePath))
    throw new RegistryImageError(`RegistryImage context: ${dir} has no Dockerfile`);
  const baseImages = dockerfileBaseImages(fs.readFileSync(dockerfilePath, "utf8"));
  if (baseImages.length === 0)
    throw new RegistryImageError(`RegistryImage context: ${dockerfilePath} has no base image`);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
    version?: unknown;
  };
  if (typeof manifest.version !== "string")
    throw new RegistryImageError(`RegistryImage context: ${dir}/package.json has no version`);
  const hash = contentHash(dir);
  const context = path.relative(PROJECT_ROOT, dir).split(path.sep).join("/") || ".";
  return {
    contentHash: hash,
    tag: hash.slice(0, TAG_LENGTH),
    context,
    dockerfile: `${context}/Dockerfile`,
    baseImages,
    version: manifest.version,
  };
}

/** The image digest from `docker buildx build --metadata-file` JSON (`containerimage.digest`). */
export function digestFromBuildMetadata(stdout: string | undefined): string {
  const text = stdout ?? "";
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  let metadata: unknown;
  try {
    metadata = start === -1 || end < start ? undefined : JSON.parse(text.slice(start, end + 1));
  } catch {
    metadata = undefined;
  }
  const digest =
    metadata !== null && typeof metadata === "object"
      ? (metadata as Record<string, unknown>)["containerimage.digest"]
      : undefined;
  if (typeof digest !== "string" || !/^sha256:[a-f0-9]{64}$/.test(digest))
    throw new RegistryImageError(
      `docker buildx did not report a pushed digest (containerimage.digest) in its build metadata; got: ${text.slice(0, 200) || "<empty>"}`,
    );
  return digest;
}

/** Whether an image reference is pinned by digest (`...@sha256:<64 hex>`). */
export function isDigestPinned(ref: string): boolean {
  return DIGEST_REF.test(ref);
}

/** Chooses the image source from the settings and the cluster, once, in index.ts. */
export function imageSourceFor(
  registry: Pick<RegistrySettings, "image">,
  cluster: Pick<ClusterSettings, "kind"> & { readonly context?: string },
  imageRepository: pulumi.Input<string> | undefined,
): ImageSource {
  if (registry.image !== undefined)
    return { kind: "prebuilt", ref: registry.image, requireDigest: cluster.kind === "gke" };
  if (cluster.kind === "minikube") return { kind: "minikube", profile: cluster.context ?? "minikube" };
  if (imageRepository === undefined)
    throw new RegistryImageError(
      "RegistryImage: a GKE cluster needs an image repository (Cluster.imageRepository)",
    );
  return { kind: "buildx", repository: imageRepository };
}

/** Shell script run by the Minikube build Command; its inputs come from the environment. */
export function minikubeBuildScript(): string {
  return [
    "set -eu",
    ...buildMetadataLines(),
    'minikube -p "$MINIKUBE_PROFILE" image build -t "$IMAGE" \\',
    '  --build-opt="build-arg=VERSION=$VERSION" --build-opt="build-arg=REVISION=$revision" \\',
    '  --build-opt="build-arg=BUILD_TIME=$created" --build-opt="build-arg=SOURCE=$source" \\',
    '  "$CONTEXT" >&2',
    'echo "$IMAGE"',
  ].join("\n");
}

/** Shell script run by the buildx Command: builds every platform, pushes, prints the build metadata JSON. */
export function buildxBuildScript(): string {
  return [
    "set -eu",
    ...buildMetadataLines(),
    'metadata="$(mktemp)"',
    "trap 'rm -f \"$metadata\"' EXIT",
    'docker buildx build --platform "$PLATFORMS" --file "$DOCKERFILE" --tag "$IMAGE" \\',
    '  --build-arg "VERSION=$VERSION" --build-arg "REVISION=$revision" \\',
    '  --build-arg "BUILD_TIME=$created" --build-arg "SOURCE=$source" \\',
    '  --metadata-file "$metadata" --push "$CONTEXT" >&2',
    'cat "$metadata"',
  ].join("\n");
}

function buildMetadataLines(): string[] {
  // Read when the build runs, not when the program runs: a new commit alone must not change the Command's inputs.
  return [
    'revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"',
    'created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"',
    'source="${GITHUB_SERVER_URL:+$GITHUB_SERVER_URL/${GITHUB_REPOSITORY:-}}"',
  ];
}

function validateSource(source: ImageSource): ImageSource {
  switch (source.kind) {
    case "minikube":
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(source.profile))
        throw new RegistryImageError(
          `RegistryImage source.profile: '${source.profile}' is not a Minikube profile name`,
        );
      return source;
    case "buildx": {
      const platforms = source.platforms ?? DEFAULT_PLATFORMS;
      const bad = platforms.find((platform) => !/^linux\/(amd64|arm64)$/.test(platform));
      if (platforms.length === 0 || bad !== undefined)
        throw new RegistryImageError(
          `RegistryImage source.platforms: '${bad ?? ""}' is not one of linux/amd64, linux/arm64`,
        );
      if (typeof source.repository === "string") validateRepository(source.repository);
      return source;
    }
    case "prebuilt":
      if (!/^\S+$/.test(source.ref) || source.ref.endsWith(":latest"))
        throw new RegistryImageError(
          `RegistryImage source.ref: '${source.ref}' is not a pinned image reference (registry.image)`,
        );
      if (source.requireDigest && !isDigestPinned(source.ref))
        throw new RegistryImageError(
          `RegistryImage source.ref: '${source.ref}' must be pinned by digest (<repository>/${IMAGE_NAME}@sha256:<digest>)`,
        );
      return source;
  }
}

function validateRepository(repository: string): string {
  if (!/^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)+$/.test(repository))
    throw new RegistryImageError(
      `RegistryImage source.repository: '${repository}' is not a Docker repository such as europe-west1-docker.pkg.dev/<project>/<repo>`,
    );
  return repository;
}

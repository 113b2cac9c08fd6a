// Images: first-party builds from UBI 9 only, every image pinned, images only from allowed registries,
// Helm charts pinned to exact versions.
import * as fs from "node:fs";
import * as path from "node:path";
import {
  HELM_TYPES,
  K8S,
  WORKLOAD_TYPES,
  containersOf,
  describeContainer,
  podSpecOf,
} from "./core/kubernetes";
import {
  dockerfileBaseImages,
  isFromAllowedRegistry,
  isUbi9,
  parseImage,
  pinningProblem,
  valuesImages,
  type ImageRef,
} from "./core/images";
import { resourcePolicy, type Subject } from "./core/policy";
import { resolveFromPack } from "./core/secrets";
import { at, recAt, str, strAt } from "./core/values";

export const COMMAND = "command:local:Command";
export const CNPG_POOLER = "kubernetes:postgresql.cnpg.io/v1:Pooler";

/** Red Hat's registries and the upstream registries of the charts pinned in infra/versions.ts. */
export const DEFAULT_ALLOWED_REGISTRIES: readonly string[] = [
  "registry.access.redhat.com/",
  "registry.redhat.io/",
  "quay.io/jetstack/", // cert-manager
  "ghcr.io/nginx/", // NGINX Gateway Fabric control and data plane
  "ghcr.io/cloudnative-pg/", // CloudNativePG operator, PostgreSQL operands, Barman Cloud plugin
  "ghcr.io/k8up-io/", // K8up operator and its restic backup pods
  "quay.io/prometheus/", // Prometheus, Alertmanager, node-exporter
  "quay.io/prometheus-operator/", // Prometheus operator and config reloader
  "registry.k8s.io/kube-state-metrics/",
  "registry.k8s.io/kubectl", // the restore drill's create/wait/delete steps
  // kube-prometheus-stack admission webhook certificate Jobs: the pinned chart (81.x) moved its default from
  // registry.k8s.io/ingress-nginx (retired with ingress-nginx) to this maintainer-built image.
  "ghcr.io/jkroepke/kube-webhook-certgen",
  "docker.io/grafana/", // Grafana
  "quay.io/kiwigrid/", // Grafana's dashboard sidecar
  "quay.io/minio/", // MinIO (local backups)
];

/** Where image builds may take their base images from: Red Hat's registries (images-ubi9-base narrows it to UBI 9). */
export const DEFAULT_BUILD_BASE_REGISTRIES: readonly string[] = [
  "registry.access.redhat.com/",
  "registry.redhat.io/",
];

/** Where a resource names an image: a container, a Helm value, a Dockerfile base. */
export interface ImageUse {
  readonly where: string;
  /** A full reference to parse, or undefined when only a repository/tag pair is visible (chart values). */
  readonly reference?: string;
  /** For chart values objects: the tag/digest fields; an absent tag means the chart's pinned default. */
  readonly valuesTag?: string;
  readonly valuesDigest?: string;
  readonly fromValues: boolean;
  /** The container's imagePullPolicy; `Never` images exist only in the node's runtime (Minikube builds). */
  readonly pullPolicy?: string;
  /** A base image of an image build: pulled by the build machine, never by a node. */
  readonly buildBase?: boolean;
}

export function imageUses(resource: Subject): ImageUse[] {
  const { type, props } = resource;
  const uses: ImageUse[] = [];
  const fromContainers = (podSpec: ReturnType<typeof podSpecOf>, imageOptional: boolean) => {
    for (const container of containersOf(podSpec)) {
      const image = str(container.spec.image);
      // A Pooler template container without an image keeps the operator's own (pinned by the chart version).
      if (imageOptional && image === undefined) continue;
      const pullPolicy = str(container.spec.imagePullPolicy);
      uses.push({
        where: describeContainer(container),
        reference: image ?? "",
        fromValues: false,
        ...(pullPolicy === undefined ? {} : { pullPolicy }),
      });
    }
  };
  if (WORKLOAD_TYPES.includes(type)) fromContainers(podSpecOf(type, props), false);
  if (type === CNPG_POOLER) fromContainers(recAt(props, "spec", "template", "spec"), true);
  if (type === K8S.cnpgCluster) {
    const imageName = strAt(props, "spec", "imageName");
    if (imageName !== undefined)
      uses.push({ where: "spec.imageName", reference: imageName, fromValues: false });
  }
  if (HELM_TYPES.includes(type)) {
    for (const image of valuesImages(at(props, "values"))) {
      uses.push({
        where: `values.${image.path}`,
        ...(image.reference === undefined ? {} : { reference: image.reference }),
        ...(image.form === "object" ? { valuesTag: image.tag ?? "", valuesDigest: image.digest ?? "" } : {}),
        fromValues: true,
      });
    }
  }
  if (type === COMMAND && strAt(props, "environment", "DOCKERFILE") !== undefined) {
    for (const base of baseImagesOf(props)) {
      uses.push({ where: "environment.BASE_IMAGES", reference: base, fromValues: false, buildBase: true });
    }
  }
  return uses;
}

function baseImagesOf(props: Subject["props"]): string[] {
  return (strAt(props, "environment", "BASE_IMAGES") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export const ubi9BaseImages = resourcePolicy({
  name: "images-ubi9-base",
  description:
    "First-party images build only from Red Hat UBI 9 bases. Applies to image builds: command:local:Command " +
    "resources whose environment sets DOCKERFILE (repository-relative) and BASE_IMAGES (its FROM images, " +
    "comma-separated). Every base must be registry.access.redhat.com/ubi9[/...] or registry.redhat.io/ubi9[/...]; " +
    "when the Dockerfile is readable its FROM lines are parsed again (stage references and scratch are not " +
    "bases) and must match BASE_IMAGES exactly.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Base every stage of the Dockerfile on a UBI 9 image (e.g. registry.access.redhat.com/ubi9/nodejs-22-minimal) " +
    "pinned by tag or digest, and pass the same images in the build command's BASE_IMAGES environment variable.",
  controls: [{ source: "Project baseline", id: "UBI 9 base images for first-party builds" }],
  appliesTo: [COMMAND],
  config: {
    repositoryRoot: {
      type: "string",
      default: "..",
      description: "Repository root that DOCKERFILE paths are relative to (relative to the policy pack).",
    },
    requireDockerfile: {
      type: "boolean",
      default: false,
      description: "Fail when the Dockerfile cannot be read (set where the pack runs from the repository).",
    },
  },
  validate: ({ resource, config, report, notApplicable }) => {
    const dockerfile = strAt(resource.props, "environment", "DOCKERFILE");
    if (dockerfile === undefined) return notApplicable("not an image build (no environment.DOCKERFILE)");
    const declared = baseImagesOf(resource.props);
    if (declared.length === 0) {
      report(`image build of ${dockerfile} does not declare its base images in environment.BASE_IMAGES`);
    }
    for (const base of declared) {
      const image = parseImage(base);
      if (typeof image === "string") report(`BASE_IMAGES: ${image}`);
      else if (!isUbi9(image)) {
        report(
          `base image "${base}" of ${dockerfile} is not Red Hat UBI 9 (registry.access.redhat.com/ubi9/...)`,
        );
      }
    }
    const file = path.resolve(resolveFromPack(config.repositoryRoot), dockerfile);
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      if (config.requireDockerfile) report(`cannot read the Dockerfile ${dockerfile} (looked for ${file})`);
      return;
    }
    const parsed = dockerfileBaseImages(text);
    for (const problem of parsed.problems) report(`${dockerfile}: ${problem}`);
    const missing = parsed.images.filter((i) => !declared.includes(i));
    const extra = declared.filter((i) => !parsed.images.includes(i));
    if (missing.length > 0 || extra.length > 0) {
      report(
        `BASE_IMAGES does not match the FROM lines of ${dockerfile}: the Dockerfile uses ` +
          `[${parsed.images.join(", ")}], BASE_IMAGES lists [${declared.join(", ")}]`,
      );
    }
  },
});

export const imagesPinned = resourcePolicy({
  name: "images-pinned",
  description:
    "Every container image is pinned by digest or by an explicit tag other than latest: containers, init and " +
    "ephemeral containers of every workload, CloudNativePG imageName and Pooler templates, image build bases, " +
    "and images set in Helm chart values (a values image with no tag keeps the chart's default for its pinned " +
    "version). Images inside charts that the values do not mention are covered by pinning the chart version.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Reference the image by digest (repo@sha256:...) or by an immutable release tag, and keep the version in " +
    "infra/versions.ts.",
  controls: [
    { source: "checkov", id: "CKV_K8S_14" },
    { source: "checkov", id: "CKV_K8S_43" },
    { source: "kube-score", id: "container-image-tag" },
    { source: "Polaris", id: "tagNotSpecified" },
  ],
  appliesTo: [...WORKLOAD_TYPES, K8S.cnpgCluster, CNPG_POOLER, ...HELM_TYPES, COMMAND],
  validate: ({ resource, report, notApplicable }) => {
    const uses = imageUses(resource);
    if (uses.length === 0) return notApplicable("no image references are visible on this resource");
    for (const use of uses) {
      if (use.valuesTag !== undefined) {
        if (use.valuesTag === "latest") report(`${use.where} sets the mutable tag latest`);
        continue;
      }
      const image = parseImage(use.reference ?? "");
      if (typeof image === "string") {
        report(`${use.where}: ${image}`);
        continue;
      }
      const problem = pinningProblem(image);
      if (problem !== undefined) report(`${use.where}: ${problem}`);
    }
  },
});

export const imagesAllowedRegistries = resourcePolicy({
  name: "images-allowed-registries",
  description:
    "Images come only from allowed registries: what nodes pull from config allowedRegistries (on staging and " +
    "production only the stack's own Artifact Registry, whose remote repositories mirror the upstreams; locally " +
    "Red Hat's registries and the upstream registries of the pinned charts), the base images of image builds " +
    "(pulled by the build machine) from config buildBaseRegistries. Checked wherever an image reference is " +
    "visible, as for images-pinned; a chart value that sets only a repository keeps the chart's default registry " +
    "and is not judged (test/charts judges what the chart renders), and a container with imagePullPolicy Never " +
    "(an image built into the node's runtime, as Minikube builds are) is never pulled from any registry.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Pull the image from an allowed registry: on GKE stacks through the stack's mirror (infra/lib/mirror.ts " +
    "mirrorImage, chart values in infra/platform/mirror-values.ts); otherwise add the registry to allowedRegistries " +
    "in policies/config/<stack>.json after a security review.",
  controls: [{ source: "Project baseline", id: "Trusted image registries" }],
  appliesTo: [...WORKLOAD_TYPES, K8S.cnpgCluster, CNPG_POOLER, ...HELM_TYPES, COMMAND],
  config: {
    allowedRegistries: {
      type: "stringArray",
      default: DEFAULT_ALLOWED_REGISTRIES,
      description: "Registry prefixes (host/path/) images that nodes pull may come from.",
    },
    buildBaseRegistries: {
      type: "stringArray",
      default: DEFAULT_BUILD_BASE_REGISTRIES,
      description:
        "Registry prefixes the base images of image builds (environment.BASE_IMAGES) may come from.",
    },
  },
  validate: ({ resource, config, report, notApplicable }) => {
    const uses = imageUses(resource).filter(
      (u) => u.reference !== undefined && u.reference !== "" && u.pullPolicy !== "Never",
    );
    if (uses.length === 0) return notApplicable("no full image references are visible on this resource");
    for (const use of uses) {
      const image: ImageRef | string = parseImage(use.reference ?? "");
      if (typeof image === "string") continue; // images-pinned reports malformed references
      const allowed = use.buildBase === true ? config.buildBaseRegistries : config.allowedRegistries;
      if (!isFromAllowedRegistry(image, allowed)) {
        report(
          `${use.where}: "${image.raw}" is not from an allowed registry (${image.registry}/${image.path})`,
        );
      }
    }
  },
});

const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

export const helmChartsPinned = resourcePolicy({
  name: "images-helm-chart-pinned",
  description:
    "Every Helm chart is pinned to an exact version from an HTTPS or OCI repository, so the images and " +
    "manifests it renders cannot change without a reviewed diff. A local chart archive (the air-gapped " +
    "`directory` chart source) needs the exact version too, and its file name must carry that version (the " +
    "program also checks the archive's Chart.yaml); local chart directories are exempt from the version rule " +
    "(they are versioned with this repository). With config allowedChartRepositories (staging and production: " +
    "the stack's own Artifact Registry), charts from anywhere else are refused, local archives included.",
  severity: "medium",
  category: "security",
  remediationSteps:
    "Set the chart's exact version (no ranges) and an https:// or oci:// repository in infra/versions.ts; on " +
    "staging and production install from the stack's chart mirror (charts.source {kind: oci, baseUrl}, filled " +
    "by scripts/mirror-charts.sh).",
  controls: [{ source: "Project baseline", id: "Pinned third-party charts" }],
  appliesTo: HELM_TYPES,
  config: {
    allowedChartRepositories: {
      type: "stringArray",
      default: [],
      description:
        "When not empty, every chart must come from one of these oci:// or https:// prefixes (the stack's mirror).",
    },
  },
  validate: ({ resource, config, report }) => {
    const chart = strAt(resource.props, "chart") ?? "";
    const version = strAt(resource.props, "version");
    if (chart.startsWith(".") || chart.startsWith("/")) {
      if (!chart.endsWith(".tgz")) return;
      if (version === undefined || !EXACT_VERSION.test(version))
        report(`local chart archive "${chart}" has no exact version`);
      else if (!chart.endsWith(`-${version}.tgz`))
        report(`local chart archive "${chart}" is not the pinned version ${version}`);
      return;
    }
    if (version === undefined || version === "") report(`chart "${chart}" has no version`);
    else if (!EXACT_VERSION.test(version))
      report(`chart "${chart}" version "${version}" is not an exact version`);
    const repo = chart.startsWith("oci://") ? chart : strAt(resource.props, "repositoryOpts", "repo");
    if (repo === undefined || repo === "") report(`chart "${chart}" names no repository`);
    else if (!/^(https|oci):\/\//.test(repo))
      report(`chart "${chart}" comes from "${repo}" (not https:// or oci://)`);
    else if (
      config.allowedChartRepositories.length > 0 &&
      !config.allowedChartRepositories.some(
        (prefix) => repo === prefix || repo.startsWith(`${prefix.replace(/\/+$/, "")}/`),
      )
    )
      report(`chart "${chart}" comes from "${repo}", outside ${config.allowedChartRepositories.join(", ")}`);
  },
});

export const imagePolicies = [ubi9BaseImages, imagesPinned, imagesAllowedRegistries, helmChartsPinned];

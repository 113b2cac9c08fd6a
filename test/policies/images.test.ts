import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  dockerfileBaseImages,
  isFromAllowedRegistry,
  isUbi9,
  parseImage,
  valuesImages,
} from "../../policies/src/core/images";
import { K8S } from "../../policies/src/core/kubernetes";
import { dockerfileBaseImages as programBaseImages } from "../../infra/lib/dockerfile";
import { repoRoot } from "../support/program";
import {
  COMMAND,
  helmChartsPinned,
  imagesAllowedRegistries,
  imagesPinned,
  ubi9BaseImages,
} from "../../policies/src/images";
import { REGISTRY_IMAGE, deployment, hardenedContainer, hardenedPodSpec } from "./fixtures";
import { checkResource, resource } from "./support";

const UBI_BUILD = "registry.access.redhat.com/ubi9/nodejs-22:9.6";
const UBI_RUN = "registry.access.redhat.com/ubi9/nodejs-22-minimal@sha256:" + "b".repeat(64);

function imageBuild(environment: Record<string, string>) {
  return resource(COMMAND, "registry-image", { create: "docker buildx build ...", environment });
}

describe("policies: image references", () => {
  it("parses and normalises references the way container runtimes do", () => {
    assert.deepEqual(parseImage("nginx"), { raw: "nginx", registry: "docker.io", path: "library/nginx" });
    assert.deepEqual(parseImage("grafana/grafana:12.1.0"), {
      raw: "grafana/grafana:12.1.0",
      registry: "docker.io",
      path: "grafana/grafana",
      tag: "12.1.0",
    });
    const local = parseImage("localhost:5000/mcp/registry:abc123");
    assert.ok(typeof local !== "string");
    assert.equal(local.registry, "localhost:5000");
    assert.equal(
      parseImage("quay.io/x/y@sha256:123"),
      '"quay.io/x/y@sha256:123" has a malformed digest "sha256:123"',
    );
    assert.equal(parseImage(""), "the image reference is empty");
  });

  it("recognises UBI 9 on both Red Hat registries and nothing else", () => {
    const ubi = (ref: string) => {
      const image = parseImage(ref);
      return typeof image !== "string" && isUbi9(image);
    };
    assert.equal(ubi("registry.access.redhat.com/ubi9/ubi-minimal:9.6"), true);
    assert.equal(ubi("registry.redhat.io/ubi9:latest"), true);
    assert.equal(ubi("registry.access.redhat.com/ubi8/ubi:8.10"), false);
    assert.equal(ubi("registry.access.redhat.com/ubi9-evil/x:1"), false);
    assert.equal(ubi("docker.io/redhat/ubi9:9.6"), false);
  });

  it("matches registry prefixes on path boundaries", () => {
    const image = parseImage("quay.io/jetstack/cert-manager-controller:v1.21.2");
    assert.ok(typeof image !== "string");
    assert.equal(isFromAllowedRegistry(image, ["quay.io/jetstack/"]), true);
    assert.equal(isFromAllowedRegistry(image, ["quay.io/jet"]), false);
    assert.equal(isFromAllowedRegistry(image, ["quay.io"]), true);
  });

  it("reads FROM lines with ARG defaults, platforms, stage aliases and continuations", () => {
    const text = [
      "# syntax=docker/dockerfile:1",
      "ARG NODE=registry.access.redhat.com/ubi9/nodejs-22",
      "ARG TAG=9.6",
      "FROM --platform=$BUILDPLATFORM ${NODE}:${TAG} AS build",
      "RUN npm ci \\",
      "  && npm run build",
      "FROM build AS test",
      "FROM \\",
      "  registry.access.redhat.com/ubi9/nodejs-22-minimal:9.6",
      "COPY --from=build /app /app",
    ].join("\n");
    assert.deepEqual(dockerfileBaseImages(text), {
      images: [
        "registry.access.redhat.com/ubi9/nodejs-22:9.6",
        "registry.access.redhat.com/ubi9/nodejs-22-minimal:9.6",
      ],
      problems: [],
    });
    assert.deepEqual(dockerfileBaseImages("ARG BASE\nFROM $BASE\n").problems, [
      'line 2: cannot resolve "$BASE" (an ARG without a default)',
    ]);
  });

  it("agrees with the program's own Dockerfile reader (the pack keeps its own copy to stay self-contained)", () => {
    const samples = [
      fs.readFileSync(path.join(repoRoot, "registry-app", "Dockerfile"), "utf8"),
      "FROM registry.access.redhat.com/ubi9/go-toolset:1.24 AS build\nFROM scratch\nCOPY --from=build /app /app\n",
      "ARG BASE=registry.redhat.io/ubi9/ubi-minimal:9.6\nFROM ${BASE} AS a\nFROM a\nFROM $BASE\n",
    ];
    for (const text of samples) assert.deepEqual(dockerfileBaseImages(text).images, programBaseImages(text));
  });

  it("finds images in Helm values: whole references and registry/repository/tag objects", () => {
    const found = valuesImages({
      controller: {
        image: { registry: "quay.io", repository: "jetstack/cert-manager-controller", tag: "v1" },
      },
      grafana: {
        image: { repository: "grafana/grafana" },
        sidecar: { image: { repository: "quay.io/kiwigrid/k8s-sidecar", tag: "1.30.0" } },
      },
      job: { image: "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.0" },
    });
    assert.deepEqual(
      found.map((f) => [f.path, f.reference ?? `repository only: ${f.repositoryOnly}`]),
      [
        ["controller.image", "quay.io/jetstack/cert-manager-controller:v1"],
        ["grafana.image", "repository only: grafana/grafana"],
        ["grafana.sidecar.image", "quay.io/kiwigrid/k8s-sidecar:1.30.0"],
        ["job.image", "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.0"],
      ],
    );
  });
});

describe("policy images-ubi9-base", () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ubi-policy-"));
    fs.writeFileSync(
      path.join(dir, "Dockerfile"),
      `FROM ${UBI_BUILD} AS build\nFROM ${UBI_RUN}\nCOPY --from=build /a /a\n`,
    );
    fs.writeFileSync(path.join(dir, "Dockerfile.alpine"), "FROM node:22-alpine\n");
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const options = () => ({ repositoryRoot: dir, requireDockerfile: true });

  it("passes a build whose bases are UBI 9 and match the Dockerfile", () => {
    const result = checkResource(
      ubi9BaseImages,
      imageBuild({ DOCKERFILE: "Dockerfile", BASE_IMAGES: `${UBI_BUILD},${UBI_RUN}` }),
      options(),
    );
    assert.deepEqual(result.messages, []);
    assert.equal(result.notApplicable, undefined);
  });

  it("fails a non-UBI base, naming it", () => {
    const result = checkResource(
      ubi9BaseImages,
      imageBuild({ DOCKERFILE: "Dockerfile.alpine", BASE_IMAGES: "node:22-alpine" }),
      options(),
    );
    assert.deepEqual(result.messages, [
      'base image "node:22-alpine" of Dockerfile.alpine is not Red Hat UBI 9 (registry.access.redhat.com/ubi9/...)',
    ]);
  });

  it("fails when BASE_IMAGES does not match the Dockerfile's FROM lines", () => {
    const result = checkResource(
      ubi9BaseImages,
      imageBuild({ DOCKERFILE: "Dockerfile", BASE_IMAGES: UBI_RUN }),
      options(),
    );
    assert.deepEqual(result.messages, [
      `BASE_IMAGES does not match the FROM lines of Dockerfile: the Dockerfile uses [${UBI_BUILD}, ${UBI_RUN}], BASE_IMAGES lists [${UBI_RUN}]`,
    ]);
  });

  it("fails a build without BASE_IMAGES, and an unreadable Dockerfile when one is required", () => {
    const missing = checkResource(ubi9BaseImages, imageBuild({ DOCKERFILE: "nope/Dockerfile" }), options());
    assert.deepEqual(missing.messages, [
      "image build of nope/Dockerfile does not declare its base images in environment.BASE_IMAGES",
      `cannot read the Dockerfile nope/Dockerfile (looked for ${path.join(dir, "nope/Dockerfile")})`,
    ]);
  });

  it("is not applicable to commands that are not image builds", () => {
    const result = checkResource(ubi9BaseImages, imageBuild({ IMAGE: "x" }), options());
    assert.equal(result.notApplicable, "not an image build (no environment.DOCKERFILE)");
  });
});

describe("policy images-pinned", () => {
  it("passes digests, release tags and chart values that keep the chart's default tag", () => {
    assert.deepEqual(checkResource(imagesPinned, deployment()).messages, []);
    const chart = resource(K8S.helmReleaseV3, "grafana", {
      chart: "kube-prometheus-stack",
      version: "81.6.2",
      values: {
        grafana: { image: { repository: "grafana/grafana" } },
        x: { image: "quay.io/prometheus/prometheus:v3.5.0" },
      },
    });
    assert.deepEqual(checkResource(imagesPinned, chart).messages, []);
  });

  it("fails :latest, untagged images and latest in chart values", () => {
    const pod = hardenedPodSpec([
      hardenedContainer("app", "ghcr.io/nginx/nginx-gateway-fabric"),
      hardenedContainer("side", "quay.io/minio/mc:latest"),
    ]);
    assert.deepEqual(checkResource(imagesPinned, deployment(pod)).messages, [
      'container "app": "ghcr.io/nginx/nginx-gateway-fabric" has neither a tag nor a digest (it means :latest)',
      'container "side": "quay.io/minio/mc:latest" uses the mutable tag latest',
    ]);
    const chart = resource(K8S.helmChartV4, "c", {
      chart: "x",
      version: "1.0.0",
      values: { image: { repository: "quay.io/a/b", tag: "latest" } },
    });
    assert.deepEqual(checkResource(imagesPinned, chart).messages, [
      "values.image sets the mutable tag latest",
    ]);
  });

  it("is not applicable where no image is visible", () => {
    const chart = resource(K8S.helmChartV4, "crds", {
      chart: "gateway-crds-helm",
      version: "v1.5.0",
      values: {},
    });
    assert.equal(
      checkResource(imagesPinned, chart).notApplicable,
      "no image references are visible on this resource",
    );
  });
});

describe("policy images-allowed-registries", () => {
  it("passes images from the allowed registries", () => {
    const options = { allowedRegistries: ["europe-west1-docker.pkg.dev/mcp-registry-staging/"] };
    assert.deepEqual(checkResource(imagesAllowedRegistries, deployment(), options).messages, []);
  });

  it("fails Docker Hub and other registries, normalising short names", () => {
    const pod = hardenedPodSpec([
      hardenedContainer("app", "nginx:1.27"),
      hardenedContainer("b", REGISTRY_IMAGE),
    ]);
    assert.deepEqual(checkResource(imagesAllowedRegistries, deployment(pod)).messages, [
      'container "app": "nginx:1.27" is not from an allowed registry (docker.io/library/nginx)',
      `container "b": "${REGISTRY_IMAGE}" is not from an allowed registry (europe-west1-docker.pkg.dev/mcp-registry-staging/mcp/registry)`,
    ]);
  });

  it("checks chart values that name a registry and leaves repository-only values to the chart", () => {
    const chart = resource(K8S.helmReleaseV3, "monitoring", {
      chart: "kube-prometheus-stack",
      version: "81.6.2",
      values: {
        a: { image: { registry: "docker.io", repository: "bitnami/kubectl", tag: "1.33" } },
        b: { image: { repository: "grafana/grafana" } },
      },
    });
    assert.deepEqual(checkResource(imagesAllowedRegistries, chart).messages, [
      'values.a.image: "docker.io/bitnami/kubectl:1.33" is not from an allowed registry (docker.io/bitnami/kubectl)',
    ]);
  });
});

describe("policy images-helm-chart-pinned", () => {
  it("passes exact versions from https and oci repositories", () => {
    const v3 = resource(K8S.helmReleaseV3, "cm", {
      chart: "cert-manager",
      version: "v1.21.2",
      repositoryOpts: { repo: "https://charts.jetstack.io" },
    });
    const v4 = resource(K8S.helmChartV4, "ngf", {
      chart: "oci://ghcr.io/nginx/charts/nginx-gateway-fabric",
      version: "2.2.2",
    });
    assert.deepEqual(checkResource(helmChartsPinned, v3).messages, []);
    assert.deepEqual(checkResource(helmChartsPinned, v4).messages, []);
  });

  it("fails ranges, missing versions and plain-http repositories", () => {
    const range = resource(K8S.helmReleaseV3, "a", {
      chart: "k8up",
      version: "^4.8",
      repositoryOpts: { repo: "http://charts.example.com" },
    });
    assert.deepEqual(checkResource(helmChartsPinned, range).messages, [
      'chart "k8up" version "^4.8" is not an exact version',
      'chart "k8up" comes from "http://charts.example.com" (not https:// or oci://)',
    ]);
    const none = resource(K8S.helmChartV4, "b", { chart: "oci://ghcr.io/x/y" });
    assert.deepEqual(checkResource(helmChartsPinned, none).messages, [
      'chart "oci://ghcr.io/x/y" has no version',
    ]);
  });
});

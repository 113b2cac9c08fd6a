// The one version table: every external chart, image and platform version the program deploys is pinned here,
// so an upgrade is a one-line diff that CI previews. scripts/lib.sh reads `minikubeKubernetes` from this file.

/** A Helm chart pinned to an exact version; `repo` is an HTTPS chart repository or an `oci://` registry. */
export interface PinnedChart {
  readonly chart: string;
  readonly repo: string;
  readonly version: string;
}

/** Kubernetes and tool versions outside Helm. */
export const platformVersions = {
  // Minikube's Kubernetes for `local` (scripts/local-up.sh); GKE follows its release channel instead.
  minikubeKubernetes: "v1.34.0",
  // Gateway API release whose standard-channel CRDs the gatewayApiCrds chart installs (NGINX Gateway Fabric 2.2 supports it).
  gatewayApi: "v1.3.0",
  // The control plane the tests apply every stack to (scripts/toolchain.sh builds it from the Go module proxy):
  // kube-apiserver and kube-controller-manager of this release, with Debian's etcd-server 3.4.
  testKubernetes: "v1.34.4",
  // helm v3 renders the pinned charts in tests (`helm template`); the program itself installs through Pulumi.
  testHelm: "v3.19.0",
  // The official MCP publisher CLI the interoperability tests drive against registry-app (Go module proxy).
  mcpPublisher: "v1.7.0",
} as const;

// Every chart pin equals a package in ../shared/charts (test/charts/pins.test.ts compares them), so what the tests
// render and apply to a real API server is what `pulumi up` installs.
//
// CRD upgrades: Helm installs a chart's `crds/` folder once and never upgrades it, while CRDs shipped as templates
// upgrade with the release. Per chart (`crdUpgrades` below; `scripts/upgrade-crds.sh` applies the `crds/` folders):
// - templates, upgraded by the release: cert-manager (`crds.enabled`), gatewayApiCrds, cloudnativePg and
//   barmanCloudPlugin (`crds.create`), externalSecrets (`installCRDs`);
// - `crds/` folder, NOT upgraded by Helm: k8up, nginxGatewayFabric and kubePrometheusStack. A bump of one of these
//   runs `scripts/upgrade-crds.sh <stack>` (server-side apply of the new version's CRDs) before `pulumi up`.
//   kube-prometheus-stack's own `crds.upgradeJob` stays off: it pulls busybox:latest and runs kubectl with
//   cluster-wide CRD rights on every upgrade.
export const charts = {
  certManager: { chart: "cert-manager", repo: "https://charts.jetstack.io", version: "v1.21.1" },
  // Envoy Gateway's CRD-only chart, used with only the Gateway API standard channel enabled: the CRDs come
  // from a pinned chart instead of a manifest URL fetched at deploy time.
  gatewayApiCrds: { chart: "gateway-crds-helm", repo: "oci://docker.io/envoyproxy", version: "v1.5.0" },
  nginxGatewayFabric: { chart: "nginx-gateway-fabric", repo: "oci://ghcr.io/nginx/charts", version: "2.2.2" },
  // CloudNativePG 1.30.0; object-store backups moved to the Barman Cloud CNPG-I plugin below.
  cloudnativePg: {
    chart: "cloudnative-pg",
    repo: "https://cloudnative-pg.github.io/charts",
    version: "0.29.0",
  },
  barmanCloudPlugin: {
    chart: "plugin-barman-cloud",
    repo: "https://cloudnative-pg.github.io/charts",
    version: "0.7.0",
  },
  // 4.8.6+ runs its post-install/upgrade/delete cleanup hook with the K8up image itself; 4.8.5's hook used
  // docker.io/bitnami/kubectl:latest, removed in September 2025, and failed every `pulumi up` (k8up-io/k8up#1083).
  k8up: { chart: "k8up", repo: "https://k8up-io.github.io/k8up", version: "4.8.7" },
  kubePrometheusStack: {
    chart: "kube-prometheus-stack",
    repo: "https://prometheus-community.github.io/helm-charts",
    version: "81.6.2",
  },
  // External Secrets Operator v2.9.0 (staging, production): syncs Secret Manager secrets into Kubernetes Secrets.
  externalSecrets: {
    chart: "external-secrets",
    repo: "https://charts.external-secrets.io",
    version: "2.9.0",
  },
} as const satisfies Record<string, PinnedChart>;

export const images = {
  // MinIO stopped publishing community images in October 2025 (maintenance mode); this is the last release
  // image. The object-store interface stays S3-generic so another S3 server can replace it.
  minio: "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
  minioClient: "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z",
  // --- registry (issue 6) image rows go here ---
  // Red Hat UBI 9 Node.js 22 bases of registry-app/Dockerfile (compile stages, runtime), by dated tag and
  // multi-arch index digest. The Dockerfile's FROM lines must equal these (test/registry/image.test.ts).
  registryBuilder:
    "registry.access.redhat.com/ubi9/nodejs-22:9.8-1790572348@sha256:ef4f18a7e736696b1314bdc21bcf57bfd50ba3ea4f80c13833f777316b25c035",
  registryRuntime:
    "registry.access.redhat.com/ubi9/nodejs-22-minimal:9.8-1790648388@sha256:ca1c79182159009eb15a041bc6bb16f390a4e738b9d57d6cc4975f3b2981788b",
  // CloudNativePG operand (PostgreSQL 18, immutable build tag); pg_trgm ships with the server's contrib.
  postgres: "ghcr.io/cloudnative-pg/postgresql:18.3-202605110912-minimal-trixie",
  // PgBouncer of the production Pooler: CloudNativePG 1.30.0's own default (pkg/versions), set explicitly so the
  // image is pinned here and pulled through the mirror like every other.
  pgbouncer: "ghcr.io/cloudnative-pg/pgbouncer:1.25.1",
  // Shell-free kubectl for the restore drill's create/wait/delete steps (same minor as the local cluster).
  kubectl: "registry.k8s.io/kubectl:v1.34.0",
} as const satisfies Record<string, string>;

export type ChartName = keyof typeof charts;

/** How each chart's CRDs reach the cluster on an upgrade (see the note above `charts`). */
export const crdUpgrades: Readonly<Record<ChartName, "release" | "upgrade-crds-script">> = {
  certManager: "release",
  gatewayApiCrds: "release",
  nginxGatewayFabric: "upgrade-crds-script",
  cloudnativePg: "release",
  barmanCloudPlugin: "release",
  k8up: "upgrade-crds-script",
  kubePrometheusStack: "upgrade-crds-script",
  externalSecrets: "release",
};
export type ImageName = keyof typeof images;

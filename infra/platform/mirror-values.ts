// The chart values that move every image a pinned chart renders (or tells its operator to run) onto the stack's
// mirrors. Only the registry part changes: repositories and tags stay the chart's defaults for its pinned version,
// so the images are exactly the ones the chart was reviewed with. test/charts renders every chart with these
// values and checks that no image, in any field or argument, still names an upstream registry.
import { registryFor, type ImageMirror } from "../lib/mirror";
import type { PinnedChart } from "../versions";

type Values = Record<string, unknown>;

/** Per chart name (`PinnedChart.chart`): its image values on a mirror. */
const MIRRORED_VALUES: Readonly<Record<string, (mirror: ImageMirror) => Values>> = {
  // controller, webhook, cainjector, startupapicheck and the ACME HTTP-01 solver (an argument of the controller).
  "cert-manager": (m) => ({ imageRegistry: registryFor("quay.io", m) }),
  // CRDs only: no image.
  "gateway-crds-helm": () => ({}),
  // The control plane (also its cert-generator hook) and the NGINX data plane it provisions (NginxProxy).
  "nginx-gateway-fabric": (m) => ({
    nginxGateway: { image: { repository: `${registryFor("ghcr.io", m)}/nginx/nginx-gateway-fabric` } },
    nginx: { image: { repository: `${registryFor("ghcr.io", m)}/nginx/nginx-gateway-fabric/nginx` } },
  }),
  // The operator; it also runs its own image as the instance pods' bootstrap init container (OPERATOR_IMAGE_NAME).
  "cloudnative-pg": (m) => ({
    image: { repository: `${registryFor("ghcr.io", m)}/cloudnative-pg/cloudnative-pg` },
  }),
  // The plugin and the sidecar it injects into every PostgreSQL instance (SIDECAR_IMAGE).
  "plugin-barman-cloud": (m) => ({
    image: { registry: registryFor("ghcr.io", m) },
    sidecarImage: { registry: registryFor("ghcr.io", m) },
  }),
  // The operator, its cleanup hook and the restic backup pods it starts (BACKUP_IMAGE defaults to this image).
  k8up: (m) => ({ image: { registry: registryFor("ghcr.io", m) } }),
  "kube-prometheus-stack": (m) => ({
    prometheusOperator: {
      image: { registry: registryFor("quay.io", m) },
      prometheusConfigReloader: { image: { registry: registryFor("quay.io", m) } },
      thanosImage: { registry: registryFor("quay.io", m) },
      admissionWebhooks: { patch: { image: { registry: registryFor("ghcr.io", m) } } },
    },
    prometheus: { prometheusSpec: { image: { registry: registryFor("quay.io", m) } } },
    alertmanager: { alertmanagerSpec: { image: { registry: registryFor("quay.io", m) } } },
    grafana: {
      image: { registry: registryFor("docker.io", m) },
      sidecar: { image: { registry: registryFor("quay.io", m) } },
    },
    "kube-state-metrics": { image: { registry: registryFor("registry.k8s.io", m) } },
    "prometheus-node-exporter": { image: { registry: registryFor("quay.io", m) } },
  }),
  // The controller, its webhook and its cert controller share one image.
  "external-secrets": (m) => {
    const image = { repository: `${registryFor("ghcr.io", m)}/external-secrets/external-secrets` };
    return { image, webhook: { image }, certController: { image } };
  },
};

/** Chart names that have an entry above (a test requires one per pinned chart). */
export const MIRRORED_CHARTS: readonly string[] = Object.keys(MIRRORED_VALUES);

/** `values` with the chart's image values for the mirror merged in; unchanged without a mirror. */
export function withMirroredImages(
  chart: PinnedChart,
  values: Values,
  mirror: ImageMirror | undefined,
): Values {
  if (mirror === undefined) return values;
  const mirrored = MIRRORED_VALUES[chart.chart];
  if (mirrored === undefined)
    throw new Error(`${chart.chart}: no mirrored image values (infra/platform/mirror-values.ts)`);
  return mergeValues(values, mirrored(mirror));
}

/** Deep merge of plain objects, `overlay` winning; arrays and scalars are replaced, as Helm merges values. */
export function mergeValues(base: Values, overlay: Values): Values {
  const result: Values = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const current = result[key];
    result[key] = isPlain(current) && isPlain(value) ? mergeValues(current, value) : value;
  }
  return result;
}

/** Object literals only: a Pulumi Output among the values is a leaf, never merged into. */
function isPlain(value: unknown): value is Values {
  return value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype;
}

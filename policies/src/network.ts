// Network: no LoadBalancer/NodePort outside the gateway, and Gateways that serve only HTTPS (plain HTTP only
// where every attached route redirects to HTTPS).
import { HELM_TYPES, K8S, metadataName, namespaceOf, objectRef } from "./core/kubernetes";
import { resourcePolicy, stackPolicy, type Subject } from "./core/policy";
import { list, listAt, num, rec, str, strAt, walk } from "./core/values";

const EXPOSED = new Set(["LoadBalancer", "NodePort"]);
export const GRPC_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:GRPCRoute";

/**
 * The chart's name without repository, OCI path or archive file name (`oci://ghcr.io/nginx/charts/x` → `x`,
 * `/srv/charts/x-2.2.2.tgz` → `x`, as the air-gapped `directory` chart source names charts).
 */
export function chartName(props: Subject["props"]): string {
  const chart = strAt(props, "chart") ?? "";
  const last = chart.split("/").pop() ?? chart;
  return last.replace(/-v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?\.tgz$/, "");
}

export const serviceTypes = resourcePolicy({
  name: "network-no-exposed-services",
  description:
    "No Service of type LoadBalancer or NodePort except the gateway's: Services the program creates must be " +
    "ClusterIP (a reviewed exemption is needed otherwise), and Helm values may set `service.type` to " +
    "LoadBalancer/NodePort only in the gateway charts (config gatewayCharts).",
  severity: "high",
  remediationSteps:
    "Use a ClusterIP Service and route traffic through the Gateway (an HTTPRoute); only the gateway's data plane " +
    "is exposed.",
  category: "security",
  controls: [{ source: "kube-score", id: "service-type" }],
  appliesTo: [K8S.service, ...HELM_TYPES],
  config: {
    gatewayCharts: {
      type: "stringArray",
      default: ["nginx-gateway-fabric"],
      description: "Charts whose values may expose the gateway's Service.",
    },
  },
  validate: ({ resource, config, report }) => {
    if (resource.type === K8S.service) {
      const type = strAt(resource.props, "spec", "type") ?? "ClusterIP";
      if (EXPOSED.has(type)) report(`Service ${objectRef(resource.props, resource.name)} is of type ${type}`);
      return;
    }
    const chart = chartName(resource.props);
    if (config.gatewayCharts.includes(chart)) return;
    for (const visit of walk(resource.props.values, "values")) {
      const parent = visit.path.slice(0, -".type".length).split(".").pop() ?? "";
      if (visit.key === "type" && /service$/i.test(parent) && EXPOSED.has(str(visit.value) ?? "")) {
        report(`chart ${chart} sets ${visit.path}: ${String(visit.value)}`);
      }
    }
  },
});

interface Listener {
  readonly name: string;
  readonly protocol: string;
  readonly port: number | undefined;
  readonly tlsMode: string;
  readonly certificateRefs: number;
}

function listenersOf(gateway: Subject): Listener[] {
  return listAt(gateway.props, "spec", "listeners").map((entry, i) => ({
    name: strAt(entry, "name") ?? `#${i}`,
    protocol: strAt(entry, "protocol") ?? "",
    port: num(rec(entry)?.port),
    tlsMode: strAt(entry, "tls", "mode") ?? "Terminate",
    certificateRefs: listAt(entry, "tls", "certificateRefs").length,
  }));
}

/** Whether a route's parentRef attaches it to this gateway listener (Gateway API attachment rules). */
function attaches(route: Subject, gateway: Subject, listener: Listener): boolean {
  return listAt(route.props, "spec", "parentRefs").some((ref) => {
    const kind = strAt(ref, "kind") ?? "Gateway";
    const namespace = strAt(ref, "namespace") ?? namespaceOf(route.props);
    const section = strAt(ref, "sectionName");
    const port = num(rec(ref)?.port);
    return (
      kind === "Gateway" &&
      strAt(ref, "name") === metadataName(gateway.props) &&
      namespace === namespaceOf(gateway.props) &&
      (section === undefined || section === listener.name) &&
      (port === undefined || port === listener.port)
    );
  });
}

/** Every rule only redirects to https (a RequestRedirect filter with scheme https, no backends). */
function isHttpsRedirectOnly(route: Subject): boolean {
  if (route.type !== K8S.httpRoute) return false;
  const rules = listAt(route.props, "spec", "rules");
  return (
    rules.length > 0 &&
    rules.every((rule) => {
      const redirects = listAt(rule, "filters").filter(
        (f) => strAt(f, "type") === "RequestRedirect" && strAt(f, "requestRedirect", "scheme") === "https",
      );
      return redirects.length > 0 && list(rec(rule)?.backendRefs).length === 0;
    })
  );
}

export const gatewayHttps = stackPolicy({
  name: "network-gateway-https-only",
  description:
    "Gateways serve HTTPS with certificates: every HTTPS listener terminates TLS with at least one certificateRef, " +
    "TLS listeners are allowed, TCP/UDP listeners are not, and a plain HTTP listener is allowed only when every " +
    "HTTPRoute/GRPCRoute attached to it (parentRefs name, namespace, sectionName, port) only redirects to https.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Give HTTPS listeners tls.certificateRefs (the cert-manager Certificate's Secret); attach application routes " +
    "to the HTTPS listener with parentRefs.sectionName, and keep only a RequestRedirect (scheme https) route on " +
    "the HTTP listener.",
  controls: [{ source: "Project baseline", id: "TLS for all external traffic" }],
  appliesTo: [K8S.gateway],
  validate: ({ resources, report }) => {
    const routes = resources.filter((r) => r.type === K8S.httpRoute || r.type === GRPC_ROUTE);
    for (const gateway of resources.filter((r) => r.type === K8S.gateway)) {
      const ref = objectRef(gateway.props, gateway.name);
      for (const listener of listenersOf(gateway)) {
        const where = `Gateway ${ref} listener "${listener.name}"`;
        switch (listener.protocol) {
          case "HTTPS":
            if (listener.tlsMode !== "Terminate")
              report(`${where} is HTTPS with TLS mode ${listener.tlsMode}`, gateway);
            else if (listener.certificateRefs === 0)
              report(`${where} is HTTPS without tls.certificateRefs`, gateway);
            break;
          case "TLS":
            if (listener.tlsMode === "Terminate" && listener.certificateRefs === 0) {
              report(`${where} terminates TLS without tls.certificateRefs`, gateway);
            }
            break;
          case "HTTP":
            for (const route of routes.filter((r) => attaches(r, gateway, listener))) {
              if (!isHttpsRedirectOnly(route)) {
                report(
                  `${where} is plain HTTP and route ${objectRef(route.props, route.name)} attached to it does ` +
                    "more than redirect to https",
                  route,
                );
              }
            }
            break;
          default:
            report(
              `${where} uses protocol ${listener.protocol || "(unset)"}; only HTTPS, TLS and the HTTP redirect are allowed`,
              gateway,
            );
        }
      }
    }
  },
});

export const networkPolicies = [serviceTypes, gatewayHttps];

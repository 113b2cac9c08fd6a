// Public traffic: an HTTPRoute on the platform Gateway's HTTPS listener for the registry's host names, and
// NGINX Gateway Fabric's ClientSettingsPolicy for request limits at the gateway (body size, body and
// keep-alive timeouts). NGF 2.2 has no first-class rate limiting and its snippets are disabled on purpose,
// so per-client rate limits stay in the app.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { appLabels } from "../lib/workload";
import type { Platform } from "../platform/types";

export interface RegistryRouteArgs {
  readonly provider: k8s.Provider;
  readonly namespace: pulumi.Input<string>;
  readonly hosts: readonly string[];
  readonly serviceName: string;
  readonly servicePort: number;
  readonly platform: Pick<Platform, "gateway" | "ready">;
  /** Largest request body the gateway accepts (server.json documents are small). */
  readonly maxBodySize?: string;
}

export class RegistryRoute extends pulumi.ComponentResource {
  readonly urls: string[];

  constructor(name: string, args: RegistryRouteArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:registry:RegistryRoute", name, {}, opts);
    if (args.hosts.length === 0) throw new Error("registry.hosts: must list at least one host name");
    const maxBodySize = args.maxBodySize ?? "1m";
    if (!/^\d+[km]?$/.test(maxBodySize))
      throw new Error(`RegistryRoute: maxBodySize '${maxBodySize}' must be a size such as 512k or 1m`);
    const child = { parent: this, provider: args.provider, dependsOn: args.platform.ready };
    const labels = appLabels("registry", "server");
    const gateway = args.platform.gateway;

    const route = new k8s.apiextensions.CustomResource(
      `${name}-route`,
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "registry", namespace: args.namespace, labels },
        spec: {
          parentRefs: [
            {
              group: "gateway.networking.k8s.io",
              kind: "Gateway",
              name: gateway.name,
              namespace: gateway.namespace,
              sectionName: gateway.httpsListener,
            },
          ],
          hostnames: [...args.hosts],
          rules: [
            // /metrics is for Prometheus inside the cluster: a rule without backends answers it with 500.
            { matches: [{ path: { type: "PathPrefix", value: "/metrics" } }] },
            {
              matches: [{ path: { type: "PathPrefix", value: "/" } }],
              backendRefs: [{ kind: "Service", name: args.serviceName, port: args.servicePort }],
            },
          ],
        },
      },
      child,
    );

    new k8s.apiextensions.CustomResource(
      `${name}-client-settings`,
      {
        apiVersion: "gateway.nginx.org/v1alpha1",
        kind: "ClientSettingsPolicy",
        metadata: { name: "registry", namespace: args.namespace, labels },
        spec: {
          targetRef: { group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "registry" },
          body: { maxSize: maxBodySize, timeout: "10s" },
          keepAlive: { requests: 1000, time: "1h", timeout: { server: "60s", header: "60s" } },
        },
      },
      { ...child, dependsOn: [...args.platform.ready, route] },
    );

    this.urls = args.hosts.map((host) => `https://${host}`);
    this.registerOutputs({ urls: this.urls });
  }
}

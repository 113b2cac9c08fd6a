import { strict as assert } from "node:assert";
import { charts, type PinnedChart } from "../../infra/versions";
import {
  runProgram,
  stackConfig,
  stackNames,
  type CapturedResource,
  type StackName,
} from "../support/program";
import { helmRelease, object, objects, stackRun } from "./runs";

/** The pinned table row a captured Helm release or chart installs (by chart name). */
function chartOf(resource: CapturedResource): { chart: string; repo: string; version: string } {
  const ref = String(resource.inputs.chart);
  if (ref.startsWith("oci://")) {
    const slash = ref.lastIndexOf("/");
    return { chart: ref.slice(slash + 1), repo: ref.slice(0, slash), version: resource.inputs.version };
  }
  return { chart: ref, repo: resource.inputs.repositoryOpts?.repo, version: resource.inputs.version };
}

const HELM_TYPES = ["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"];
const PLATFORM_CHARTS = [
  "certManager",
  "gatewayApiCrds",
  "nginxGatewayFabric",
  "cloudnativePg",
  "barmanCloudPlugin",
  "k8up",
  "kubePrometheusStack",
] as const satisfies readonly (keyof typeof charts)[];

describe("infra: platform services", function () {
  this.timeout(120_000);

  for (const stack of stackNames) {
    describe(stack, () => {
      it("pins every chart to exactly the version in infra/versions.ts", async () => {
        const { resources } = await stackRun(stack);
        const table: PinnedChart[] = Object.values(charts);
        const installed = resources.filter((r) => HELM_TYPES.includes(r.type)).map(chartOf);
        assert.ok(installed.length >= PLATFORM_CHARTS.length);
        for (const chart of installed) {
          // GKE stacks install from their own chart mirror (charts.source in the stack file).
          const mirror =
            stack === "local" ? undefined : `oci://europe-west1-docker.pkg.dev/mcp-registry-${stack}/charts`;
          const row = table.find(
            (c) =>
              c.chart === chart.chart && (c.repo.replace(/\/$/, "") === chart.repo || chart.repo === mirror),
          );
          assert.ok(row, `${chart.chart} from ${chart.repo} is not in the version table`);
          assert.match(
            chart.version,
            /^v?\d+\.\d+\.\d+$/,
            `${chart.chart} is not pinned to an exact version`,
          );
          assert.equal(chart.version, row.version, `${chart.chart}`);
        }
        for (const key of PLATFORM_CHARTS)
          assert.ok(
            installed.some((c) => c.chart === charts[key].chart),
            `${charts[key].chart} is not installed`,
          );
      });

      it("labels every namespace for Pod Security Admission, restricted unless a reason is given", async () => {
        const { resources } = await stackRun(stack);
        const namespaces = objects(resources, "Namespace");
        assert.ok(namespaces.length >= 7);
        for (const ns of namespaces) {
          const labels = ns.inputs.metadata.labels;
          const level = labels["pod-security.kubernetes.io/enforce"];
          assert.ok(["restricted", "baseline", "privileged"].includes(level), `${ns.inputs.metadata.name}`);
          assert.equal(labels["pod-security.kubernetes.io/warn"], level);
          assert.equal(labels["pod-security.kubernetes.io/audit"], level);
          if (level !== "restricted")
            assert.ok(
              ns.inputs.metadata.annotations["mcp-registry.io/pod-security-reason"],
              ns.inputs.metadata.name,
            );
        }
        const levels = Object.fromEntries(
          namespaces.map((n) => [
            n.inputs.metadata.name,
            n.inputs.metadata.labels["pod-security.kubernetes.io/enforce"],
          ]),
        );
        for (const name of ["cert-manager", "gateway", "cnpg-system", "k8up", "monitoring"])
          assert.equal(levels[name], "restricted", name);
        assert.equal(levels["monitoring-node"], "privileged");
      });

      it("denies all traffic by default in every namespace and allows DNS", async () => {
        const { resources } = await stackRun(stack);
        for (const ns of objects(resources, "Namespace").map((n) => n.inputs.metadata.name as string)) {
          const deny = object(resources, "NetworkPolicy", "default-deny", ns).inputs.spec;
          assert.deepEqual(deny, { podSelector: {}, policyTypes: ["Ingress", "Egress"] }, ns);
          const dns = object(resources, "NetworkPolicy", "allow-dns", ns).inputs.spec;
          assert.deepEqual(
            dns.egress[0].ports.map((p: { port: number }) => p.port),
            [53, 53],
          );
        }
      });

      it("opens only what each platform namespace needs", async () => {
        const { resources } = await stackRun(stack);
        const ports = (name: string, ns: string, direction: "ingress" | "egress") =>
          object(resources, "NetworkPolicy", name, ns)
            .inputs.spec[direction].flatMap((rule: { ports?: { port: number }[] }) => rule.ports ?? [])
            .map((p: { port: number }) => p.port);
        assert.deepEqual(ports("allow-webhook-from-apiserver", "cert-manager", "ingress"), [10250]);
        assert.deepEqual(ports("allow-webhook-from-apiserver", "cnpg-system", "ingress"), [9443]);
        assert.deepEqual(ports("allow-instance-status", "cnpg-system", "egress"), [8000]);
        assert.deepEqual(ports("allow-clients", "gateway", "ingress"), [80, 443]);
        assert.deepEqual(ports("allow-prometheus-scraping", "k8up", "ingress"), [8080]);
        assert.deepEqual(ports("allow-prometheus-scraping", "cert-manager", "ingress"), [9402]);
        assert.deepEqual(ports("allow-grafana-from-gateway", "monitoring", "ingress"), [3000]);
        const grafanaFrom = object(resources, "NetworkPolicy", "allow-grafana-from-gateway", "monitoring")
          .inputs.spec.ingress[0].from[0].namespaceSelector.matchLabels;
        assert.deepEqual(grafanaFrom, { "kubernetes.io/metadata.name": "gateway" });
        for (const ns of ["cert-manager", "cnpg-system", "k8up", "monitoring", "gateway"])
          assert.deepEqual(ports("allow-apiserver", ns, "egress"), [443, 6443, 8443], ns);
        const backends = object(resources, "NetworkPolicy", "allow-route-backends", "gateway").inputs.spec
          .egress[0].to;
        assert.deepEqual(
          backends.map(
            (p: { namespaceSelector: { matchLabels: Record<string, string> } }) =>
              p.namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
          ),
          ["monitoring", "mcp-registry"],
        );
      });

      it("serves HTTPS with a cert-manager certificate and only redirects plain HTTP", async () => {
        const { resources } = await stackRun(stack);
        const config = stackConfig(stack);
        const gateway = JSON.parse(config["mcp-registry:gateway"]!) as { hosts: string[]; issuer: string };
        const gw = object(resources, "Gateway", "public", "gateway").inputs.spec;
        assert.equal(gw.gatewayClassName, "nginx");
        const [http, https] = gw.listeners;
        assert.deepEqual(
          {
            name: http.name,
            port: http.port,
            protocol: http.protocol,
            from: http.allowedRoutes.namespaces.from,
          },
          { name: "http", port: 80, protocol: "HTTP", from: "Same" },
        );
        assert.equal(https.protocol, "HTTPS");
        assert.equal(https.tls.mode, "Terminate");
        assert.equal(https.tls.certificateRefs[0].name, "gateway-tls");
        assert.deepEqual(https.allowedRoutes.namespaces.selector.matchExpressions[0].values, [
          "monitoring",
          "mcp-registry",
        ]);
        const cert = object(resources, "Certificate", "gateway-tls", "gateway").inputs.spec;
        assert.deepEqual(cert.dnsNames, gateway.hosts);
        assert.deepEqual(cert.issuerRef, {
          group: "cert-manager.io",
          kind: "ClusterIssuer",
          name: gateway.issuer,
        });
        const routes = objects(resources, "HTTPRoute", "gateway");
        assert.equal(routes.length, 1, "the HTTP listener has one route");
        assert.deepEqual(routes[0]!.inputs.spec.rules, [
          { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] },
        ]);
        assert.deepEqual(routes[0]!.inputs.spec.parentRefs, [{ name: "public", sectionName: "http" }]);
      });

      it("publishes Grafana on its host through the HTTPS listener", async () => {
        const { resources, outputs } = await stackRun(stack);
        const monitoring = JSON.parse(stackConfig(stack)["mcp-registry:monitoring"]!) as {
          grafanaHost: string;
        };
        const route = object(resources, "HTTPRoute", "grafana", "monitoring").inputs.spec;
        assert.deepEqual(route.hostnames, [monitoring.grafanaHost]);
        assert.deepEqual(route.parentRefs, [{ name: "public", namespace: "gateway", sectionName: "https" }]);
        assert.deepEqual(route.rules[0].backendRefs, [{ name: "kube-prometheus-stack-grafana", port: 80 }]);
        assert.equal(outputs.grafanaUrl, `https://${monitoring.grafanaHost}`);
      });

      it("sizes monitoring per environment, generates Grafana's password and picks up our monitors", async () => {
        const { resources } = await stackRun(stack);
        const monitoring = JSON.parse(stackConfig(stack)["mcp-registry:monitoring"]!) as {
          retention: string;
          storageSize: string;
          alertmanagerStorageSize: string;
        };
        const values = helmRelease(resources, "kube-prometheus-stack").inputs.values;
        const spec = values.prometheus.prometheusSpec;
        assert.equal(spec.retention, monitoring.retention);
        assert.equal(
          spec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage,
          monitoring.storageSize,
        );
        assert.equal(
          spec.storageSpec.volumeClaimTemplate.spec.storageClassName,
          stack === "local" ? "standard" : "standard-rwo",
        );
        assert.equal(
          values.alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec.resources.requests.storage,
          monitoring.alertmanagerStorageSize,
        );
        for (const selector of ["serviceMonitorSelector", "podMonitorSelector", "ruleSelector"])
          assert.deepEqual(spec[selector], { matchLabels: { release: "kube-prometheus-stack" } }, selector);
        assert.equal(spec.serviceMonitorSelectorNilUsesHelmValues, false);
        assert.equal(values.grafana.adminPassword, undefined);
        assert.deepEqual(values.grafana.admin, {
          existingSecret: "grafana-admin",
          userKey: "admin-user",
          passwordKey: "admin-password",
        });
        if (stack === "local") {
          const admin = object(resources, "Secret", "grafana-admin", "monitoring").inputs.stringData;
          assert.match(admin["admin-password"], /^test-random-/);
        } else {
          // From Secret Manager: the ExternalSecret names the secret and version, never the value.
          const admin = object(resources, "ExternalSecret", "grafana-admin", "monitoring").inputs.spec;
          assert.deepEqual(admin.data, [
            { secretKey: "admin-password", remoteRef: { key: "grafana-admin-password", version: "1" } },
          ]);
          assert.deepEqual(admin.target.template.data, { "admin-user": "admin" });
        }
        assert.match(values.grafana.podAnnotations["mcp-registry.io/secret-revision"], /^[0-9a-f]{16}$/);
        assert.deepEqual(
          {
            enabled: values.grafana.sidecar.dashboards.enabled,
            label: values.grafana.sidecar.dashboards.label,
            value: values.grafana.sidecar.dashboards.labelValue,
          },
          { enabled: true, label: "grafana_dashboard", value: "1" },
        );
        assert.equal(values["prometheus-node-exporter"].namespaceOverride, "monitoring-node");
      });

      it("installs operators with hardened, sized values and their monitors labelled for Prometheus", async () => {
        const { resources } = await stackRun(stack);
        const replicas = stack === "local" ? 1 : 2;
        const certManager = helmRelease(resources, "cert-manager").inputs;
        assert.equal(certManager.namespace, "cert-manager");
        assert.equal(certManager.atomic, true);
        const cm = certManager.values;
        assert.equal(cm.replicaCount, replicas);
        assert.deepEqual(cm.config.gatewayAPI, { enabled: true });
        assert.deepEqual(cm.prometheus.servicemonitor.labels, { release: "kube-prometheus-stack" });
        for (const part of [cm, cm.webhook, cm.cainjector]) {
          assert.equal(part.containerSecurityContext.readOnlyRootFilesystem, true);
          assert.deepEqual(part.containerSecurityContext.capabilities, { drop: ["ALL"] });
          assert.equal(part.securityContext.runAsNonRoot, true);
          assert.ok(part.resources.requests.cpu && part.resources.limits.memory);
        }
        const ngf = helmRelease(resources, "nginx-gateway").inputs.values;
        assert.equal(ngf.nginxGateway.productTelemetry.enable, false);
        assert.equal(ngf.nginx.service.type, "LoadBalancer");
        assert.equal(ngf.nginx.service.loadBalancerIP, stack === "local" ? undefined : "203.0.113.10");
        const cnpg = helmRelease(resources, "cnpg").inputs.values;
        assert.equal(cnpg.monitoring.podMonitorEnabled, true);
        assert.deepEqual(cnpg.monitoring.podMonitorAdditionalLabels, { release: "kube-prometheus-stack" });
        assert.equal(helmRelease(resources, "barman-cloud").inputs.namespace, "cnpg-system");
        const k8up = helmRelease(resources, "k8up").inputs.values;
        assert.equal(k8up.securityContext.allowPrivilegeEscalation, false);
        assert.equal(k8up.podSecurityContext.runAsNonRoot, true);
        assert.equal(k8up.metrics.serviceMonitor.enabled, true);
      });

      it("hands the data layer a complete Platform", async () => {
        const { outputs } = await stackRun(stack);
        const platform = outputs.platform as Record<string, unknown>;
        assert.deepEqual(platform.namespaces, {
          certManager: "cert-manager",
          gateway: "gateway",
          cnpg: "cnpg-system",
          k8up: "k8up",
          monitoring: "monitoring",
        });
        assert.equal(
          platform.clusterIssuer,
          { local: "local-ca", staging: "letsencrypt-staging", production: "letsencrypt-production" }[stack],
        );
        assert.deepEqual(
          (platform.cnpg as Record<string, unknown>).barmanPluginName,
          "barman-cloud.cloudnative-pg.io",
        );
        const monitoring = platform.monitoring as Record<string, unknown>;
        assert.deepEqual(monitoring.selectorLabels, { release: "kube-prometheus-stack" });
        assert.deepEqual(monitoring.dashboardLabels, { grafana_dashboard: "1" });
        assert.ok((platform.ready as unknown[]).length >= 7);
      });
    });
  }

  it("issues a self-signed CA locally and Let's Encrypt over HTTP-01 through the Gateway on GKE", async () => {
    const local = (await stackRun("local")).resources;
    assert.deepEqual(object(local, "ClusterIssuer", "local-ca").inputs.spec, {
      ca: { secretName: "local-ca" },
    });
    assert.equal(object(local, "Secret", "local-ca", "cert-manager").inputs.type, "kubernetes.io/tls");
    assert.equal(
      local.filter((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert")[0]!.inputs.isCaCertificate,
      true,
    );
    assert.equal(objects(local, "ClusterIssuer").length, 1);

    const staging = (await stackRun("staging")).resources;
    for (const [name, server] of [
      ["letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory"],
      ["letsencrypt-production", "https://acme-v02.api.letsencrypt.org/directory"],
    ] as const) {
      const acme = object(staging, "ClusterIssuer", name).inputs.spec.acme;
      assert.equal(acme.server, server);
      assert.equal(acme.email, "platform-team@example.com");
      assert.deepEqual(acme.solvers, [
        {
          http01: {
            gatewayHTTPRoute: {
              parentRefs: [
                {
                  group: "gateway.networking.k8s.io",
                  kind: "Gateway",
                  name: "public",
                  namespace: "gateway",
                  sectionName: "http",
                },
              ],
            },
          },
        },
      ]);
    }
    assert.equal(objects(staging, "Secret", "cert-manager").length, 0, "no CA secret on GKE");
  });

  it("solves DNS-01 in Cloud DNS through Workload Identity when a managed zone is configured", async () => {
    const config = stackConfig("staging");
    const gateway = { ...JSON.parse(config["mcp-registry:gateway"]!), cloudDnsZone: "example-com" };
    const { resources } = await runProgram("staging", { "mcp-registry:gateway": JSON.stringify(gateway) });
    const acme = object(resources, "ClusterIssuer", "letsencrypt-production").inputs.spec.acme;
    assert.deepEqual(acme.solvers, [
      { dns01: { cloudDNS: { project: "mcp-registry-staging", hostedZoneName: "example-com" } } },
    ]);
    const gsa = resources.find(
      (r) => r.type === "gcp:serviceaccount/account:Account" && r.inputs.accountId === "cert-manager-dns01",
    );
    assert.ok(gsa, "a DNS-01 service account");
    const zoneIam = resources.find(
      (r) => r.type === "gcp:dns/dnsManagedZoneIamMember:DnsManagedZoneIamMember",
    );
    assert.deepEqual([zoneIam?.inputs.managedZone, zoneIam?.inputs.role], ["example-com", "roles/dns.admin"]);
    const wi = resources.find(
      (r) =>
        r.type === "gcp:serviceaccount/iAMMember:IAMMember" &&
        r.inputs.role === "roles/iam.workloadIdentityUser" &&
        String(r.inputs.member).includes("cert-manager/cert-manager"),
    );
    assert.equal(
      wi?.inputs.member,
      "serviceAccount:mcp-registry-staging.svc.id.goog[cert-manager/cert-manager]",
    );
    const values = helmRelease(resources, "cert-manager").inputs.values;
    assert.deepEqual(values.serviceAccount.annotations, {
      "iam.gke.io/gcp-service-account": "cert-manager-dns01@mcp-registry-staging.iam.gserviceaccount.com",
    });
    const egress = object(resources, "NetworkPolicy", "allow-acme-egress", "cert-manager").inputs.spec.egress;
    assert.ok(
      egress.some(
        (rule: { to: { ipBlock?: { cidr: string } }[] }) =>
          rule.to[0]?.ipBlock?.cidr === "169.254.169.252/32",
      ),
    );
    assert.ok(
      resources.some(
        (r) => r.type === "gcp:projects/service:Service" && r.inputs.service === "dns.googleapis.com",
      ),
    );
  });
});

export const _stacks: readonly StackName[] = stackNames;

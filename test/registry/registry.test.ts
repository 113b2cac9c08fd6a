import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { DATABASE_CLUSTER_NAME, REGISTRY_NAMESPACE, RESTORE_DRILL_NAMESPACE } from "../../infra/data/naming";
import {
  APP_METRICS,
  BURN_RATE_WINDOWS,
  registryRuleGroups,
  type AlertParams,
  type AlertRule,
  type RecordingRule,
} from "../../infra/registry/alerts";
import {
  DEFAULT_RESOURCES,
  MIGRATE_SELECTOR,
  RegistryApp,
  SERVER_SELECTOR,
  imageHash,
  registryEnv,
  type RegistryDatabaseRef,
} from "../../infra/registry/app";
import { registryDashboard } from "../../infra/registry/dashboard";
import { RegistryMonitoring } from "../../infra/registry/monitoring";
import { RegistryRoute } from "../../infra/registry/route";
import { RegistrySecrets, type RegistrySecretRefs } from "../../infra/registry/secrets";
import { KubernetesSecretStore } from "../../infra/secrets/kubernetes";
import type { Settings } from "../../infra/settings";
import { schemaProblems } from "../support/k8s-schema";
import { outputValue, stackConfig, type ResourceInputs, type StackName } from "../support/program";
import { capture, isSecretOutput, isSecretPath, kind, named, one, platform, settingsFor } from "./support";

const secrets: RegistrySecretRefs = {
  jwt: { name: "registry-jwt", key: "private-key.pem" },
  github: { name: "registry-github", key: "client-secret" },
  revision: pulumi.output("0123456789abcdef"),
};
const direct: RegistryDatabaseRef = {
  host: "mcp-registry-db-rw",
  appSecretName: "mcp-registry-db-app",
  viaPooler: false,
  podSelectors: [{ "cnpg.io/cluster": DATABASE_CLUSTER_NAME }],
};
const instances = { "cnpg.io/cluster": DATABASE_CLUSTER_NAME, "cnpg.io/podRole": "instance" };
const pooled: RegistryDatabaseRef = {
  host: "mcp-registry-db-pooler-rw",
  appSecretName: "mcp-registry-db-app",
  viaPooler: true,
  podSelectors: [{ "cnpg.io/poolerName": "mcp-registry-db-pooler-rw" }],
  readHost: "mcp-registry-db-ro",
  readPodSelectors: [instances],
};
const replicated: RegistryDatabaseRef = {
  host: "mcp-registry-db-rw",
  appSecretName: "mcp-registry-db-app",
  viaPooler: false,
  podSelectors: [instances],
  readHost: "mcp-registry-db-ro",
  readPodSelectors: [instances],
};
const alertParams: AlertParams = {
  namespace: REGISTRY_NAMESPACE,
  service: "registry",
  databaseCluster: DATABASE_CLUSTER_NAME,
  drillNamespace: RESTORE_DRILL_NAMESPACE,
  drillCronJob: "restore-drill",
  drillMaxAgeHours: 50,
  backupMaxAgeHours: 26,
};

async function app(settings: Settings, image = "registry.example/registry@sha256:" + "a".repeat(64)) {
  return capture((provider) => {
    new RegistryApp("registry", {
      provider,
      namespace: REGISTRY_NAMESPACE,
      image,
      imagePullPolicy: "IfNotPresent",
      registry: settings.registry,
      database: settings.database.pooler ? pooled : settings.database.instances > 1 ? replicated : direct,
      secrets: { ...secrets, github: settings.registry.github === undefined ? undefined : secrets.github },
      spreadAcrossZones: settings.environment === "production",
      platform,
      dependsOn: [],
    });
  });
}

const expectedReplicas: Record<StackName, number> = { local: 1, staging: 2, production: 3 };

describe("registry: workload", () => {
  for (const stack of ["local", "staging", "production"] as const) {
    it(`${stack}: ${expectedReplicas[stack]} hardened replicas with probes, resources and a graceful drain`, async () => {
      const resources = await app(settingsFor(stack));
      const deployment = one(resources, "Deployment");
      assert.equal(deployment.spec.replicas, expectedReplicas[stack]);
      assert.deepEqual(deployment.spec.strategy.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
      const pod = deployment.spec.template.spec;
      assert.equal(pod.automountServiceAccountToken, false);
      assert.deepEqual(pod.securityContext, {
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        fsGroup: 10001,
        seccompProfile: { type: "RuntimeDefault" },
      });
      const [container] = pod.containers;
      assert.equal(container.securityContext.allowPrivilegeEscalation, false);
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.deepEqual(container.securityContext.capabilities, { drop: ["ALL"] });
      assert.deepEqual(container.resources, DEFAULT_RESOURCES);
      assert.equal(container.startupProbe.httpGet.path, "/livez");
      assert.equal(container.readinessProbe.httpGet.path, "/readyz");
      assert.equal(container.livenessProbe.httpGet.path, "/livez");
      assert.deepEqual(container.ports, [{ name: "http", containerPort: 8080, protocol: "TCP" }]);
      assert.deepEqual(container.lifecycle.preStop, { sleep: { seconds: 5 } });
      assert.equal(pod.terminationGracePeriodSeconds, 30);
      assert.ok(pod.volumes.some((v: ResourceInputs) => v.name === "tmp" && v.emptyDir));
      assert.ok(container.volumeMounts.some((m: ResourceInputs) => m.mountPath === "/tmp"));
      const zone = pod.topologySpreadConstraints.find(
        (c: ResourceInputs) => c.topologyKey === "topology.kubernetes.io/zone",
      );
      assert.equal(zone.whenUnsatisfiable, stack === "production" ? "DoNotSchedule" : "ScheduleAnyway");
      assert.ok(
        pod.topologySpreadConstraints.some((c: ResourceInputs) => c.topologyKey === "kubernetes.io/hostname"),
      );

      const service = one(resources, "Service");
      assert.equal(service.spec.type, "ClusterIP");
      assert.equal(one(resources, "ServiceAccount").automountServiceAccountToken, false);
      assert.equal(one(resources, "PodDisruptionBudget").spec.maxUnavailable, 1);
      const hpas = kind(resources, "HorizontalPodAutoscaler");
      assert.equal(hpas.length, stack === "local" ? 0 : 1);
      if (stack !== "local") {
        const hpa = hpas[0]!.inputs;
        assert.equal(hpa.spec.minReplicas, expectedReplicas[stack]);
        assert.equal(hpa.spec.metrics[0].resource.name, "cpu");
      }
      assert.deepEqual(schemaProblems(resources), []);
    });
  }

  it("mounts the operator's category taxonomy from a ConfigMap; a changed file rolls the pods", async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "taxonomy-"));
    try {
      const withFile = (file: string) =>
        settingsFor("local", {
          "mcp-registry:registry": {
            ...(JSON.parse(stackConfig("local")["mcp-registry:registry"]!) as object),
            categoriesFile: file,
          },
        });
      const yaml = path.join(folder, "categories.yml");
      const text = "- id: payments\n  title: Payments\n  description: Card and bank payments.\n";
      fs.writeFileSync(yaml, text);
      const resources = await app(withFile(yaml));
      const configMap = named(resources, "ConfigMap", "registry-categories");
      assert.deepEqual(configMap.data, { "categories.yaml": text });
      const deployment = one(resources, "Deployment");
      const job = one(resources, "Job");
      for (const pod of [deployment.spec.template.spec, job.spec.template.spec]) {
        assert.deepEqual(
          pod.volumes.find((v: ResourceInputs) => v.name === "categories"),
          {
            name: "categories",
            configMap: {
              name: "registry-categories",
              items: [{ key: "categories.yaml", path: "categories.yaml" }],
            },
          },
        );
        const [container] = pod.containers;
        assert.deepEqual(
          container.volumeMounts.find((m: ResourceInputs) => m.name === "categories"),
          { name: "categories", mountPath: "/etc/mcp-registry/categories", readOnly: true },
        );
        assert.equal(
          container.env.find((e: ResourceInputs) => e.name === "MCP_REGISTRY_CATEGORIES_FILE")?.value,
          "/etc/mcp-registry/categories/categories.yaml",
        );
      }
      const hash = (inputs: ResourceInputs) =>
        inputs.spec.template.metadata.annotations["mcp-registry.io/categories-sha256"];
      assert.equal(hash(deployment), createHash("sha256").update(text).digest("hex"));
      // Another file: another hash, so the Deployment rolls (the registry reads the taxonomy at start).
      const json = path.join(folder, "categories.json");
      fs.writeFileSync(
        json,
        JSON.stringify({ categories: [{ id: "payments", title: "Pay", description: "Money." }] }),
      );
      const again = await app(withFile(json));
      assert.notEqual(hash(one(again, "Deployment")), hash(deployment));
      assert.deepEqual(Object.keys(named(again, "ConfigMap", "registry-categories").data), [
        "categories.json",
      ]);
      // Without the setting: the built-in categories, no ConfigMap, no variable.
      const plain = await app(settingsFor("local"));
      assert.equal(
        kind(plain, "ConfigMap").filter((r) => r.inputs.metadata?.name === "registry-categories").length,
        0,
      );
      const env = one(plain, "Deployment").spec.template.spec.containers[0].env as ResourceInputs[];
      assert.ok(!env.some((e) => e.name === "MCP_REGISTRY_CATEGORIES_FILE"));
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it("migrates once per image in a Job, before the Deployment rolls", async () => {
    const image = "registry.example/registry:1.0.0";
    const resources = await app(settingsFor("local"), image);
    const job = one(resources, "Job");
    assert.equal(job.metadata.name, `registry-migrate-${imageHash(image)}`);
    // `command` (not `args`) so an ENTRYPOINT in the base image cannot wrap or swallow it.
    assert.deepEqual(job.spec.template.spec.containers[0].command, ["node", "dist/src/main.js", "migrate"]);
    const server = one(resources, "Deployment").spec.template.spec.containers[0];
    assert.deepEqual(server.command, ["node", "dist/src/main.js", "serve"]);
    assert.equal(server.args, undefined);
    assert.equal(job.spec.template.spec.restartPolicy, "Never");
    assert.deepEqual(
      job.spec.template.metadata.labels["app.kubernetes.io/component"],
      MIGRATE_SELECTOR["app.kubernetes.io/component"],
    );
    assert.equal(imageHash(image), imageHash(image));
    assert.notEqual(imageHash(image), imageHash("registry.example/registry:1.0.1"));
  });

  it("passes every secret through a secretKeyRef and the settings as plain values", () => {
    const settings = settingsFor("production", {
      "mcp-registry:registry": {
        ...settingsFor("production").registry,
        github: { clientId: "gh-client" },
        oidc: {
          issuer: "https://login.example.com",
          clientId: "registry",
          extraClaims: [{ hd: "example.com" }],
          publishPermissions: ["com.example/*"],
          editPermissions: ["com.example/*", "io.example/*"],
        },
        seedFrom: "https://seed.example.com/servers.json",
      },
    });
    const env = registryEnv(settings.registry, pooled, secrets);
    const byName = new Map(env.map((e) => [e.name, e]));
    for (const name of [
      "MCP_REGISTRY_DATABASE_USER",
      "MCP_REGISTRY_DATABASE_PASSWORD",
      "MCP_REGISTRY_JWT_PRIVATE_KEY",
      "MCP_REGISTRY_GITHUB_CLIENT_SECRET",
    ]) {
      assert.ok(byName.get(name)?.valueFrom, `${name} comes from a Secret`);
      assert.equal(byName.get(name)?.value, undefined);
    }
    assert.equal(
      byName.get("MCP_REGISTRY_DATABASE_URL")?.value,
      "postgresql://$(MCP_REGISTRY_DATABASE_USER):$(MCP_REGISTRY_DATABASE_PASSWORD)@mcp-registry-db-pooler-rw:5432/registry",
    );
    // Reads from the standbys, straight to CNPG's -ro service; the pooler keeps no prepared statements.
    assert.equal(
      byName.get("MCP_REGISTRY_DATABASE_READ_URL")?.value,
      "postgresql://$(MCP_REGISTRY_DATABASE_USER):$(MCP_REGISTRY_DATABASE_PASSWORD)@mcp-registry-db-ro:5432/registry",
    );
    assert.equal(byName.get("MCP_REGISTRY_DATABASE_PREPARED_STATEMENTS")?.value, "false");
    // Not the 1 MiB young generation Node derives from a 512 Mi limit (BENCHMARKS.md, seventh session).
    assert.equal(byName.get("NODE_OPTIONS")?.value, "--max-semi-space-size=16");
    const names = env.map((e) => e.name);
    assert.ok(
      names.indexOf("MCP_REGISTRY_DATABASE_PASSWORD") < names.indexOf("MCP_REGISTRY_DATABASE_READ_URL"),
      "$(VAR) expansion needs the variable defined first",
    );
    assert.equal(byName.get("MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH")?.value, "false");
    assert.equal(byName.get("MCP_REGISTRY_OIDC_ENABLED")?.value, "true");
    assert.equal(byName.get("MCP_REGISTRY_OIDC_EXTRA_CLAIMS")?.value, '[{"hd":"example.com"}]');
    assert.equal(byName.get("MCP_REGISTRY_OIDC_EDIT_PERMISSIONS")?.value, "com.example/*,io.example/*");
    assert.equal(byName.get("MCP_REGISTRY_GITHUB_CLIENT_ID")?.value, "gh-client");
    assert.equal(byName.get("MCP_REGISTRY_SEED_FROM")?.value, "https://seed.example.com/servers.json");

    const local = new Map(
      registryEnv(settingsFor("local").registry, direct, secrets).map((e) => [e.name, e]),
    );
    assert.deepEqual(local.get("MCP_REGISTRY_DATABASE_URL")?.valueFrom, {
      secretKeyRef: { name: "mcp-registry-db-app", key: "uri" },
    });
    assert.equal(local.get("MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH")?.value, "true");
    assert.equal(local.get("MCP_REGISTRY_OIDC_ENABLED")?.value, "false");
    assert.equal(
      local.get("MCP_REGISTRY_DATABASE_READ_URL"),
      undefined,
      "one instance: reads from the primary",
    );
    assert.equal(local.get("MCP_REGISTRY_DATABASE_PREPARED_STATEMENTS"), undefined);

    const staging = new Map(
      registryEnv(settingsFor("staging").registry, replicated, secrets).map((e) => [e.name, e]),
    );
    assert.deepEqual(staging.get("MCP_REGISTRY_DATABASE_URL")?.valueFrom, {
      secretKeyRef: { name: "mcp-registry-db-app", key: "uri" },
    });
    assert.equal(
      staging.get("MCP_REGISTRY_DATABASE_READ_URL")?.value,
      "postgresql://$(MCP_REGISTRY_DATABASE_USER):$(MCP_REGISTRY_DATABASE_PASSWORD)@mcp-registry-db-ro:5432/registry",
    );
    assert.ok(staging.get("MCP_REGISTRY_DATABASE_PASSWORD")?.valueFrom, "the password comes from a Secret");
  });

  it("refuses GitHub login without its client secret", () => {
    const settings = settingsFor("staging", {
      "mcp-registry:registry": { ...settingsFor("staging").registry, github: { clientId: "gh" } },
    });
    assert.throws(
      () => registryEnv(settings.registry, direct, { ...secrets, github: undefined }),
      /^Error: registry\.github: is set but no GitHub client secret Secret was created$/,
    );
  });

  it("lets traffic in only from the gateway and Prometheus, and out only to PostgreSQL, DNS-free HTTPS", async () => {
    const resources = await app(settingsFor("production"));
    const ingress = named(resources, "NetworkPolicy", "registry-ingress");
    assert.deepEqual(ingress.spec.podSelector.matchLabels, SERVER_SELECTOR);
    assert.deepEqual(
      ingress.spec.ingress.map((r: ResourceInputs) => [
        r.from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
        r.ports,
      ]),
      [
        ["gateway", [{ protocol: "TCP", port: 8080 }]],
        ["monitoring", [{ protocol: "TCP", port: 8080 }]],
      ],
    );
    const egress = named(resources, "NetworkPolicy", "registry-egress");
    assert.deepEqual(egress.spec.policyTypes, ["Egress"]);
    assert.equal(egress.spec.egress.length, 2);
    // The pooler (writes) and the instances behind the -ro service (reads).
    assert.deepEqual(egress.spec.egress[0].to, [
      { podSelector: { matchLabels: pooled.podSelectors[0] } },
      { podSelector: { matchLabels: instances } },
    ]);
    assert.deepEqual(egress.spec.egress[0].ports, [{ protocol: "TCP", port: 5432 }]);
    assert.deepEqual(egress.spec.egress[1].ports, [{ protocol: "TCP", port: 443 }]);
    assert.deepEqual(egress.spec.egress[1].to[0].ipBlock.except, ["169.254.169.254/32"]);
  });
});

describe("registry: secrets", () => {
  it("creates the Ed25519 signing key and the GitHub secret as secret outputs in Secrets", async () => {
    let component: RegistrySecrets | undefined;
    const resources = await capture((provider) => {
      component = new RegistrySecrets("secrets", {
        provider,
        namespace: REGISTRY_NAMESPACE,
        githubClientSecret: pulumi.secret("gh-secret"),
        store: new KubernetesSecretStore(),
      });
    });
    const key = resources.find((r) => r.type === "tls:index/privateKey:PrivateKey");
    assert.equal(key?.inputs.algorithm, "ED25519");
    assert.equal(await isSecretOutput(component!.jwtPrivateKeyPem), true);
    assert.equal(await isSecretOutput(component!.githubClientSecret!), true);
    const byName = new Map(
      resources.filter((r) => r.type === "kubernetes:core/v1:Secret").map((r) => [r.inputs.metadata.name, r]),
    );
    assert.equal(isSecretPath(byName.get("registry-jwt"), "stringData.private-key.pem"), true);
    assert.match(
      byName.get("registry-jwt")?.inputs.stringData["private-key.pem"],
      /^-----BEGIN PRIVATE KEY-----/,
    );
    assert.equal(isSecretPath(byName.get("registry-github"), "stringData.client-secret"), true);
    assert.deepEqual(component!.refs.jwt, secrets.jwt);
    assert.deepEqual(component!.refs.github, secrets.github);
    assert.match(await outputValue(component!.refs.revision), /^[0-9a-f]{16}\.[0-9a-f]{16}$/);
  });

  it("creates no GitHub Secret when GitHub login is not configured", async () => {
    const resources = await capture((provider) => {
      new RegistrySecrets("secrets", {
        provider,
        namespace: REGISTRY_NAMESPACE,
        githubClientSecret: undefined,
        store: new KubernetesSecretStore(),
      });
    });
    assert.deepEqual(
      resources.filter((r) => r.type === "kubernetes:core/v1:Secret").map((r) => r.inputs.metadata.name),
      ["registry-jwt"],
    );
  });
});

describe("registry: route", () => {
  it("attaches to the Gateway's HTTPS listener for the registry hosts and limits request bodies", async () => {
    const resources = await capture((provider) => {
      new RegistryRoute("route", {
        provider,
        namespace: REGISTRY_NAMESPACE,
        hosts: settingsFor("staging").registry.hosts,
        serviceName: "registry",
        servicePort: 8080,
        platform,
      });
    });
    const route = one(resources, "HTTPRoute");
    assert.deepEqual(route.spec.parentRefs, [
      {
        group: "gateway.networking.k8s.io",
        kind: "Gateway",
        name: "public",
        namespace: "gateway",
        sectionName: "https",
      },
    ]);
    assert.deepEqual(route.spec.hostnames, ["registry.staging.example.com"]);
    const api = route.spec.rules.find((r: ResourceInputs) => r.backendRefs !== undefined);
    assert.deepEqual(api.backendRefs, [{ kind: "Service", name: "registry", port: 8080 }]);
    // Everything but /metrics reaches the app: the API under /v0.1, and the web catalogue at / and /assets/.
    assert.deepEqual(api.matches, [{ path: { type: "PathPrefix", value: "/" } }]);
    const metrics = route.spec.rules.find((r: ResourceInputs) => r.matches[0].path.value === "/metrics");
    assert.equal(metrics.backendRefs, undefined, "/metrics is not served through the gateway");
    const policy = one(resources, "ClientSettingsPolicy");
    assert.equal(policy.apiVersion, "gateway.nginx.org/v1alpha1");
    assert.deepEqual(policy.spec.targetRef, {
      group: "gateway.networking.k8s.io",
      kind: "HTTPRoute",
      name: "registry",
    });
    assert.equal(policy.spec.body.maxSize, "1m");
    assert.deepEqual(schemaProblems(resources), []);
  });

  it("rejects a malformed body size", async () => {
    await assert.rejects(
      capture((provider) => {
        new RegistryRoute("route", {
          provider,
          namespace: REGISTRY_NAMESPACE,
          hosts: ["registry.example.com"],
          serviceName: "registry",
          servicePort: 8080,
          platform,
          maxBodySize: "1 GB",
        });
      }),
      /maxBodySize '1 GB' must be a size/,
    );
  });
});

describe("registry: monitoring", () => {
  const groups = registryRuleGroups(alertParams);
  const alerts = groups.flatMap((g) => g.rules).filter((r): r is AlertRule => "alert" in r);
  const records = groups.flatMap((g) => g.rules).filter((r): r is RecordingRule => "record" in r);

  it("has every alert the runbook promises", () => {
    const names = new Set(alerts.map((a) => a.alert));
    for (const name of [
      "RegistryAvailabilityBudgetBurn",
      "RegistryLatencyBudgetBurn",
      "RegistryDown",
      "RegistryHigh5xxRatio",
      "RegistryPublishFailures",
      "RegistryDatabaseReplicationLag",
      "RegistryDatabaseWALArchivingFailing",
      "RegistryDatabaseBackupFailed",
      "RegistryDatabaseBackupTooOld",
      "RegistryLogicalBackupFailed",
      "RegistryRestoreDrillStale",
      "RegistryRestoreDrillNeverSucceeded",
    ])
      assert.ok(names.has(name), `alert ${name} exists`);
    for (const a of alerts) {
      assert.ok(["critical", "warning"].includes(a.labels.severity ?? ""), `${a.alert} has a severity`);
      assert.ok(a.annotations.summary, `${a.alert} has a summary`);
    }
  });

  it("burns the 99.9% budget over paired long and short windows, and the series exist", () => {
    const burns = alerts.filter((a) => a.alert === "RegistryAvailabilityBudgetBurn");
    assert.equal(burns.length, BURN_RATE_WINDOWS.length);
    assert.match(
      burns[0]!.expr,
      /ratio_rate1h > \(14\.4 \* 0\.0010\) and .*ratio_rate5m > \(14\.4 \* 0\.0010\)/,
    );
    const recorded = new Set(records.map((r) => r.record));
    for (const a of alerts)
      for (const series of a.expr.match(/mcp_registry:[a-z_]+:ratio_rate[0-9a-z]+/g) ?? [])
        assert.ok(recorded.has(series), `${a.alert} uses recorded series ${series}`);
    assert.ok(
      records.every((r) => r.expr.includes(APP_METRICS.requests) || r.expr.includes(APP_METRICS.duration)),
    );
  });

  it("keeps every PromQL expression's brackets balanced", () => {
    for (const rule of [...alerts, ...records]) {
      for (const [open, close] of ["()", "[]", "{}"]) {
        const depth = [...rule.expr].reduce(
          (d, ch) => (d < 0 ? d : ch === open ? d + 1 : ch === close ? d - 1 : d),
          0,
        );
        assert.equal(depth, 0, `${"alert" in rule ? rule.alert : rule.record}: ${open}${close} balanced`);
      }
    }
  });

  it("checks the restore drill's freshness through its CronJob's last successful time", () => {
    const stale = alerts.find((a) => a.alert === "RegistryRestoreDrillStale")!;
    assert.equal(
      stale.expr,
      'time() - max(kube_cronjob_status_last_successful_time{namespace="mcp-registry-restore-drill", cronjob="restore-drill"}) > 180000',
    );
  });

  it("creates a ServiceMonitor, a PrometheusRule and a dashboard ConfigMap Grafana picks up", async () => {
    const resources = await capture((provider) => {
      new RegistryMonitoring("monitoring", {
        provider,
        namespace: REGISTRY_NAMESPACE,
        serviceSelector: SERVER_SELECTOR,
        portName: "http",
        alerts: alertParams,
        platform,
      });
    });
    const monitor = one(resources, "ServiceMonitor");
    assert.equal(monitor.metadata.labels.release, "kube-prometheus-stack");
    assert.deepEqual(monitor.spec.endpoints[0].port, "http");
    const rule = one(resources, "PrometheusRule");
    assert.equal(rule.metadata.labels.release, "kube-prometheus-stack");
    assert.equal(rule.spec.groups.length, groups.length);
    const dashboard = one(resources, "ConfigMap");
    assert.equal(dashboard.metadata.namespace, "monitoring");
    assert.equal(dashboard.metadata.labels.grafana_dashboard, "1");
    const json = JSON.parse(dashboard.data["mcp-registry.json"]) as ResourceInputs;
    assert.equal(json.uid, "mcp-registry");
    const ids = json.panels.map((p: ResourceInputs) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(
      json.panels.every((p: ResourceInputs) => p.targets.every((t: ResourceInputs) => t.expr.length > 0)),
    );
    assert.deepEqual(json, registryDashboard(alertParams));
    assert.deepEqual(schemaProblems(resources), []);
  });

  it("refuses thresholds shorter than the daily jobs they watch", async () => {
    await assert.rejects(
      capture((provider) => {
        new RegistryMonitoring("monitoring", {
          provider,
          namespace: REGISTRY_NAMESPACE,
          serviceSelector: SERVER_SELECTOR,
          portName: "http",
          alerts: { ...alertParams, drillMaxAgeHours: 12 },
          platform,
        });
      }),
      /at least 24 hours/,
    );
  });
});

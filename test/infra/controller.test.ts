// The MCPServer controller's infrastructure under Pulumi mocks: CRDs, namespace, RBAC, the hardened Deployment and
// its projected tokens, NetworkPolicies, monitoring, and the registry's /auth/kubernetes settings, per stack.
import { strict as assert } from "node:assert";
import { REGISTRY_NAMESPACE } from "../../infra/data/naming";
import {
  CONTROLLER_AUDIENCE,
  CONTROLLER_NAMESPACE,
  CONTROLLER_SERVICE_ACCOUNT,
  controllerCrdManifests,
} from "../../infra/registry/controller";
import {
  runProgram,
  stackConfig,
  stackNames,
  type CapturedResource,
  type ProgramRun,
  type ResourceInputs,
  type StackName,
} from "../support/program";

const kind = (run: ProgramRun, k: string, namespace?: string): CapturedResource[] =>
  run.resources.filter(
    (r) =>
      r.type.startsWith("kubernetes:") &&
      r.type.endsWith(`:${k}`) &&
      (namespace === undefined || r.inputs.metadata?.namespace === namespace),
  );
const named = (run: ProgramRun, k: string, name: string, namespace?: string) =>
  kind(run, k, namespace).find((r) => r.inputs.metadata?.name === name);
const envOf = (container: ResourceInputs): Record<string, unknown> =>
  Object.fromEntries(
    (container.env as { name: string; value?: string; valueFrom?: unknown }[]).map((e) => [
      e.name,
      e.value ?? e.valueFrom,
    ]),
  );
const controllerRoles = (run: ProgramRun) =>
  [...kind(run, "ClusterRole"), ...kind(run, "Role")].filter(
    (r) => r.inputs.metadata?.labels?.["app.kubernetes.io/name"] === "registry-controller",
  );

/** The stack's `mcp-registry:registry` with `controller` replaced, as Pulumi would deliver it. */
function withController(stack: StackName, controller: Record<string, unknown>): Record<string, string> {
  const registry = JSON.parse(stackConfig(stack)["mcp-registry:registry"]!) as Record<string, unknown>;
  return { "mcp-registry:registry": JSON.stringify({ ...registry, controller }) };
}

describe("infra: the MCPServer controller", function () {
  this.timeout(120_000);
  const runs = new Map<StackName, ProgramRun>();
  before(async () => {
    for (const stack of stackNames) runs.set(stack, await runProgram(stack));
  });

  for (const stack of stackNames) {
    describe(stack, () => {
      const run = () => runs.get(stack)!;
      const gke = stack !== "local";

      it("installs both generated CRDs, protected where stateful resources are", () => {
        const crds = kind(run(), "CustomResourceDefinition").filter((r) =>
          String(r.inputs.metadata?.name).endsWith(".mcp-registry.io"),
        );
        assert.deepEqual(crds.map((c) => c.inputs.metadata.name).sort(), [
          "mcpnamespacegrants.mcp-registry.io",
          "mcpservers.mcp-registry.io",
        ]);
        for (const crd of crds) {
          const manifest = controllerCrdManifests().find((m) => m.metadata.name === crd.inputs.metadata.name);
          assert.deepEqual(crd.inputs.spec, JSON.parse(JSON.stringify(manifest?.spec)), "as generated");
          assert.equal(crd.opts.protect ?? false, protectsState(stack), "protect");
        }
      });

      it("runs a hardened Deployment in its own restricted namespace with only the projected tokens it needs", () => {
        const ns = named(run(), "Namespace", CONTROLLER_NAMESPACE);
        assert.equal(ns?.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        const account = named(run(), "ServiceAccount", CONTROLLER_SERVICE_ACCOUNT, CONTROLLER_NAMESPACE);
        assert.equal(account?.inputs.automountServiceAccountToken, false);
        const deployment = named(run(), "Deployment", "registry-controller", CONTROLLER_NAMESPACE);
        assert.ok(deployment, "the controller Deployment");
        assert.equal(deployment.inputs.spec.replicas, gke ? 2 : 1);
        assert.equal(kind(run(), "PodDisruptionBudget", CONTROLLER_NAMESPACE).length, gke ? 1 : 0);
        const pod = deployment.inputs.spec.template.spec;
        assert.equal(pod.serviceAccountName, CONTROLLER_SERVICE_ACCOUNT);
        assert.equal(pod.automountServiceAccountToken, false);
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
        const [container] = pod.containers;
        assert.deepEqual(container.command, ["node", "dist/src/main.js", "controller"]);
        assert.equal(container.securityContext.readOnlyRootFilesystem, true);
        assert.equal(container.securityContext.allowPrivilegeEscalation, false);
        assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
        assert.ok(container.resources.requests.cpu && container.resources.limits.memory);
        assert.equal(container.readinessProbe.httpGet.path, "/readyz");
        assert.equal(container.livenessProbe.httpGet.path, "/livez");
        // A scratch /tmp and two projected volumes, nothing else: the API token and the registry-audience token.
        assert.deepEqual(
          pod.volumes.map((v: ResourceInputs) => [v.name, Object.keys(v).filter((k) => k !== "name")]),
          [
            ["tmp", ["emptyDir"]],
            ["kube-api-access", ["projected"]],
            ["registry-token", ["projected"]],
          ],
        );
        const registryToken = pod.volumes[2].projected.sources;
        assert.deepEqual(registryToken, [
          { serviceAccountToken: { path: "token", audience: CONTROLLER_AUDIENCE, expirationSeconds: 3600 } },
        ]);
        const env = envOf(container);
        assert.equal(env.MCP_REGISTRY_CONTROLLER_TOKEN_FILE, "/var/run/secrets/mcp-registry/token");
        assert.match(
          String(env.MCP_REGISTRY_CONTROLLER_REGISTRY_URL),
          /^http:\/\/[a-z0-9-]+\.mcp-registry\.svc:\d+$/,
        );
        assert.match(String(env.MCP_REGISTRY_CONTROLLER_PUBLIC_URL), /^https:\/\//);
        // No secret of any kind reaches the controller: its only credentials are the short-lived projected tokens.
        assert.ok(!JSON.stringify(container).includes("secretKeyRef"));
      });

      it("has least-privilege RBAC: no wildcard, status and finalizers, events, and its Lease only", () => {
        const roles = controllerRoles(run());
        assert.ok(roles.length >= 2);
        for (const role of roles) {
          for (const rule of role.inputs.rules as ResourceInputs[]) {
            for (const field of ["apiGroups", "resources", "verbs", "resourceNames"]) {
              assert.ok(!(rule[field] ?? []).includes("*"), `${role.inputs.metadata.name}: ${field} has *`);
            }
          }
        }
        const cluster = named(run(), "ClusterRole", "mcp-registry-controller");
        assert.deepEqual(cluster?.inputs.rules, [
          {
            apiGroups: ["mcp-registry.io"],
            resources: ["mcpservers"],
            verbs: ["get", "list", "watch", "patch"],
          },
          { apiGroups: ["mcp-registry.io"], resources: ["mcpservers/status"], verbs: ["get", "patch"] },
          {
            apiGroups: ["mcp-registry.io"],
            resources: ["mcpnamespacegrants"],
            verbs: ["get", "list", "watch"],
          },
          { apiGroups: [""], resources: ["events"], verbs: ["create"] },
        ]);
        const lease = named(run(), "Role", "leader-election", CONTROLLER_NAMESPACE);
        const leaseRules = lease?.inputs.rules as ResourceInputs[];
        assert.ok(
          leaseRules.every((r) => r.apiGroups[0] === "coordination.k8s.io" && r.resources[0] === "leases"),
        );
        assert.deepEqual(leaseRules.find((r) => r.resourceNames)?.resourceNames, ["mcp-registry-controller"]);
        for (const binding of [
          named(run(), "ClusterRoleBinding", "mcp-registry-controller"),
          named(run(), "RoleBinding", "leader-election", CONTROLLER_NAMESPACE),
        ]) {
          assert.deepEqual(binding?.inputs.subjects, [
            { kind: "ServiceAccount", name: CONTROLLER_SERVICE_ACCOUNT, namespace: CONTROLLER_NAMESPACE },
          ]);
        }
      });

      it("lets teams manage MCPServers through admin/edit/view, and nobody but cluster admins write grants", () => {
        const edit = named(run(), "ClusterRole", "mcp-registry-mcpservers-edit");
        assert.equal(edit?.inputs.metadata.labels["rbac.authorization.k8s.io/aggregate-to-edit"], "true");
        assert.equal(edit?.inputs.metadata.labels["rbac.authorization.k8s.io/aggregate-to-admin"], "true");
        const view = named(run(), "ClusterRole", "mcp-registry-mcpservers-view");
        assert.equal(view?.inputs.metadata.labels["rbac.authorization.k8s.io/aggregate-to-view"], "true");
        const writes = ["create", "update", "patch", "delete", "deletecollection"];
        for (const role of [...kind(run(), "ClusterRole"), ...kind(run(), "Role")]) {
          for (const rule of (role.inputs.rules ?? []) as ResourceInputs[]) {
            const grants = (rule.resources ?? []).some((r: string) => r.startsWith("mcpnamespacegrants"));
            assert.ok(
              !grants || !(rule.verbs as string[]).some((v) => writes.includes(v)),
              `${role.inputs.metadata.name} may write MCPNamespaceGrants`,
            );
            // Only the controller may write status: a team must not mark its own resource Published.
            if (
              (rule.resources ?? []).includes("mcpservers/status") &&
              role !== named(run(), "ClusterRole", "mcp-registry-controller")
            )
              assert.ok(
                !(rule.verbs as string[]).some((v) => writes.includes(v)),
                `${role.inputs.metadata.name} writes status`,
              );
          }
        }
      });

      it("talks only to the registry's pods (and the API server); the registry lets it in", () => {
        const egress = named(run(), "NetworkPolicy", "registry-controller-egress", CONTROLLER_NAMESPACE);
        assert.deepEqual(egress?.inputs.spec.policyTypes, ["Egress"]);
        const [rule] = egress?.inputs.spec.egress as ResourceInputs[];
        assert.equal(
          rule?.to[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
          REGISTRY_NAMESPACE,
        );
        assert.ok(rule?.to[0].podSelector.matchLabels);
        const policies = kind(run(), "NetworkPolicy", CONTROLLER_NAMESPACE);
        assert.ok(
          policies.some((p) => JSON.stringify(p.inputs.spec).includes("Ingress")),
          "default deny ingress",
        );
        const registryIngress = kind(run(), "NetworkPolicy", REGISTRY_NAMESPACE).flatMap(
          (p) => (p.inputs.spec.ingress ?? []) as ResourceInputs[],
        );
        assert.ok(
          registryIngress.some((r) =>
            (r.from ?? []).some(
              (f: ResourceInputs) =>
                f.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === CONTROLLER_NAMESPACE,
            ),
          ),
          "the registry accepts the controller's namespace",
        );
      });

      it("is scraped by a PodMonitor and alerts on reconcile failures", () => {
        const monitor = named(run(), "PodMonitor", "registry-controller", CONTROLLER_NAMESPACE);
        assert.equal(monitor?.inputs.spec.podMetricsEndpoints[0].path, "/metrics");
        const rules = named(run(), "PrometheusRule", "registry-controller", CONTROLLER_NAMESPACE);
        const alerts = (rules?.inputs.spec.groups as ResourceInputs[]).flatMap((g) =>
          (g.rules as ResourceInputs[]).map((r) => r.alert as string),
        );
        assert.deepEqual(alerts, [
          "MCPServerControllerReconcileFailing",
          "MCPServerResourcesRejected",
          "MCPServerControllerNoLeader",
          "MCPServerControllerQueueBacklog",
        ]);
        const failing = JSON.stringify(rules?.inputs.spec.groups);
        assert.match(failing, /mcp_registry_controller_reconcile_failures_total/);
      });

      it("trusts the cluster's service account tokens for the controller's account only, at the registry", () => {
        const registry = kind(run(), "Deployment", REGISTRY_NAMESPACE)[0];
        const env = envOf(registry!.inputs.spec.template.spec.containers[0]);
        assert.equal(
          env.MCP_REGISTRY_KUBERNETES_SERVICE_ACCOUNTS,
          `${CONTROLLER_NAMESPACE}/${CONTROLLER_SERVICE_ACCOUNT}`,
        );
        assert.equal(env.MCP_REGISTRY_KUBERNETES_AUDIENCE, CONTROLLER_AUDIENCE);
        assert.equal(env.MCP_REGISTRY_KUBERNETES_PUBLISH_PERMISSIONS, "*");
        if (gke) {
          assert.match(
            String(env.MCP_REGISTRY_KUBERNETES_ISSUER),
            /^https:\/\/container\.googleapis\.com\/v1\/projects\/[^/]+\/locations\/[^/]+\/clusters\/[^/]+$/,
          );
          assert.equal(env.MCP_REGISTRY_KUBERNETES_DISCOVERY_URL, undefined);
          assert.equal(
            named(run(), "ClusterRoleBinding", "mcp-registry-service-account-issuer-discovery"),
            undefined,
          );
        } else {
          assert.equal(env.MCP_REGISTRY_KUBERNETES_ISSUER, "https://kubernetes.default.svc.cluster.local");
          assert.equal(env.MCP_REGISTRY_KUBERNETES_DISCOVERY_URL, "https://kubernetes.default.svc");
          const discovery = named(
            run(),
            "ClusterRoleBinding",
            "mcp-registry-service-account-issuer-discovery",
          );
          assert.equal(discovery?.inputs.roleRef.name, "system:service-account-issuer-discovery");
        }
      });
    });
  }

  it("can be turned off: no CRD, no controller object, no Kubernetes login at the registry", async () => {
    const off = await runProgram("staging", withController("staging", { enabled: false }));
    assert.equal(
      off.resources.filter((r) => JSON.stringify(r.inputs.metadata ?? {}).includes("registry-controller"))
        .length,
      0,
    );
    assert.equal(named(off, "CustomResourceDefinition", "mcpservers.mcp-registry.io"), undefined);
    const registry = kind(off, "Deployment", REGISTRY_NAMESPACE)[0];
    assert.ok(!JSON.stringify(registry?.inputs).includes("MCP_REGISTRY_KUBERNETES_"));
  });

  it("takes its replicas and the names its identity may publish from the stack", async () => {
    const custom = await runProgram(
      "local",
      withController("local", { replicas: 3, permissions: ["com.acme.*", "io.github.acme/*"] }),
    );
    assert.equal(
      named(custom, "Deployment", "registry-controller", CONTROLLER_NAMESPACE)?.inputs.spec.replicas,
      3,
    );
    assert.equal(kind(custom, "PodDisruptionBudget", CONTROLLER_NAMESPACE).length, 1);
    const registry = kind(custom, "Deployment", REGISTRY_NAMESPACE)[0];
    assert.equal(
      envOf(registry!.inputs.spec.template.spec.containers[0]).MCP_REGISTRY_KUBERNETES_EDIT_PERMISSIONS,
      "com.acme.*,io.github.acme/*",
    );
  });
});

/** Whether the stack file protects stateful resources (the CRDs count: deleting one deletes every MCPServer). */
function protectsState(stack: StackName): boolean {
  return stackConfig(stack)["mcp-registry:protectStatefulResources"] === "true";
}

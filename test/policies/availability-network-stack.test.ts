import assert from "node:assert/strict";
import { cnpgInstances, deploymentReplicas, deploymentSpread } from "../../policies/src/availability";
import { K8S } from "../../policies/src/core/kubernetes";
import { gatewayHttps, serviceTypes } from "../../policies/src/network";
import {
  databaseBackupSchedule,
  deploymentNetworkPolicy,
  deploymentPdb,
  namespaceDefaultDeny,
} from "../../policies/src/stack";
import {
  APP_LABELS,
  appNetworkPolicy,
  cnpgCluster,
  defaultDeny,
  deployment,
  hardenedPodSpec,
  namespace,
  pdb,
  scheduledBackup,
} from "./fixtures";
import { checkResource, checkStack, resource, type Props } from "./support";

describe("policy availability-deployment-replicas", () => {
  it("passes 2+ replicas, or an HPA with minReplicas 2+ when replicas is left to it", () => {
    assert.deepEqual(checkStack(deploymentReplicas, [deployment(undefined, 3)]).messages, []);
    const hpa = resource(K8S.hpa, "hpa", {
      metadata: { name: "registry", namespace: "mcp-registry" },
      spec: { scaleTargetRef: { kind: "Deployment", name: "registry" }, minReplicas: 2, maxReplicas: 4 },
    });
    const unset = deployment();
    delete (unset.props.spec as Props as Props).replicas;
    assert.deepEqual(checkStack(deploymentReplicas, [unset, hpa]).messages, []);
  });

  it("fails a single replica", () => {
    assert.deepEqual(checkStack(deploymentReplicas, [deployment(undefined, 1)]).messages, [
      "Deployment mcp-registry/registry runs 1 replica(s) by spec.replicas; at least 2 are required",
    ]);
  });
});

describe("policy availability-deployment-spread", () => {
  it("passes topology spread constraints or pod anti-affinity", () => {
    assert.deepEqual(checkResource(deploymentSpread, deployment()).messages, []);
    const anti = {
      ...hardenedPodSpec(),
      topologySpreadConstraints: [],
      affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100 }] } },
    };
    assert.deepEqual(checkResource(deploymentSpread, deployment(anti)).messages, []);
  });

  it("fails a pod template that does neither", () => {
    const pod = { ...hardenedPodSpec(), topologySpreadConstraints: undefined };
    assert.deepEqual(checkResource(deploymentSpread, deployment(pod)).messages, [
      "the pod template has neither topologySpreadConstraints nor podAntiAffinity",
    ]);
  });
});

describe("policy availability-cnpg-instances", () => {
  it("passes the environment minimum and fails below it", () => {
    assert.deepEqual(checkResource(cnpgInstances, cnpgCluster()).messages, []);
    assert.deepEqual(checkResource(cnpgInstances, cnpgCluster("db", "ns", { instances: 2 })).messages, [
      "spec.instances is 2; at least 3 are required",
    ]);
    assert.deepEqual(
      checkResource(cnpgInstances, cnpgCluster("db", "ns", { instances: 1 }), { minInstances: 1 }).messages,
      [],
    );
  });
});

describe("policy network-no-exposed-services", () => {
  it("passes ClusterIP Services and the gateway chart's LoadBalancer", () => {
    assert.deepEqual(
      checkResource(serviceTypes, resource(K8S.service, "svc", { spec: { ports: [{ port: 80 }] } })).messages,
      [],
    );
    const ngf = resource(K8S.helmReleaseV3, "ngf", {
      chart: "oci://ghcr.io/nginx/charts/nginx-gateway-fabric",
      values: { nginx: { service: { type: "LoadBalancer" } } },
    });
    assert.deepEqual(checkResource(serviceTypes, ngf).messages, []);
  });

  it("fails NodePort/LoadBalancer Services and exposed services in other charts' values", () => {
    const svc = resource(K8S.service, "minio", {
      metadata: { name: "minio", namespace: "platform" },
      spec: { type: "NodePort" },
    });
    assert.deepEqual(checkResource(serviceTypes, svc).messages, [
      "Service platform/minio is of type NodePort",
    ]);
    const grafana = resource(K8S.helmReleaseV3, "monitoring", {
      chart: "kube-prometheus-stack",
      values: { grafana: { service: { type: "LoadBalancer" } } },
    });
    assert.deepEqual(checkResource(serviceTypes, grafana).messages, [
      "chart kube-prometheus-stack sets values.grafana.service.type: LoadBalancer",
    ]);
  });
});

function gateway(listeners: Props[]) {
  return resource(K8S.gateway, "gateway", {
    metadata: { name: "public", namespace: "gateway" },
    spec: { gatewayClassName: "nginx", listeners },
  });
}
const httpsListener = {
  name: "https",
  protocol: "HTTPS",
  port: 443,
  tls: { mode: "Terminate", certificateRefs: [{ name: "public-tls" }] },
};
const httpListener = { name: "http", protocol: "HTTP", port: 80 };
function route(name: string, parentRef: Props, rules: Props[]) {
  return resource(K8S.httpRoute, name, {
    metadata: { name, namespace: "mcp-registry" },
    spec: { parentRefs: [parentRef], rules },
  });
}
const redirect = route("redirect", { name: "public", namespace: "gateway", sectionName: "http" }, [
  { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] },
]);
const appRule = [{ backendRefs: [{ name: "registry", port: 8080 }] }];

describe("policy network-gateway-https-only", () => {
  it("passes an HTTPS listener with a certificate and an HTTP listener that only redirects", () => {
    const app = route("registry", { name: "public", namespace: "gateway", sectionName: "https" }, appRule);
    assert.deepEqual(
      checkStack(gatewayHttps, [gateway([httpsListener, httpListener]), redirect, app]).messages,
      [],
    );
  });

  it("fails an application route that attaches to the HTTP listener (no sectionName attaches to all)", () => {
    const app = route("registry", { name: "public", namespace: "gateway" }, appRule);
    assert.deepEqual(
      checkStack(gatewayHttps, [gateway([httpsListener, httpListener]), redirect, app]).messages,
      [
        'Gateway gateway/public listener "http" is plain HTTP and route mcp-registry/registry attached to it does more than redirect to https',
      ],
    );
  });

  it("fails an HTTPS listener without certificates and TCP listeners", () => {
    const noCert = { ...httpsListener, tls: { mode: "Terminate" } };
    assert.deepEqual(
      checkStack(gatewayHttps, [gateway([noCert, { name: "pg", protocol: "TCP", port: 5432 }])]).messages,
      [
        'Gateway gateway/public listener "https" is HTTPS without tls.certificateRefs',
        'Gateway gateway/public listener "pg" uses protocol TCP; only HTTPS, TLS and the HTTP redirect are allowed',
      ],
    );
  });
});

describe("policy stack-namespace-default-deny", () => {
  it("passes namespaces with a default deny and fails one without", () => {
    assert.deepEqual(
      checkStack(namespaceDefaultDeny, [namespace("mcp-registry"), defaultDeny("mcp-registry")]).messages,
      [],
    );
    const allowsAll = resource(K8S.networkPolicy, "open", {
      metadata: { name: "default-deny", namespace: "platform" },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [{}] },
    });
    assert.deepEqual(checkStack(namespaceDefaultDeny, [namespace("platform"), allowsAll]).messages, [
      "Namespace platform has no default-deny NetworkPolicy",
    ]);
  });
});

describe("policy stack-deployment-pdb", () => {
  it("passes a Deployment with a matching PDB", () => {
    assert.deepEqual(checkStack(deploymentPdb, [deployment(), pdb()]).messages, []);
  });

  it("fails a PDB in another namespace or selecting other pods, and one without a budget", () => {
    assert.deepEqual(
      checkStack(deploymentPdb, [deployment(), pdb("other"), pdb("mcp-registry", { app: "x" })]).messages,
      ["Deployment mcp-registry/registry has no PodDisruptionBudget selecting its pods"],
    );
    assert.deepEqual(
      checkStack(deploymentPdb, [deployment(), pdb("mcp-registry", APP_LABELS, {})]).messages,
      [
        "the PodDisruptionBudget of Deployment mcp-registry/registry sets neither minAvailable nor maxUnavailable",
      ],
    );
  });
});

describe("policy stack-deployment-network-policy", () => {
  it("passes a Deployment selected by its own NetworkPolicy (matchExpressions too)", () => {
    assert.deepEqual(checkStack(deploymentNetworkPolicy, [deployment(), appNetworkPolicy()]).messages, []);
    const byExpression = resource(K8S.networkPolicy, "np", {
      metadata: { name: "np", namespace: "mcp-registry" },
      spec: {
        podSelector: {
          matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["registry"] }],
        },
      },
    });
    assert.deepEqual(checkStack(deploymentNetworkPolicy, [deployment(), byExpression]).messages, []);
  });

  it("fails when only the namespace's default deny selects it", () => {
    assert.deepEqual(
      checkStack(deploymentNetworkPolicy, [deployment(), defaultDeny("mcp-registry")]).messages,
      ["Deployment mcp-registry/registry is selected by no NetworkPolicy of its own"],
    );
  });
});

describe("policy stack-database-backup-schedule", () => {
  it("passes a database with a ScheduledBackup and skips restore targets", () => {
    const target = cnpgCluster("scratch", "drill", { bootstrap: { recovery: { source: "registry-db" } } });
    assert.deepEqual(
      checkStack(databaseBackupSchedule, [cnpgCluster(), scheduledBackup(), target]).messages,
      [],
    );
  });

  it("fails a database without a schedule, and a suspended schedule", () => {
    assert.deepEqual(
      checkStack(databaseBackupSchedule, [cnpgCluster(), scheduledBackup("other-db")]).messages,
      ["database mcp-registry/registry-db has no ScheduledBackup"],
    );
    assert.deepEqual(
      checkStack(databaseBackupSchedule, [
        cnpgCluster(),
        scheduledBackup("registry-db", "mcp-registry", { suspend: true }),
      ]).messages,
      ["the ScheduledBackup of database mcp-registry/registry-db is suspended"],
    );
  });

  it("is not applicable to a stack without databases", () => {
    assert.equal(
      checkStack(databaseBackupSchedule, [deployment()]).notApplicable,
      "the stack has no kubernetes:postgresql.cnpg.io/v1:Cluster",
    );
  });
});

import assert from "node:assert/strict";
import { K8S } from "../../policies/src/core/kubernetes";
import type { PackPolicy } from "../../policies/src/core/policy";
import {
  capabilities,
  hostAccess,
  hostNamespaces,
  kernelSecurityOptions,
  noPrivilegeEscalation,
  noSecretsInEnv,
  privileged,
  probes,
  readOnlyRootFilesystem,
  resources,
  runAsNonRoot,
  seccomp,
  serviceAccountToken,
  volumeTypes,
} from "../../policies/src/pods";
import { cronJob, deployment, hardenedContainer, hardenedPodSpec } from "./fixtures";
import { checkResource, resource, type Props } from "./support";

/** A hardened pod spec with one change applied to it (and to its first container). */
function weakened(change: (pod: Props, container: Props) => void): Props {
  const container = hardenedContainer();
  const pod = hardenedPodSpec([container]);
  change(pod, container);
  return pod;
}

const sc = (container: Props) => container.securityContext as Props;

interface Case {
  readonly policy: PackPolicy;
  readonly fail: (pod: Props, container: Props) => void;
  readonly messages: string[];
}

const cases: Case[] = [
  {
    policy: hostNamespaces,
    fail: (pod) => Object.assign(pod, { hostNetwork: true, hostPID: true }),
    messages: ["the pod spec sets hostNetwork: true", "the pod spec sets hostPID: true"],
  },
  {
    policy: privileged,
    fail: (_pod, c) => Object.assign(sc(c), { privileged: true, procMount: "Unmasked" }),
    messages: [
      'container "app" is privileged',
      'container "app" sets procMount: Unmasked (only Default is allowed)',
    ],
  },
  {
    policy: hostAccess,
    fail: (pod, c) => {
      (pod.volumes as Props[]).push({ name: "docker", hostPath: { path: "/var/run/docker.sock" } });
      c.ports = [{ containerPort: 8080, hostPort: 8080 }];
      c.readinessProbe = { httpGet: { host: "10.0.0.1", path: "/", port: 80 } };
    },
    messages: [
      'volume "docker" is a hostPath volume',
      'container "app" binds host port 8080',
      'container "app" readinessProbe.httpGet sets host "10.0.0.1"',
    ],
  },
  {
    policy: kernelSecurityOptions,
    fail: (pod, c) => {
      Object.assign(sc(c), { appArmorProfile: { type: "Unconfined" }, seLinuxOptions: { type: "spc_t" } });
      (pod.securityContext as Props).sysctls = [{ name: "kernel.msgmax", value: "65536" }];
    },
    messages: [
      'container "app" sets appArmorProfile Unconfined',
      'container "app" sets seLinuxOptions.type "spc_t"',
      'the pod sets sysctl "kernel.msgmax", which is not in the safe set',
    ],
  },
  {
    policy: runAsNonRoot,
    fail: (pod, c) => {
      delete (pod.securityContext as Props).runAsNonRoot;
      Object.assign(sc(c), { runAsNonRoot: undefined, runAsUser: 0 });
    },
    messages: [
      'container "app" may run as root (runAsNonRoot is unset)',
      'container "app" sets runAsUser: 0',
    ],
  },
  {
    policy: noPrivilegeEscalation,
    fail: (_pod, c) => delete sc(c).allowPrivilegeEscalation,
    messages: ['container "app" does not set allowPrivilegeEscalation: false'],
  },
  {
    policy: capabilities,
    fail: (_pod, c) => (sc(c).capabilities = { drop: ["NET_RAW"], add: ["SYS_ADMIN", "NET_BIND_SERVICE"] }),
    messages: ['container "app" does not drop ALL capabilities', 'container "app" adds capability SYS_ADMIN'],
  },
  {
    policy: seccomp,
    fail: (pod, c) => {
      delete (pod.securityContext as Props).seccompProfile;
      sc(c).seccompProfile = { type: "Unconfined" };
    },
    messages: ['container "app" runs with seccomp Unconfined (needs RuntimeDefault or Localhost)'],
  },
  {
    policy: volumeTypes,
    fail: (pod) => (pod.volumes as Props[]).push({ name: "share", nfs: { server: "nfs", path: "/" } }),
    messages: ['volume "share" is of type nfs'],
  },
  {
    policy: readOnlyRootFilesystem,
    fail: (_pod, c) => (sc(c).readOnlyRootFilesystem = false),
    messages: ['container "app" does not set readOnlyRootFilesystem: true'],
  },
  {
    policy: resources,
    fail: (_pod, c) => (c.resources = { requests: { cpu: "100m" } }),
    messages: ['container "app" has no requests.memory, limits.memory'],
  },
  {
    policy: probes,
    fail: (_pod, c) => delete c.livenessProbe,
    messages: ['container "app" has no livenessProbe'],
  },
  {
    policy: serviceAccountToken,
    fail: (pod) => (pod.automountServiceAccountToken = true),
    messages: ["the pod mounts a service account token (automountServiceAccountToken is not false)"],
  },
  {
    policy: noSecretsInEnv,
    fail: (_pod, c) => {
      c.env = [
        { name: "MCP_REGISTRY_GITHUB_CLIENT_SECRET", value: "s3cr3t-value" },
        { name: "MCP_REGISTRY_DATABASE_URL", value: "postgres://app:hunter2@db:5432/registry" },
        { name: "MCP_REGISTRY_TOKEN_TTL_SECONDS", value: "3600" },
        { name: "MCP_REGISTRY_JWT_PRIVATE_KEY", valueFrom: { secretKeyRef: { name: "jwt", key: "key" } } },
      ];
    },
    messages: [
      'container "app" env MCP_REGISTRY_GITHUB_CLIENT_SECRET is set in plain text; use valueFrom.secretKeyRef',
      'container "app" env MCP_REGISTRY_DATABASE_URL contains a URL with an embedded password in plain text',
    ],
  },
];

describe("policies: pods", () => {
  for (const { policy, fail, messages } of cases) {
    describe(policy.name, () => {
      it("passes the hardened pod spec", () => {
        const result = checkResource(policy, deployment());
        assert.equal(result.notApplicable, undefined);
        assert.deepEqual(result.messages, []);
      });

      it("fails the weakened pod spec with the expected message", () => {
        assert.deepEqual(checkResource(policy, deployment(weakened(fail))).messages, messages);
      });
    });
  }

  it("check every workload kind's pod template, including CronJobs and bare Pods", () => {
    const rootJob = cronJob(weakened((_pod, c) => (sc(c).runAsUser = 0)));
    assert.deepEqual(checkResource(runAsNonRoot, rootJob).messages, ['container "app" sets runAsUser: 0']);
    const pod = resource(K8S.pod, "debug", {
      metadata: { name: "debug" },
      spec: weakened((p) => (p.hostIPC = true)),
    });
    assert.deepEqual(checkResource(hostNamespaces, pod).messages, ["the pod spec sets hostIPC: true"]);
  });

  it("apply to init containers too", () => {
    const init = hardenedContainer("migrate");
    (init.securityContext as Props).allowPrivilegeEscalation = true;
    const pod = { ...hardenedPodSpec(), initContainers: [init] };
    assert.deepEqual(checkResource(noPrivilegeEscalation, deployment(pod)).messages, [
      'init container "migrate" does not set allowPrivilegeEscalation: false',
    ]);
  });

  it("count a projected token for the API server as a mounted token, but not one with another audience", () => {
    const projected = (audience?: string) =>
      weakened((pod) => {
        (pod.volumes as Props[]).push({
          name: "token",
          projected: { sources: [{ serviceAccountToken: { path: "token", ...(audience && { audience }) } }] },
        });
      });
    assert.deepEqual(checkResource(serviceAccountToken, deployment(projected())).messages, [
      "volume token projects a service account token for the API server",
    ]);
    assert.deepEqual(checkResource(serviceAccountToken, deployment(projected("mcp-registry"))).messages, []);
  });

  it("leave probes to long-running workloads and CPU limits to config", () => {
    assert.equal(
      checkResource(probes, cronJob(weakened((_p, c) => delete c.livenessProbe))).notApplicable,
      "a run-to-completion workload",
    );
    assert.deepEqual(checkResource(resources, deployment(), { requireCpuLimit: true }).messages, [
      'container "app" has no limits.cpu',
    ]);
  });

  it("are not applicable to resources without a pod template", () => {
    const service = resource(K8S.service, "svc", { spec: { type: "ClusterIP" } });
    assert.match(
      checkResource(runAsNonRoot, service).notApplicable ?? "",
      /^applies to kubernetes:core\/v1:Pod, /,
    );
  });
});

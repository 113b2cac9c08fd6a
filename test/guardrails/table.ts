// The shared table of good and bad pod specs that both twins of each guarded rule must judge alike: the CrossGuard
// policy (its validateResource, as the pack runs it) and its ValidatingAdmissionPolicy (the real API server).
import {
  GUARDED_POLICIES,
  type AdmissionParams,
  type GuardedPolicy,
} from "../../policies/src/core/admission";
import { goodContainer, goodPodSpec } from "./support";

export const TABLE_PARAMS: AdmissionParams = {
  allowedRegistries: ["registry.example.com/approved/", "quay.io/prometheus"],
  requireCpuLimit: false,
};

type Spec = Record<string, unknown>;

export interface Row {
  readonly name: string;
  readonly podSpec: Spec;
  /** The guarded rules this spec breaks (the others must accept it). */
  readonly violates: readonly GuardedPolicy[];
}

const DIGEST = `sha256:${"a1".repeat(32)}`;

function withContainer(change: (c: Spec) => Spec, init = false): Spec {
  const spec = goodPodSpec();
  const container = change(goodContainer(init ? "init" : "app"));
  return init ? { ...spec, initContainers: [container] } : { ...spec, containers: [container] };
}

const image = (ref: string) => withContainer((c) => ({ ...c, image: ref }));
const securityContext = (patch: Spec) =>
  withContainer((c) => ({ ...c, securityContext: { ...(c.securityContext as Spec), ...patch } }));
const pod = (patch: Spec) => ({ ...goodPodSpec(), ...patch });
const podSecurity = (patch: Spec) => {
  const spec = goodPodSpec();
  return { ...spec, securityContext: { ...(spec.securityContext as Spec), ...patch } };
};

export const TABLE: readonly Row[] = [
  {
    name: "restricted, pinned by tag, from an allowed registry, with requests and a memory limit",
    podSpec: goodPodSpec(),
    violates: [],
  },
  {
    name: "pinned by digest only",
    podSpec: image(`registry.example.com/approved/app@${DIGEST}`),
    violates: [],
  },
  {
    name: "tag latest with a digest (the digest pins it)",
    podSpec: image(`registry.example.com/approved/app:latest@${DIGEST}`),
    violates: [],
  },
  {
    name: "an allowed prefix given without its trailing slash",
    podSpec: image("quay.io/prometheus/prometheus:v3.9.1"),
    violates: [],
  },
  {
    name: "an image only in the node's runtime (imagePullPolicy Never), from no allowed registry",
    podSpec: withContainer((c) => ({ ...c, image: "mcp-registry:0123abcd", imagePullPolicy: "Never" })),
    violates: [],
  },
  {
    name: "runAsNonRoot on the container only",
    podSpec: { ...withContainer((c) => c), securityContext: { seccompProfile: { type: "RuntimeDefault" } } },
    violates: [],
  },
  {
    name: "explicit false for privileged and the host namespaces, procMount Default",
    podSpec: {
      ...securityContext({ privileged: false, procMount: "Default" }),
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
    },
    violates: [],
  },
  {
    name: "a compliant init container",
    podSpec: { ...goodPodSpec(), initContainers: [goodContainer("init")] },
    violates: [],
  },
  {
    name: "a privileged container",
    podSpec: securityContext({ privileged: true, allowPrivilegeEscalation: true }),
    violates: ["pods-no-privileged"],
  },
  {
    name: "a privileged init container",
    podSpec: {
      ...goodPodSpec(),
      initContainers: [
        { ...goodContainer("init"), securityContext: { privileged: true, runAsNonRoot: true } },
      ],
    },
    violates: ["pods-no-privileged"],
  },
  { name: "hostNetwork", podSpec: pod({ hostNetwork: true }), violates: ["pods-host-namespaces"] },
  { name: "hostPID", podSpec: pod({ hostPID: true }), violates: ["pods-host-namespaces"] },
  { name: "hostIPC", podSpec: pod({ hostIPC: true }), violates: ["pods-host-namespaces"] },
  {
    name: "the pod runs as UID 0",
    podSpec: podSecurity({ runAsUser: 0 }),
    violates: ["pods-run-as-non-root"],
  },
  {
    name: "a container sets runAsNonRoot false",
    podSpec: securityContext({ runAsNonRoot: false }),
    violates: ["pods-run-as-non-root"],
  },
  {
    name: "runAsNonRoot set nowhere",
    podSpec: {
      ...withContainer((c) => ({
        ...c,
        securityContext: { ...(c.securityContext as Spec), runAsNonRoot: undefined },
      })),
      securityContext: { seccompProfile: { type: "RuntimeDefault" } },
    },
    violates: ["pods-run-as-non-root"],
  },
  {
    name: "a container runs as UID 0",
    podSpec: securityContext({ runAsUser: 0 }),
    violates: ["pods-run-as-non-root"],
  },
  {
    name: "no tag and no digest",
    podSpec: image("registry.example.com/approved/app"),
    violates: ["images-pinned"],
  },
  {
    name: "the tag latest",
    podSpec: image("registry.example.com/approved/app:latest"),
    violates: ["images-pinned"],
  },
  {
    name: "a Docker Hub short name",
    podSpec: image("nginx:1.27.3"),
    violates: ["images-allowed-registries"],
  },
  {
    name: "a look-alike of an allowed prefix",
    podSpec: image("registry.example.com/approved-not/app:1.0.0"),
    violates: ["images-allowed-registries"],
  },
  {
    name: "a registry with a port, untagged",
    podSpec: image("localhost:5000/app"),
    violates: ["images-pinned", "images-allowed-registries"],
  },
  {
    name: "no resources",
    podSpec: withContainer((c) => ({ ...c, resources: undefined })),
    violates: ["pods-resources"],
  },
  {
    name: "no memory limit (a CPU limit is not asked for)",
    podSpec: withContainer((c) => ({
      ...c,
      resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "1" } },
    })),
    violates: ["pods-resources"],
  },
  {
    name: "an init container without resources",
    podSpec: { ...goodPodSpec(), initContainers: [{ ...goodContainer("init"), resources: undefined }] },
    violates: ["pods-resources"],
  },
  {
    name: "everything at once",
    podSpec: {
      ...pod({ hostPID: true }),
      containers: [
        {
          name: "bad",
          image: "docker.io/bitnami/kubectl:latest",
          securityContext: { privileged: true, runAsUser: 0 },
        },
      ],
    },
    violates: GUARDED_POLICIES,
  },
];

/** The table's rows with JSON's view of them (undefined fields dropped), as both twins receive them. */
export function rows(): Row[] {
  return TABLE.map((row) => ({ ...row, podSpec: JSON.parse(JSON.stringify(row.podSpec)) as Spec }));
}

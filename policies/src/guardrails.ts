// Guardrails: the pack's key pod and image rules are enforced inside the cluster too, by their CEL twins
// (ValidatingAdmissionPolicies, policies/src/core/admission.ts), bound in every namespace the stack creates.
import { K8S, metadataName } from "./core/kubernetes";
import { GUARDED_POLICIES, POLICY_PREFIX } from "./core/admission";
import { stackPolicy } from "./core/policy";
import { list, rec, recAt, str, strAt } from "./core/values";

export const admissionGuardrails = stackPolicy({
  name: "guardrails-admission-policies",
  description:
    `The stack deploys the CEL twin of each of ${GUARDED_POLICIES.join(", ")} as a ValidatingAdmissionPolicy ` +
    "(failurePolicy Fail, so a CEL error refuses rather than admits), and binds each one in every Namespace the " +
    "stack creates with the stack's validationActions (config: Warn and Audit while rolling out, Deny in " +
    "production). So a `kubectl apply` or a Helm upgrade made outside Pulumi meets the same rules at admission " +
    "that CrossGuard applies at deploy time.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Create infra/platform/guardrails.ts AdmissionGuardrails with every namespace the stack creates, and set " +
    "mcp-registry:guardrails.admission (deny in production).",
  controls: [{ source: "Project baseline", id: "The same rules at deploy time and at admission time" }],
  appliesTo: [K8S.namespace],
  config: {
    validationActions: {
      type: "stringArray",
      default: ["Warn", "Audit"],
      description: "The validationActions every binding must have (e.g. [Deny] in production).",
    },
  },
  validate: ({ resources, config, report }) => {
    const policies = new Map(
      resources
        .filter((r) => r.type === K8S.validatingAdmissionPolicy)
        .map((r) => [metadataName(r.props) ?? "", r]),
    );
    for (const name of GUARDED_POLICIES) {
      const policy = policies.get(`${POLICY_PREFIX}${name}`);
      if (policy === undefined) report(`no ValidatingAdmissionPolicy ${POLICY_PREFIX}${name} twins ${name}`);
      else if (strAt(policy.props, "spec", "failurePolicy") !== "Fail")
        report(`${POLICY_PREFIX}${name} does not set failurePolicy: Fail`, policy);
    }
    const bound = new Map<string, string[]>();
    for (const binding of resources.filter((r) => r.type === K8S.validatingAdmissionPolicyBinding)) {
      const policy = strAt(binding.props, "spec", "policyName") ?? "";
      const namespace = str(
        recAt(binding.props, "spec", "matchResources", "namespaceSelector", "matchLabels")?.[
          "kubernetes.io/metadata.name"
        ],
      );
      const actions = list(rec(binding.props.spec)?.validationActions).map(String).sort();
      if (actions.join() !== [...config.validationActions].sort().join())
        report(
          `binding ${metadataName(binding.props)} acts with [${actions.join(", ")}], not [${config.validationActions.join(", ")}]`,
          binding,
        );
      if (namespace !== undefined) bound.set(namespace, [...(bound.get(namespace) ?? []), policy]);
    }
    for (const ns of resources.filter((r) => r.type === K8S.namespace)) {
      const name = metadataName(ns.props) ?? ns.name;
      const missing = GUARDED_POLICIES.filter(
        (p) => !(bound.get(name) ?? []).includes(`${POLICY_PREFIX}${p}`),
      );
      if (missing.length > 0) report(`namespace ${name} has no binding of ${missing.join(", ")}`, ns);
    }
  },
});

export const guardrailPolicies = [admissionGuardrails];

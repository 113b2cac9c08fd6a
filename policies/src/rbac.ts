// RBAC: the Roles and ClusterRoles the program creates name what they grant; no wildcard, which would also grant
// whatever a future API version, resource or verb adds.
import { K8S, objectRef } from "./core/kubernetes";
import { resourcePolicy } from "./core/policy";
import { list, listAt, rec, str } from "./core/values";

const RULE_FIELDS = ["apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"] as const;

export const rbacNoWildcards = resourcePolicy({
  name: "rbac-no-wildcards",
  description:
    "Roles and ClusterRoles the program creates (the MCPServer controller's among them) list their API groups, " +
    "resources, verbs, resource names and non-resource URLs explicitly: no `*`, not even as a suffix.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Name each API group, resource (and subresource such as mcpservers/status) and verb the workload uses; a " +
    "controller that patches finalizers needs `patch` on the resource, not `*`.",
  controls: [
    { source: "checkov", id: "CKV_K8S_49" },
    { source: "Project baseline", id: "least-privilege RBAC" },
  ],
  appliesTo: [K8S.role, K8S.clusterRole],
  validate: ({ resource, report, notApplicable }) => {
    const rules = listAt(resource.props, "rules");
    if (rules.length === 0) notApplicable("grants nothing itself (no rules; aggregated or empty)");
    rules.forEach((rule, index) => {
      for (const field of RULE_FIELDS) {
        const wild = list(rec(rule)?.[field]).filter((value) => str(value)?.includes("*") === true);
        if (wild.length > 0) {
          const kind = resource.type === K8S.role ? "Role" : "ClusterRole";
          report(
            `${kind} ${objectRef(resource.props, resource.name)} rules[${index}].${field} has ${wild.map(String).join(", ")}`,
          );
        }
      }
    });
  },
});

export const rbacPolicies = [rbacNoWildcards];

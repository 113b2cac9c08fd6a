import { strict as assert } from "node:assert";
import { K8S } from "../../policies/src/core/kubernetes";
import { crdStructuralSchema } from "../../policies/src/crds";
import { rbacNoWildcards } from "../../policies/src/rbac";
import {
  CONTROLLER_CLUSTER_RULES,
  CONTROLLER_LEASE_RULES,
  controllerCrdManifests,
} from "../../infra/registry/controller";
import { checkResource, resource, stackResources, type Props } from "./support";

const role = (rules: readonly object[], kind: "Role" | "ClusterRole" = "ClusterRole") =>
  resource(kind === "Role" ? K8S.role : K8S.clusterRole, "r", {
    metadata: { name: "controller", ...(kind === "Role" && { namespace: "ns" }) },
    rules: [...rules],
  });

const crd = (schema: Props | undefined) =>
  resource(K8S.crd, "crd", {
    metadata: { name: "widgets.example.com" },
    spec: { versions: [{ name: "v1", ...(schema && { schema: { openAPIV3Schema: schema } }) }] },
  });

describe("policies: RBAC and custom resources", () => {
  describe("rbac-no-wildcards", () => {
    it("passes the controller's own rules", () => {
      assert.deepEqual(checkResource(rbacNoWildcards, role(CONTROLLER_CLUSTER_RULES)).messages, []);
      assert.deepEqual(checkResource(rbacNoWildcards, role(CONTROLLER_LEASE_RULES, "Role")).messages, []);
    });

    it("fails every wildcard, suffixes and non-resource URLs included", () => {
      const result = checkResource(
        rbacNoWildcards,
        role([
          { apiGroups: ["mcp-registry.io"], resources: ["mcpservers"], verbs: ["*"] },
          { apiGroups: ["*"], resources: ["mcpservers/*"], verbs: ["get"] },
          { nonResourceURLs: ["/metrics*"], verbs: ["get"] },
        ]),
      );
      assert.deepEqual(result.messages, [
        "ClusterRole controller rules[0].verbs has *",
        "ClusterRole controller rules[1].apiGroups has *",
        "ClusterRole controller rules[1].resources has mcpservers/*",
        "ClusterRole controller rules[2].nonResourceURLs has /metrics*",
      ]);
      assert.deepEqual(
        checkResource(rbacNoWildcards, role([{ apiGroups: [""], resources: ["*"], verbs: ["get"] }], "Role"))
          .messages,
        ["Role ns/controller rules[0].resources has *"],
      );
    });

    it("is not applicable to aggregated roles without rules of their own", () => {
      assert.match(checkResource(rbacNoWildcards, role([])).notApplicable ?? "", /no rules/);
    });
  });

  describe("crds-structural-schema", () => {
    it("passes the CRDs registry-app generates from its zod schemas", () => {
      for (const manifest of controllerCrdManifests()) {
        const result = checkResource(
          crdStructuralSchema,
          resource(K8S.crd, manifest.metadata.name, Object.fromEntries(Object.entries(manifest))),
        );
        assert.deepEqual(result.messages, [], manifest.metadata.name);
      }
    });

    it("fails a missing schema, a schema-less spec, untyped fields, $ref and metadata inside junctors", () => {
      assert.deepEqual(checkResource(crdStructuralSchema, crd(undefined)).messages, [
        "CustomResourceDefinition widgets.example.com v1 has no openAPIV3Schema",
      ]);
      const schema = {
        type: "object",
        properties: {
          spec: { "x-kubernetes-preserve-unknown-fields": true },
          status: {
            type: "object",
            properties: { size: {}, ref: { $ref: "#/definitions/x", type: "string" } },
            oneOf: [{ type: "object", required: ["size"] }],
          },
          map: {
            type: "object",
            properties: { a: { type: "string" } },
            additionalProperties: { type: "string" },
          },
        },
      };
      assert.deepEqual(checkResource(crdStructuralSchema, crd(schema)).messages, [
        "CustomResourceDefinition widgets.example.com v1: spec is schema-less (x-kubernetes-preserve-unknown-fields without properties)",
        "CustomResourceDefinition widgets.example.com v1 is not structural: openAPIV3Schema.status.size: no type",
        "CustomResourceDefinition widgets.example.com v1 is not structural: openAPIV3Schema.status.ref: $ref",
        'CustomResourceDefinition widgets.example.com v1 is not structural: openAPIV3Schema.status.oneOf[0]: "type" inside a logical junctor',
        "CustomResourceDefinition widgets.example.com v1 is not structural: openAPIV3Schema.map: properties and additionalProperties together",
      ]);
    });
  });

  it("every stack installs the controller's CRDs and RBAC, and both policies judge them", async () => {
    const stack = await stackResources("local");
    const crds = stack.filter((r) => r.type === K8S.crd);
    assert.deepEqual(crds.map((r) => (r.props.metadata as { name: string }).name).sort(), [
      "mcpnamespacegrants.mcp-registry.io",
      "mcpservers.mcp-registry.io",
    ]);
    for (const r of crds) assert.deepEqual(checkResource(crdStructuralSchema, r).messages, []);
    const roles = stack.filter((r) => r.type === K8S.role || r.type === K8S.clusterRole);
    assert.ok(roles.length >= 4, `only ${roles.length} roles`);
    for (const r of roles) assert.deepEqual(checkResource(rbacNoWildcards, r).messages, [], r.name);
  });
});

// CustomResourceDefinitions: every one the program installs has a structural schema, so the API server prunes
// unknown fields, defaults and validates (including CEL rules) every object, instead of storing whatever it gets.
import { K8S, metadataName } from "./core/kubernetes";
import { resourcePolicy } from "./core/policy";
import { listAt, rec, recAt, str, type Props } from "./core/values";

const JUNCTORS = ["allOf", "anyOf", "oneOf"] as const;
/** What a node inside allOf/anyOf/oneOf/not may not set (the API server's structural rules). */
const NOT_IN_JUNCTORS = ["type", "description", "default", "additionalProperties", "nullable"] as const;

/**
 * Why a schema is not structural: a node without a type (unless it preserves unknown fields or is int-or-string),
 * `$ref`, metadata inside logical junctors, properties beside additionalProperties. One line per problem.
 */
export function structuralProblems(schema: Props, at = "openAPIV3Schema"): string[] {
  const problems: string[] = [];
  const visit = (node: Props, path: string, inJunctor: boolean) => {
    if (inJunctor) {
      for (const key of NOT_IN_JUNCTORS)
        if (key in node) problems.push(`${path}: "${key}" inside a logical junctor`);
    } else if (
      str(node.type) === undefined &&
      node["x-kubernetes-preserve-unknown-fields"] !== true &&
      node["x-kubernetes-int-or-string"] !== true
    ) {
      problems.push(`${path}: no type`);
    }
    if ("$ref" in node) problems.push(`${path}: $ref`);
    const properties = rec(node.properties);
    const additional = rec(node.additionalProperties);
    if (properties !== undefined && additional !== undefined)
      problems.push(`${path}: properties and additionalProperties together`);
    for (const [name, child] of Object.entries(properties ?? {})) {
      const childNode = rec(child);
      if (childNode !== undefined) visit(childNode, `${path}.${name}`, inJunctor);
    }
    const items = rec(node.items);
    if (items !== undefined) visit(items, `${path}[*]`, inJunctor);
    if (additional !== undefined) visit(additional, `${path}{*}`, inJunctor);
    for (const key of JUNCTORS) {
      listAt(node, key).forEach((branch, index) => {
        const branchNode = rec(branch);
        if (branchNode !== undefined) visit(branchNode, `${path}.${key}[${index}]`, true);
      });
    }
    const not = rec(node.not);
    if (not !== undefined) visit(not, `${path}.not`, true);
  };
  visit(schema, at, false);
  return problems;
}

export const crdStructuralSchema = resourcePolicy({
  name: "crds-structural-schema",
  description:
    "Every CustomResourceDefinition the program creates has, for each version, a structural openAPIV3Schema: an " +
    "object at the root, every field typed (free-form only where marked x-kubernetes-preserve-unknown-fields), " +
    "no $ref, and logical junctors that only add validations; `spec` is not left schema-less.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Generate the schema (registry-app: npm run crds, from the zod schemas) or write it out field by field; mark " +
    "only truly free-form maps with x-kubernetes-preserve-unknown-fields.",
  controls: [{ source: "Project baseline", id: "structural CRD schemas" }],
  appliesTo: [K8S.crd],
  validate: ({ resource, report }) => {
    const name = metadataName(resource.props) ?? resource.name;
    const versions = listAt(resource.props, "spec", "versions");
    if (versions.length === 0) report(`CustomResourceDefinition ${name} has no versions`);
    for (const version of versions) {
      const label = `CustomResourceDefinition ${name} ${str(rec(version)?.name) ?? "(unnamed version)"}`;
      const schema = recAt(version, "schema", "openAPIV3Schema");
      if (schema === undefined) {
        report(`${label} has no openAPIV3Schema`);
        continue;
      }
      if (str(schema.type) !== "object") report(`${label}: the root is not of type object`);
      const spec = recAt(schema, "properties", "spec");
      if (
        spec !== undefined &&
        spec["x-kubernetes-preserve-unknown-fields"] === true &&
        rec(spec.properties) === undefined
      )
        report(`${label}: spec is schema-less (x-kubernetes-preserve-unknown-fields without properties)`);
      for (const problem of structuralProblems(schema)) report(`${label} is not structural: ${problem}`);
    }
  },
});

export const crdPolicies = [crdStructuralSchema];

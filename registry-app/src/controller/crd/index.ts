// The CustomResourceDefinitions of the controller, generated from the registry's zod schemas: MCPServer's spec is
// server.json (src/schema), its status and MCPNamespaceGrant's spec come from ../resources. `npm run crds`
// (scripts/crds.ts) writes them to crds/mcp-registry.io.yaml, which the Pulumi program installs; a test fails while that file is stale.
//
// What the API server checks at admission: every JSON Schema rule of server.json (types, enums, lengths,
// patterns) plus the registry rules that a pattern or a cheap CEL expression can state exactly (below). What only
// the registry can check (URL parsing beyond RFC 3986, template placeholders, localhost remotes, ranges in package
// versions, the size of publisher metadata, duplicates and ownership in the database) the controller checks with
// the registry's own validateServerJson before it publishes, and reports as the condition reason Invalid.
import {
  CURRENT_SCHEMA_URL,
  CURRENT_SCHEMA_VERSION,
  OFFICIAL_META_KEY,
  OLDER_SCHEMA_VERSIONS,
  REGISTRY_TYPES,
  serverJsonSchema,
} from "../../schema";
import { ABSOLUTE_URI } from "../../schema/rules";
import { GRANT, GROUP, MCPSERVER, VERSION, grantSpecSchema, mcpServerStatusSchema } from "../resources";
import {
  JS_WHITESPACE_CLASS,
  jsonSchemaOf,
  toRe2,
  toStructural,
  type CelRule,
  type NodeRules,
  type Schema,
} from "./structural";

const WS = `[${JS_WHITESPACE_CLASS}]`;
/** https as the WHATWG URL parser reads a scheme: case-insensitively. */
const HTTPS_SCHEME = "^[hH][tT][tT][pP][sS]:";

/** A CEL raw string literal (the regexps here contain no quote). */
function raw(text: string): string {
  if (text.includes("'")) throw new Error(`cannot quote ${text} as a CEL raw string`);
  return `r'${text}'`;
}

/** CEL reaches a property whose name has dots or slashes through Kubernetes' escaping. */
function celField(name: string): string {
  return name
    .replace(/__/g, "__underscores__")
    .replace(/\./g, "__dot__")
    .replace(/\//g, "__slash__")
    .replace(/-/g, "__dash__");
}

/** rules.ts `serverNameEdgeProblem` after SERVER_NAME_PATTERN: both parts at least 2 characters, alphanumeric ends. */
const NAME_RULE: CelRule = {
  rule: `self.matches(${raw("^[a-zA-Z0-9][a-zA-Z0-9.-]*[a-zA-Z0-9]/[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$")})`,
  message:
    'must be "namespace/name": a reverse-DNS namespace and a name, each at least 2 characters that start and end with a letter or digit',
};

/** rules.ts `isReservedVersion`, `looksLikeVersionRange` and the empty check of the document's version. */
const VERSION_RULES: CelRule[] = [
  { rule: `!self.matches(${raw(`^${WS}*$`)})`, message: "must not be empty" },
  {
    rule: `!self.matches(${raw(`^${WS}*[lL][aA][tT][eE][sS][tT]${WS}*$`)})`,
    message: 'must be a specific version; "latest" is reserved',
  },
  {
    rule: [
      `!self.matches(${raw(`^${WS}*[\\^~><=]`)})`,
      `!self.contains('||')`,
      `!self.matches(${raw(`${WS}-`)})`,
      `!self.contains('*')`,
      // A release segment (before the first - or +) that is x, X or * (optionally after a v).
      `!self.matches(${raw(`(?s)^${WS}*(?:[^-+.]*\\.)*v?[xX*](?:\\.[^-+]*)?(?:[-+].*)?${WS}*$`)})`,
    ].join(" && "),
    message: "must be a specific version, not a range or wildcard (bump it to publish a change)",
  },
];

/**
 * Registry rules on nodes of server.json that a pattern, an enum or a CEL rule states exactly. Paths are those of
 * the spec (`spec.packages[*].identifier`); toStructural fails if one stops existing.
 */
function serverRules(): Record<string, NodeRules> {
  const schemaUrls = [
    CURRENT_SCHEMA_URL,
    ...OLDER_SCHEMA_VERSIONS.map((v) => CURRENT_SCHEMA_URL.replace(CURRENT_SCHEMA_VERSION, v)),
  ];
  const httpsUri: NodeRules = {
    set: { pattern: toRe2(ABSOLUTE_URI.source), allOf: [{ pattern: HTTPS_SCHEME }] },
  };
  return {
    // `$schema` is either the current server.json schema or one the registry still accepts with a warning.
    "spec.$schema": { drop: ["pattern"], set: { enum: schemaUrls } },
    "spec.name": { set: { "x-kubernetes-validations": [NAME_RULE] } },
    // The length limits again as a CEL rule, with a message that says what they are.
    "spec.description": {
      set: {
        "x-kubernetes-validations": [
          {
            rule: "size(self) >= 1 && size(self) <= 100",
            message: "must be 1 to 100 characters: a one-line summary (the registry's limit)",
          },
        ],
      },
    },
    "spec.title": {
      set: {
        "x-kubernetes-validations": [
          { rule: `!self.matches(${raw(`^${WS}+$`)})`, message: "must not be only whitespace" },
        ],
      },
    },
    "spec.version": { set: { "x-kubernetes-validations": VERSION_RULES } },
    "spec.websiteUrl": httpsUri,
    "spec.icons[*].src": httpsUri,
    // rules.ts `isCleanSubfolder`: segments of [A-Za-z0-9._-], none empty, "." or "..".
    "spec.repository.subfolder": {
      set: {
        pattern:
          "^(?:(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|\\.[A-Za-z0-9_-][A-Za-z0-9._-]*|\\.\\.[A-Za-z0-9._-]+)/)*" +
          "(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|\\.[A-Za-z0-9_-][A-Za-z0-9._-]*|\\.\\.[A-Za-z0-9._-]+)$",
      },
    },
    "spec.packages[*]": {
      // mcpb packages must carry fileSha256.
      set: {
        anyOf: [
          { properties: { registryType: { enum: REGISTRY_TYPES.filter((t) => t !== "mcpb") } } },
          { required: ["fileSha256"] },
        ],
      },
    },
    "spec.packages[*].identifier": { set: { pattern: `^[^${JS_WHITESPACE_CLASS}]*$` } },
    // A stdio transport has no url.
    "spec.packages[*].transport": { branches: { stdio: { not: { required: ["url"] } } } },
    "spec.packages[*].runtimeArguments[*]": argumentRules(),
    "spec.packages[*].packageArguments[*]": argumentRules(),
    "spec.remotes[*].url": {
      set: { allOf: [{ pattern: toRe2("^https?:\\/\\/[^\\s]+$") }, { pattern: HTTPS_SCHEME }] },
    },
    "spec._meta": {
      set: {
        "x-kubernetes-validations": [
          {
            rule: `!has(self.${celField(OFFICIAL_META_KEY)})`,
            message: `${OFFICIAL_META_KEY} is written by the registry and cannot be published`,
          },
        ],
      },
    },
  };
}

/** Positional arguments need a valueHint or a value; a named argument's flag is bare (no spaces, <, > or $). */
function argumentRules(): NodeRules {
  return {
    branches: {
      positional: { anyOf: [{ required: ["valueHint"] }, { required: ["value"] }] },
      named: { properties: { name: { pattern: `^[^<>$${JS_WHITESPACE_CLASS}]+$` } } },
    },
  };
}

/** MCPServer's spec: server.json, with the registry rules above and a name that never changes. */
export function mcpServerSpecSchema(): Schema {
  const spec = toStructural(jsonSchemaOf(serverJsonSchema), "spec", {
    rules: serverRules(),
    formatPatterns: { uri: toRe2(ABSOLUTE_URI.source) },
  });
  // The official key is declared only so that the rule above can refuse it; anything else in _meta is pruned.
  const meta = spec.properties?._meta;
  if (meta?.properties === undefined) throw new Error("server.json has no _meta properties");
  meta.properties[OFFICIAL_META_KEY] = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  spec["x-kubernetes-validations"] = [
    {
      rule: "self.name == oldSelf.name",
      message: "name is immutable: create another MCPServer for another server name",
      fieldPath: ".name",
    },
  ];
  return spec;
}

function statusSchema(): Schema {
  const status = toStructural(jsonSchemaOf(mcpServerStatusSchema), "status", { keepFormats: ["date-time"] });
  const conditions = status.properties?.conditions;
  if (conditions === undefined) throw new Error("status has no conditions");
  conditions["x-kubernetes-list-type"] = "map";
  conditions["x-kubernetes-list-map-keys"] = ["type"];
  return status;
}

export type Crd = Record<string, unknown> & { metadata: { name: string; labels: Record<string, string> } };

function objectRoot(properties: Record<string, Schema>, required: string[]): Schema {
  return {
    type: "object",
    required,
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      ...properties,
    },
  };
}

function crd(
  names: { kind: string; plural: string; singular: string; shortNames: string[] },
  scope: "Namespaced" | "Cluster",
  version: Record<string, unknown>,
): Crd {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${names.plural}.${GROUP}`,
      labels: {
        "app.kubernetes.io/name": "registry-controller",
        "app.kubernetes.io/part-of": "mcp-registry",
      },
    },
    spec: {
      group: GROUP,
      names: { ...names, listKind: `${names.kind}List`, categories: ["mcp-registry"] },
      scope,
      versions: [{ name: VERSION, served: true, storage: true, ...version }],
    },
  };
}

export function mcpServerCrd(): Crd {
  return crd({ ...MCPSERVER, shortNames: ["mcps"] }, "Namespaced", {
    subresources: { status: {} },
    additionalPrinterColumns: [
      { name: "Server", type: "string", jsonPath: ".spec.name" },
      { name: "Version", type: "string", jsonPath: ".spec.version" },
      { name: "Status", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
    schema: {
      openAPIV3Schema: {
        description: "An MCP server to publish to the organisation's MCP registry; spec is its server.json.",
        ...objectRoot({ spec: mcpServerSpecSchema(), status: statusSchema() }, ["spec"]),
      },
    },
  });
}

export function grantCrd(): Crd {
  return crd({ ...GRANT, shortNames: ["mcpgrant"] }, "Cluster", {
    additionalPrinterColumns: [
      { name: "Namespaces", type: "string", jsonPath: ".spec.namespaces" },
      { name: "Patterns", type: "string", jsonPath: ".spec.patterns" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
    schema: {
      openAPIV3Schema: {
        description:
          "Lets MCPServers in the listed namespaces publish the listed server names. Only cluster administrators may write these.",
        ...objectRoot({ spec: toStructural(jsonSchemaOf(grantSpecSchema), "spec") }, ["spec"]),
      },
    },
  });
}

/** Both CRDs (the policy pack's crds-structural-schema and the API server judge that they are structural). */
export function controllerCrds(): Crd[] {
  return [mcpServerCrd(), grantCrd()];
}

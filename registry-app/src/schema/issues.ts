import { z } from "zod";
import type { RuleParams } from "./server-json";

/**
 * Kinds of findings. The official registry's four ("json": unparsable body, "schema": server.schema.json,
 * "semantic": registry rules, "linter"), plus this registry's "registry" (depends on what the registry
 * already holds: duplicate version, version cap, remote URL of another name), "package" (ownership
 * proof in the package's own registry) and "classification" (publisher categories and tags: never errors).
 */
export const ISSUE_TYPES = [
  "json",
  "schema",
  "semantic",
  "linter",
  "registry",
  "package",
  "classification",
] as const;

/** One finding of POST /validate, shaped like the official registry's; `type` is one of ISSUE_TYPES. */
export interface ValidationIssue {
  type: string;
  /** Field in bracket/dot notation, e.g. `packages[0].transport.url`; "" is the whole document. */
  path: string;
  message: string;
  severity: "error" | "warning" | "info";
  /** A schema location (`#/definitions/Package/properties/version/minLength`) or a rule name. */
  reference: string;
}

export interface ValidationResult {
  valid: boolean;
  issues: ValidationIssue[];
}

export const validationIssueSchema = z.object({
  type: z.enum(ISSUE_TYPES),
  path: z.string(),
  message: z.string(),
  severity: z.enum(["error", "warning", "info"]),
  reference: z.string(),
});

export const validationResultSchema = z.object({
  valid: z.boolean(),
  issues: z.array(validationIssueSchema),
});

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `["packages", 0, "transport", "url"]` -> `packages[0].transport.url`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else {
      const name = String(key);
      if (IDENTIFIER.test(name)) out += out === "" ? name : `.${name}`;
      else out += `[${JSON.stringify(name)}]`;
    }
  }
  return out;
}

type Definition =
  | "ServerDetail"
  | "Package"
  | "Repository"
  | "Icon"
  | "RemoteTransport"
  | "LocalTransport"
  | "StdioTransport"
  | "StreamableHttpTransport"
  | "SseTransport"
  | "KeyValueInput"
  | "Input"
  | "Argument"
  | "NamedArgument"
  | "PositionalArgument";

const TRANSPORTS: Record<string, Definition> = {
  stdio: "StdioTransport",
  "streamable-http": "StreamableHttpTransport",
  sse: "SseTransport",
};
const REMOTE_TRANSPORTS: Record<string, Definition> = {
  "streamable-http": "StreamableHttpTransport",
  sse: "SseTransport",
};
const ARGUMENTS: Record<string, Definition> = { named: "NamedArgument", positional: "PositionalArgument" };

function typeOf(node: unknown): string {
  const type = isRecord(node) ? node.type : undefined;
  return typeof type === "string" ? type : "";
}

/** Definition of one element of an array property, by the property's name. */
const ARRAY_ITEMS: Record<string, (item: unknown) => Definition> = {
  packages: () => "Package",
  remotes: (item) => REMOTE_TRANSPORTS[typeOf(item)] ?? "RemoteTransport",
  icons: () => "Icon",
  environmentVariables: () => "KeyValueInput",
  headers: () => "KeyValueInput",
  packageArguments: (item) => ARGUMENTS[typeOf(item)] ?? "Argument",
  runtimeArguments: (item) => ARGUMENTS[typeOf(item)] ?? "Argument",
};

/** Walk `path` through the definitions of server.schema.json: the governing definition plus the rest. */
function locate(
  path: readonly PropertyKey[],
  document: unknown,
): { definition: Definition; pointer: string } {
  let definition: Definition = "ServerDetail";
  let pointer = ""; // below `definition`, for parts that have no definition of their own (e.g. _meta)
  let node: unknown = document;
  for (let i = 0; i < path.length; i++) {
    if (typeof path[i] === "number") {
      // An element of an array that has no definition of its own (choices, sizes).
      pointer += "/items";
      node = Array.isArray(node) ? node[path[i] as number] : undefined;
      continue;
    }
    const key = String(path[i]);
    const child = isRecord(node) ? node[key] : undefined;
    const next = path[i + 1];
    const items = ARRAY_ITEMS[key];
    if (items !== undefined && typeof next === "number") {
      node = Array.isArray(child) ? child[next] : undefined;
      definition = items(node);
      pointer = "";
      i++;
    } else if (key === "variables" && next !== undefined) {
      node = isRecord(child) ? child[String(next)] : undefined;
      definition = "Input";
      pointer = "";
      i++;
    } else if (key === "repository" && definition === "ServerDetail") {
      definition = "Repository";
      pointer = "";
      node = child;
    } else if (key === "transport" && definition === "Package") {
      definition = TRANSPORTS[typeOf(child)] ?? "LocalTransport";
      pointer = "";
      node = child;
    } else {
      // Remote variables live on RemoteTransport, beside the http transport it extends.
      if (
        key === "variables" &&
        (definition === "StreamableHttpTransport" || definition === "SseTransport")
      ) {
        definition = "RemoteTransport";
      }
      pointer += `/properties/${escapePointer(key)}`;
      node = child;
    }
  }
  return { definition, pointer };
}

/**
 * The server.schema.json location of the rule that `keyword` names at `path`, e.g.
 * `#/definitions/Package/properties/version/minLength`; "required" points at the owner's required list.
 */
export function schemaReference(path: readonly PropertyKey[], document: unknown, keyword: string): string {
  const { definition, pointer } = locate(keyword === "required" ? path.slice(0, -1) : path, document);
  return `#/definitions/${definition}${pointer}/${keyword}`;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function valueAt(document: unknown, path: readonly PropertyKey[]): unknown {
  let node = document;
  for (const key of path) {
    if (typeof key === "number") node = Array.isArray(node) ? node[key] : undefined;
    else node = isRecord(node) ? node[String(key)] : undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
    case "number":
    case "boolean":
      return String(value);
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  boolean: "a boolean (true or false)",
  array: "an array",
  object: "an object",
  record: "an object",
};

function subject(path: string): string {
  return path === "" ? "server.json" : path;
}

function listOf(values: readonly unknown[]): string {
  return values.map((value) => (typeof value === "string" ? value : JSON.stringify(value))).join(", ");
}

/** Turn one zod issue into the registry's issue shape, with a message that names the field. */
export function toValidationIssue(issue: z.core.$ZodIssue, document: unknown): ValidationIssue {
  const at = formatPath(issue.path);
  const error = (type: string, message: string, reference: string): ValidationIssue => ({
    type,
    path: at,
    message: `${subject(at)} ${message}`,
    severity: "error",
    reference,
  });
  const actual = valueAt(document, issue.path);
  if (actual === undefined && issue.path.length > 0 && issue.code !== "custom") {
    return error("schema", "is required", schemaReference(issue.path, document, "required"));
  }
  switch (issue.code) {
    case "custom": {
      const params = issue.params as RuleParams | undefined;
      if (params?.kind === "semantic") return error("semantic", issue.message, params.rule);
      return error(
        "schema",
        issue.message,
        schemaReference(issue.path, document, params?.keyword ?? "custom"),
      );
    }
    case "invalid_type":
      return error(
        "schema",
        `must be ${EXPECTED[issue.expected] ?? issue.expected} (got ${describeValue(actual)})`,
        schemaReference(issue.path, document, "type"),
      );
    case "invalid_union": {
      const options = "options" in issue && Array.isArray(issue.options) ? issue.options : undefined;
      if (options !== undefined) {
        return error(
          "schema",
          `must be one of ${listOf(options)} (got ${describeValue(actual)})`,
          schemaReference(issue.path, document, "enum"),
        );
      }
      return error(
        "schema",
        "matches none of the allowed shapes",
        schemaReference(issue.path, document, "anyOf"),
      );
    }
    case "invalid_value":
      return error(
        "schema",
        issue.values.length === 1
          ? `must be ${listOf(issue.values)} (got ${describeValue(actual)})`
          : `must be one of ${listOf(issue.values)} (got ${describeValue(actual)})`,
        schemaReference(issue.path, document, "enum"),
      );
    case "invalid_format":
      return error(
        "schema",
        issue.message,
        schemaReference(issue.path, document, issue.format === "regex" ? "pattern" : "format"),
      );
    default:
      return error("schema", issue.message, schemaReference(issue.path, document, issue.code));
  }
}

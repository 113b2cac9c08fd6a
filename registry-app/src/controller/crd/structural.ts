// Converts the JSON Schema that zod generates (z.toJSONSchema, OpenAPI 3.0 target) into a Kubernetes structural
// schema: every node typed, no $ref, discriminated unions merged into one object whose branches only add value
// validations, free-form maps marked x-kubernetes-preserve-unknown-fields, and patterns in the API server's regexp
// dialect. Anything it does not know how to convert is an error, so a schema change cannot slip through unconverted.
import { z } from "zod";

/** A CEL rule of `x-kubernetes-validations`. */
export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  fieldPath?: string;
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps this project writes. */
export interface Schema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  not?: Schema;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-validations"?: CelRule[];
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
}

/** Extra validations for one node, by path (`spec.packages[*].transport`, `spec.repository.subfolder`). */
export interface NodeRules {
  /** Merged into the node (patterns, enums, CEL rules); keys the converter produced are replaced. */
  readonly set?: Schema;
  /** Keys to drop from the converted node (e.g. a format whose API server check differs from ours). */
  readonly drop?: readonly (keyof Schema)[];
  /** For a discriminated union: value validations added to the branch of each discriminator value. */
  readonly branches?: Readonly<Record<string, Schema>>;
}

export interface ConvertOptions {
  /** Rules by node path; every path must exist in the schema, or conversion fails. */
  readonly rules?: Readonly<Record<string, NodeRules>>;
  /** Replaces a JSON Schema `format` with a pattern (`uri` -> the registry's own absolute-URI grammar). */
  readonly formatPatterns?: Readonly<Record<string, string>>;
  /** Formats the API server checks the same way we do (`date-time`), kept as they are. */
  readonly keepFormats?: readonly string[];
}

type JsonNode = Record<string, unknown>;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * JavaScript's `\s` (what the registry's regular expressions mean) written for Go's RE2, whose `\s` is ASCII-only.
 * Also what String.prototype.trim() strips.
 */
export const JS_WHITESPACE_CLASS =
  "\\t\\n\\x{0B}\\f\\r \\x{00A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}";

/**
 * A JavaScript regular expression source in RE2 syntax: `\s` and `\S` become explicit classes with JavaScript's
 * meaning (inside a class, `\s` contributes its members), `\/` becomes `/`. Everything else the registry uses is
 * common to both dialects; an unsupported construct (lookaround, backreference) throws.
 */
export function toRe2(source: string): string {
  if (/\(\?[=!<]|\\[1-9]|\\k</.test(source)) throw new Error(`no RE2 equivalent for /${source}/`);
  let out = "";
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i]!;
    if (char === "\\") {
      const next = source[i + 1] ?? "";
      i++;
      if (next === "s") out += inClass ? JS_WHITESPACE_CLASS : `[${JS_WHITESPACE_CLASS}]`;
      else if (next === "S") {
        if (inClass) throw new Error(`\\S inside a class has no RE2 equivalent in /${source}/`);
        out += `[^${JS_WHITESPACE_CLASS}]`;
      } else if (next === "/") out += "/";
      else out += `\\${next}`;
      continue;
    }
    if (char === "[" && !inClass) inClass = true;
    else if (char === "]" && inClass) inClass = false;
    out += char;
  }
  return out;
}

const isRecord = (value: unknown): value is JsonNode =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The JSON Schema of a zod schema, as the converter expects it. */
export function jsonSchemaOf(schema: z.ZodType): JsonNode {
  return z.toJSONSchema(schema, { io: "input", target: "openapi-3.0", unrepresentable: "throw" }) as JsonNode;
}

class Converter {
  private readonly used = new Set<string>();

  constructor(private readonly options: ConvertOptions) {}

  convert(node: JsonNode, path: string): Schema {
    const rules = this.options.rules?.[path];
    if (rules !== undefined) this.used.add(path);
    const converted = Array.isArray(node.oneOf) ? this.union(node, path, rules) : this.plain(node, path);
    for (const key of rules?.drop ?? []) delete converted[key];
    return { ...converted, ...rules?.set };
  }

  /** Paths of rules that matched no node: a renamed field must not silently lose its validations. */
  unused(): string[] {
    return Object.keys(this.options.rules ?? {}).filter((path) => !this.used.has(path));
  }

  private plain(node: JsonNode, path: string): Schema {
    for (const key of ["$ref", "allOf", "anyOf", "not", "nullable", "const", "default", "if"]) {
      if (key in node) throw new Error(`${path}: JSON Schema "${key}" is not converted`);
    }
    const out: Schema = {};
    if (typeof node.description === "string") out.description = node.description;
    switch (node.type) {
      case "object":
        return { ...out, ...this.object(node, path) };
      case "array":
        if (!isRecord(node.items)) throw new Error(`${path}: array without items`);
        return {
          type: "array",
          ...out,
          ...copyNumbers(node, ["minItems", "maxItems"]),
          items: this.convert(node.items, `${path}[*]`),
        };
      case "string":
        return { type: "string", ...out, ...this.string(node, path) };
      case "integer":
      case "number": {
        const bounds = copyNumbers(node, ["minimum", "maximum"]);
        // zod marks every int with the safe-integer range; the API server's int64 needs no such bound.
        if (bounds.minimum === -MAX_SAFE) delete bounds.minimum;
        if (bounds.maximum === MAX_SAFE) delete bounds.maximum;
        return node.type === "integer"
          ? { type: "integer", format: "int64", ...out, ...bounds }
          : { type: "number", ...out, ...bounds };
      }
      case "boolean":
        return { type: "boolean", ...out };
      case undefined:
        // z.unknown(): any JSON value, kept as written.
        if (Object.keys(node).every((key) => key === "description"))
          return { ...out, "x-kubernetes-preserve-unknown-fields": true };
        throw new Error(`${path}: a node without a type (${Object.keys(node).join(", ")})`);
      default:
        throw new Error(`${path}: JSON Schema type ${String(node.type)} is not converted`);
    }
  }

  private object(node: JsonNode, path: string): Schema {
    const out: Schema = { type: "object" };
    const properties = node.properties;
    const additional = node.additionalProperties;
    if (isRecord(properties)) {
      out.properties = {};
      for (const [name, child] of Object.entries(properties)) {
        if (!isRecord(child)) throw new Error(`${path}.${name}: not a schema`);
        out.properties[name] = this.convert(child, `${path}.${name}`);
      }
    }
    if (Array.isArray(node.required) && node.required.length > 0) out.required = node.required as string[];
    if (additional === true || (isRecord(additional) && Object.keys(additional).length === 0)) {
      // A free-form map (z.record(z.string(), z.unknown())): whatever it holds is kept.
      if (out.properties !== undefined) throw new Error(`${path}: properties beside a free-form map`);
      out["x-kubernetes-preserve-unknown-fields"] = true;
    } else if (isRecord(additional)) {
      if (out.properties !== undefined) throw new Error(`${path}: properties beside additionalProperties`);
      out.additionalProperties = this.convert(additional, `${path}{*}`);
    } else if (additional !== undefined && additional !== false) {
      throw new Error(`${path}: additionalProperties ${JSON.stringify(additional)} is not converted`);
    }
    return out;
  }

  private string(node: JsonNode, path: string): Schema {
    const out: Schema = { ...copyNumbers(node, ["minLength", "maxLength"]) };
    if (Array.isArray(node.enum)) out.enum = node.enum;
    if (typeof node.pattern === "string") out.pattern = toRe2(node.pattern);
    if (typeof node.format === "string" && this.options.keepFormats?.includes(node.format)) {
      out.format = node.format;
      // zod's own date-time pattern is redundant with the format the API server checks.
      delete out.pattern;
    } else if (typeof node.format === "string") {
      const pattern = this.options.formatPatterns?.[node.format];
      if (pattern === undefined) throw new Error(`${path}: format "${node.format}" has no pattern to become`);
      if (out.pattern !== undefined) out.allOf = [{ pattern: out.pattern }];
      out.pattern = pattern;
    }
    return out;
  }

  /**
   * A discriminated union (zod's oneOf of objects that share a single-valued `enum` property): one object with
   * every branch's properties, the discriminator's values merged, the fields all branches require required, and a
   * oneOf whose branches only pin the discriminator and require their own fields.
   */
  private union(node: JsonNode, path: string, rules: NodeRules | undefined): Schema {
    const options = (node.oneOf as unknown[]).map((option, index) => {
      if (!isRecord(option) || option.type !== "object" || !isRecord(option.properties))
        throw new Error(`${path}: union member ${index} is not an object`);
      return option;
    });
    const discriminator = discriminatorOf(options, path);
    const properties: Record<string, Schema> = {};
    const serialised = new Map<string, string>();
    const values: string[] = [];
    const requiredSets: string[][] = [];
    for (const option of options) {
      const converted = this.plain(option, path);
      requiredSets.push(converted.required ?? []);
      for (const [name, child] of Object.entries(converted.properties ?? {})) {
        if (name === discriminator) {
          values.push(...((child.enum as string[] | undefined) ?? []));
          continue;
        }
        const json = JSON.stringify(child);
        const previous = serialised.get(name);
        if (previous !== undefined && previous !== json)
          throw new Error(`${path}.${name}: union members declare it differently`);
        serialised.set(name, json);
        properties[name] = child;
      }
    }
    const everywhere = requiredSets.reduce((all, set) => all.filter((name) => set.includes(name)));
    const branches = options.map((_option, index): Schema => {
      const value = values[index]!;
      const own = requiredSets[index]!.filter((name) => !everywhere.includes(name));
      return {
        properties: { [discriminator]: { enum: [value] } },
        ...(own.length > 0 && { required: own }),
        ...rules?.branches?.[value],
      };
    });
    for (const value of Object.keys(rules?.branches ?? {})) {
      if (!values.includes(value)) throw new Error(`${path}: rules for unknown branch "${value}"`);
    }
    return {
      type: "object",
      ...(typeof node.description === "string" && { description: node.description }),
      properties: { [discriminator]: { type: "string", enum: values }, ...properties },
      required: [...new Set([discriminator, ...everywhere])],
      oneOf: branches,
    };
  }
}

function copyNumbers<K extends keyof Schema>(node: JsonNode, keys: readonly K[]): Pick<Schema, K> {
  const out: Partial<Schema> = {};
  for (const key of keys) if (typeof node[key] === "number") (out as Record<string, number>)[key] = node[key];
  return out as Pick<Schema, K>;
}

function discriminatorOf(options: JsonNode[], path: string): string {
  const first = options[0]?.properties as JsonNode;
  for (const name of Object.keys(first)) {
    const single = options.every((option) => {
      const property = (option.properties as JsonNode)[name];
      return isRecord(property) && Array.isArray(property.enum) && property.enum.length === 1;
    });
    if (single) return name;
  }
  throw new Error(`${path}: a union without a discriminator property`);
}

/** Converts a zod-generated JSON Schema; throws on anything unconverted or on a rule for a path that is not there. */
export function toStructural(node: JsonNode, root: string, options: ConvertOptions = {}): Schema {
  const converter = new Converter(options);
  const schema = converter.convert(node, root);
  const unused = converter.unused();
  if (unused.length > 0) throw new Error(`rules for paths the schema lacks: ${unused.join(", ")}`);
  return schema;
}

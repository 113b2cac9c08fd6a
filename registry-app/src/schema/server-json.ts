import { z } from "zod";
import {
  SERVER_NAME_PATTERN,
  codePointLength,
  isCleanSubfolder,
  isHttpUrlTemplate,
  isHttps,
  isReservedVersion,
  looksLikeVersionRange,
  namedArgumentNameProblem,
  parseAbsoluteUri,
  remoteUrlProblem,
  repositoryUrlProblem,
  serverNameEdgeProblem,
  urlPlaceholders,
} from "./rules";
import { CURRENT_SCHEMA_URL, schemaUrlStatus } from "./versions";

/** What a custom issue carries so the issue mapper can say which rule fired. */
export type RuleParams = { kind: "schema"; keyword: string } | { kind: "semantic"; rule: string };

type Payload = z.core.ParsePayload<unknown>;

function report(payload: Payload, message: string, params: RuleParams, path: PropertyKey[] = []): void {
  payload.issues.push({ code: "custom", input: payload.value, message, path, params });
}

/** Cross-field rules read sibling fields, so they stay quiet until those fields passed their own checks. */
const fieldsFailed = (payload: Payload): boolean => payload.issues.length > 0;

const semantic = (rule: string): RuleParams => ({ kind: "semantic", rule });
const keyword = (name: string): RuleParams => ({ kind: "schema", keyword: name });

/** A string whose length limits count code points, as JSON Schema does (zod's .max counts UTF-16 units). */
function text(limits: { min?: number; max?: number }, extra?: (value: string, payload: Payload) => void) {
  const { min, max } = limits;
  return z
    .string()
    .check((payload) => {
      const value = payload.value;
      // .length is at most twice the code point count, so only strings near a limit need counting.
      const nearLimit =
        (max !== undefined && value.length > max) || (min !== undefined && value.length < 2 * min);
      const length = nearLimit ? codePointLength(value) : value.length;
      if (min !== undefined && length < min) {
        report(
          payload,
          min === 1 ? "must not be empty" : `must be at least ${min} characters`,
          keyword("minLength"),
        );
      } else if (max !== undefined && length > max) {
        report(payload, `must be at most ${max} characters (got ${length})`, keyword("maxLength"));
      } else {
        extra?.(value, payload);
      }
    })
    .meta({ ...(min !== undefined && { minLength: min }), ...(max !== undefined && { maxLength: max }) });
}

function checkUri(value: string, payload: Payload, extra?: (url: URL, payload: Payload) => void): void {
  const url = parseAbsoluteUri(value);
  if (url === undefined) {
    report(
      payload,
      "must be an absolute URI (scheme:..., no spaces or invalid characters)",
      keyword("format"),
    );
  } else {
    extra?.(url, payload);
  }
}

const uri = (extra?: (url: URL, payload: Payload) => void) =>
  z
    .string()
    .check((payload) => checkUri(payload.value, payload, extra))
    .meta({ format: "uri" });

const httpsOnly =
  (rule: string) =>
  (url: URL, payload: Payload): void => {
    if (!isHttps(url)) report(payload, "must be an https URL", semantic(rule));
  };

/** A specific version: never "latest", never a range or wildcard. */
function checkSpecificVersion(value: string, payload: Payload): void {
  if (isReservedVersion(value)) {
    report(payload, 'must be a specific version; "latest" is reserved', semantic("reserved-version-string"));
  } else if (looksLikeVersionRange(value)) {
    report(
      payload,
      `must be a specific version, not a range or wildcard (got "${value}")`,
      semantic("version-looks-like-range"),
    );
  }
}

// ---- Inputs and arguments -------------------------------------------------------------------

const inputFields = {
  description: z.string().optional(),
  isRequired: z.boolean().optional(),
  format: z.enum(["string", "number", "boolean", "filepath"]).optional(),
  value: z.string().optional(),
  isSecret: z.boolean().optional(),
  default: z.string().optional(),
  placeholder: z.string().optional(),
  choices: z.array(z.string()).optional(),
};

export const inputSchema = z.object(inputFields).describe("A value the user may be asked to provide.");

const variablesSchema = z
  .record(z.string(), inputSchema)
  .describe("Variables referenced as {name} in value or url.");

const inputWithVariablesFields = { ...inputFields, variables: variablesSchema.optional() };

export const keyValueInputSchema = z
  .object({ ...inputWithVariablesFields, name: z.string() })
  .describe("A header or environment variable.");

export const positionalArgumentSchema = z
  .object({
    ...inputWithVariablesFields,
    type: z.literal("positional"),
    valueHint: z.string().optional(),
    isRepeated: z.boolean().optional(),
  })
  .check((payload) => {
    if (payload.value.valueHint === undefined && payload.value.value === undefined) {
      report(payload, "needs valueHint or value", keyword("anyOf"));
    }
  });

export const namedArgumentSchema = z
  .object({
    ...inputWithVariablesFields,
    type: z.literal("named"),
    name: z.string(),
    isRepeated: z.boolean().optional(),
  })
  .check((payload) => {
    const { name, value, default: fallback } = payload.value;
    const problem = namedArgumentNameProblem(name);
    if (problem !== undefined) {
      report(payload, problem, semantic("invalid-named-argument-name"), ["name"]);
      return;
    }
    if (value?.startsWith(name)) {
      report(payload, `must not repeat the flag "${name}"`, semantic("argument-value-starts-with-name"), [
        "value",
      ]);
    }
    if (fallback?.startsWith(name)) {
      report(payload, `must not repeat the flag "${name}"`, semantic("argument-default-starts-with-name"), [
        "default",
      ]);
    }
  });

export const argumentSchema = z.discriminatedUnion("type", [positionalArgumentSchema, namedArgumentSchema]);

// ---- Transports -------------------------------------------------------------------------------

const HTTP_URL = /^https?:\/\/[^\s]+$/u;
const transportUrl = z
  .string()
  .regex(HTTP_URL, { error: "must start with http:// or https:// and contain no whitespace" });

export const stdioTransportSchema = z.object({ type: z.literal("stdio") });

export const streamableHttpTransportSchema = z.object({
  type: z.literal("streamable-http"),
  url: transportUrl,
  headers: z.array(keyValueInputSchema).optional(),
});

export const sseTransportSchema = z.object({
  type: z.literal("sse"),
  url: transportUrl,
  headers: z.array(keyValueInputSchema).optional(),
});

export const localTransportSchema = z.discriminatedUnion("type", [
  stdioTransportSchema,
  streamableHttpTransportSchema,
  sseTransportSchema,
]);

function checkPlaceholders(payload: Payload, url: string, defined: ReadonlySet<string>, where: string): void {
  const missing = urlPlaceholders(url).filter((name) => !defined.has(name));
  if (missing.length > 0) {
    const list = missing.map((name) => `{${name}}`).join(", ");
    report(payload, `refers to ${list}, which ${where} does not define`, semantic("invalid-templated-url"), [
      "url",
    ]);
  }
}

export const remoteTransportSchema = z
  .discriminatedUnion("type", [
    streamableHttpTransportSchema.extend({ variables: variablesSchema.optional() }),
    sseTransportSchema.extend({ variables: variablesSchema.optional() }),
  ])
  .check((payload) => {
    if (fieldsFailed(payload)) return;
    const { url, variables } = payload.value;
    const problem = remoteUrlProblem(url);
    if (problem !== undefined) {
      report(payload, problem, semantic("invalid-remote-url"), ["url"]);
      return;
    }
    checkPlaceholders(payload, url, new Set(Object.keys(variables ?? {})), "the remote's variables");
  });

// ---- Packages, repository, icons ----------------------------------------------------------------

export const REGISTRY_TYPES = ["npm", "pypi", "oci", "nuget", "mcpb"] as const;

export const packageSchema = z
  .object({
    registryType: z.enum(REGISTRY_TYPES),
    registryBaseUrl: uri().optional(),
    identifier: z.string().check((payload) => {
      if (/\s/.test(payload.value))
        report(payload, "must not contain whitespace", semantic("package-name-has-spaces"));
    }),
    version: text({ min: 1 }, checkSpecificVersion).optional(),
    fileSha256: z
      .string()
      .regex(/^[a-f0-9]{64}$/, { error: "must be 64 lowercase hexadecimal characters" })
      .optional(),
    runtimeHint: z.string().optional(),
    transport: localTransportSchema,
    runtimeArguments: z.array(argumentSchema).optional(),
    packageArguments: z.array(argumentSchema).optional(),
    environmentVariables: z.array(keyValueInputSchema).optional(),
  })
  .check((payload) => {
    if (fieldsFailed(payload)) return;
    const pkg = payload.value;
    if (pkg.registryType === "mcpb" && pkg.fileSha256 === undefined) {
      report(payload, "is required for mcpb packages", semantic("mcpb-file-sha256-required"), ["fileSha256"]);
    }
    const transport = pkg.transport;
    if (transport.type === "stdio") return;
    if (!isHttpUrlTemplate(transport.url)) {
      report(payload, "is not a valid http(s) URL", semantic("invalid-package-transport-url"), [
        "transport",
        "url",
      ]);
      return;
    }
    // Package URLs may refer to env var names, argument names and argument valueHints.
    const defined = new Set<string>();
    for (const env of pkg.environmentVariables ?? []) defined.add(env.name);
    for (const arg of [...(pkg.runtimeArguments ?? []), ...(pkg.packageArguments ?? [])]) {
      if (arg.type === "named") defined.add(arg.name);
      else if (arg.valueHint !== undefined) defined.add(arg.valueHint);
    }
    const missing = urlPlaceholders(transport.url).filter((name) => !defined.has(name));
    if (missing.length > 0) {
      const list = missing.map((name) => `{${name}}`).join(", ");
      report(
        payload,
        `refers to ${list}, which no environment variable or argument of this package defines`,
        semantic("invalid-templated-url"),
        ["transport", "url"],
      );
    }
  });

export const repositorySchema = z
  .object({
    url: uri(),
    source: z.string(),
    id: z.string().optional(),
    subfolder: z
      .string()
      .check((payload) => {
        if (!isCleanSubfolder(payload.value)) {
          report(
            payload,
            "must be a clean relative path (no leading or trailing /, no . or .. segments)",
            semantic("invalid-subfolder-path"),
          );
        }
      })
      .optional(),
  })
  .check((payload) => {
    if (fieldsFailed(payload)) return;
    const problem = repositoryUrlProblem(payload.value.source, payload.value.url);
    if (problem !== undefined) report(payload, problem, semantic("invalid-repository-url"), ["url"]);
  });

export const iconSchema = z.object({
  src: text({ max: 255 }, (value, payload) =>
    checkUri(value, payload, httpsOnly("icon-src-invalid-scheme")),
  ).meta({
    format: "uri",
  }),
  mimeType: z.enum(["image/png", "image/jpeg", "image/jpg", "image/svg+xml", "image/webp"]).optional(),
  sizes: z
    .array(z.string().regex(/^(\d+x\d+|any)$/u, { error: 'must be "WxH" (e.g. 48x48) or "any"' }))
    .optional(),
  theme: z.enum(["light", "dark"]).optional(),
});

// ---- The document -------------------------------------------------------------------------------

export const PUBLISHER_META_KEY = "io.modelcontextprotocol.registry/publisher-provided";
export const OFFICIAL_META_KEY = "io.modelcontextprotocol.registry/official";
export const PUBLISHER_META_MAX_BYTES = 4096;

const publisherMetaSchema = z
  .record(z.string(), z.unknown())
  .check((payload) => {
    let json: string;
    try {
      json = JSON.stringify(payload.value);
    } catch {
      // JSON.stringify recurses: absurd nesting would otherwise throw out of validation as a 500.
      report(payload, "is nested too deeply to store", semantic("publisher-meta-too-deep"));
      return;
    }
    const size = Buffer.byteLength(json, "utf8");
    if (size > PUBLISHER_META_MAX_BYTES) {
      report(
        payload,
        `must be at most ${PUBLISHER_META_MAX_BYTES} bytes of JSON (got ${size})`,
        semantic("publisher-meta-too-large"),
      );
    }
  })
  .describe("Publisher-provided metadata for downstream registries, at most 4 KB of JSON.");

export const serverJsonSchema = z
  .object({
    $schema: uri((_url, payload) => {
      if (schemaUrlStatus(payload.value as string).kind === "unknown") {
        report(
          payload,
          `is not a known server.json schema (current: ${CURRENT_SCHEMA_URL})`,
          semantic("unknown-schema-version"),
        );
      }
    })
      .describe("JSON Schema URI of the server.json format.")
      .optional(),
    name: text({ min: 3, max: 200 }, (value, payload) => {
      if (!SERVER_NAME_PATTERN.test(value)) {
        report(
          payload,
          'must be "namespace/name": letters, digits, . and - before one "/", then letters, digits, ., _ and -',
          keyword("pattern"),
        );
        return;
      }
      const problem = serverNameEdgeProblem(value);
      if (problem !== undefined) report(payload, problem, semantic("invalid-server-name"));
    })
      .meta({ pattern: SERVER_NAME_PATTERN.source })
      .describe("Server name in reverse-DNS form, e.g. io.github.user/weather."),
    description: text({ min: 1, max: 100 }).describe("What the server does."),
    title: text({ min: 1, max: 100 }, (value, payload) => {
      if (value.length > 0 && value.trim() === "") {
        report(payload, "must not be only whitespace", semantic("title-whitespace-only"));
      }
    })
      .describe("Display name.")
      .optional(),
    version: text({ max: 255 }, (value, payload) => {
      if (value.trim() === "") report(payload, "must not be empty", semantic("version-empty"));
      else checkSpecificVersion(value, payload);
    }).describe("One specific version of the server; semantic versioning recommended."),
    websiteUrl: uri(httpsOnly("website-url-invalid-scheme")).optional(),
    repository: repositorySchema.optional(),
    icons: z.array(iconSchema).optional(),
    packages: z.array(packageSchema).optional(),
    remotes: z.array(remoteTransportSchema).optional(),
    _meta: z
      .object({ [PUBLISHER_META_KEY]: publisherMetaSchema.optional() })
      .describe(`Extension metadata; only ${PUBLISHER_META_KEY} is kept.`)
      .optional(),
  })
  .describe("server.json (2025-12-11): a static description of an MCP server.");

/** A validated, normalised server.json document (unknown fields dropped). */
export type ServerJson = z.infer<typeof serverJsonSchema>;
export type ServerPackage = z.infer<typeof packageSchema>;
export type RemoteTransport = z.infer<typeof remoteTransportSchema>;

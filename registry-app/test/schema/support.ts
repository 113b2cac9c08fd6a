import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { type ValidationIssue, validateServerJson } from "../../src/schema";

/** `../shared` beside the repository: conformance files and datasets (present in CI). */
export const SHARED_DIR = path.resolve(__dirname, "../../../../shared");
export const CONFORMANCE_DIR = path.join(SHARED_DIR, "conformance");
export const DATASET_FILE = path.join(SHARED_DIR, "datasets", "servers-2025-05.json");

export const hasConformance = existsSync(path.join(CONFORMANCE_DIR, "server.schema.json"));
export const hasDataset = existsSync(DATASET_FILE);

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function loadDataset(): JsonObject[] {
  return JSON.parse(readFileSync(DATASET_FILE, "utf8")) as JsonObject[];
}

export const CURRENT = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";

/** A document that uses every field of server.json 2025-12-11, written for these tests. */
export function richDocument(): JsonObject {
  return {
    $schema: CURRENT,
    name: "io.github.acme/weather",
    title: "Acme Weather",
    description: "Forecasts and alerts for any city, from Acme's weather service",
    version: "2.4.1",
    websiteUrl: "https://weather.acme.example/docs",
    repository: {
      url: "https://github.com/acme/weather-mcp",
      source: "github",
      id: "123456789",
      subfolder: "servers/weather",
    },
    icons: [
      {
        src: "https://weather.acme.example/icon.png",
        mimeType: "image/png",
        sizes: ["48x48", "96x96"],
        theme: "light",
      },
      { src: "https://weather.acme.example/icon.svg", mimeType: "image/svg+xml", sizes: ["any"] },
    ],
    packages: [
      {
        registryType: "npm",
        registryBaseUrl: "https://registry.npmjs.org",
        identifier: "@acme/weather-mcp",
        version: "2.4.1",
        runtimeHint: "npx",
        transport: { type: "stdio" },
        runtimeArguments: [{ type: "named", name: "--yes", description: "Skip the install prompt" }],
        packageArguments: [
          { type: "positional", valueHint: "city", description: "Default city", isRequired: false },
          {
            type: "named",
            name: "--units",
            value: "{units}",
            isRepeated: false,
            variables: { units: { choices: ["metric", "imperial"], default: "metric" } },
          },
        ],
        environmentVariables: [
          {
            name: "ACME_API_KEY",
            description: "API key",
            isRequired: true,
            isSecret: true,
            format: "string",
          },
        ],
      },
      {
        registryType: "oci",
        identifier: "ghcr.io/acme/weather-mcp:2.4.1",
        transport: {
          type: "streamable-http",
          url: "http://localhost:{port}/mcp",
          headers: [{ name: "X-Api-Key", value: "{ACME_API_KEY}", isSecret: true }],
        },
        runtimeHint: "docker",
        runtimeArguments: [{ type: "positional", value: "-p", valueHint: "port", default: "8080" }],
        environmentVariables: [{ name: "ACME_API_KEY", isSecret: true }],
      },
      {
        registryType: "mcpb",
        identifier: "https://github.com/acme/weather-mcp/releases/download/v2.4.1/weather.mcpb",
        fileSha256: "fe333e598595000ae021bd27117db32ec69af6987f507ba7a63c90638ff633ce",
        transport: { type: "stdio" },
      },
      {
        registryType: "pypi",
        identifier: "acme-weather-mcp",
        version: "2.4.1",
        transport: { type: "sse", url: "http://127.0.0.1:{port}/sse" },
        packageArguments: [{ type: "named", name: "port", value: "9000" }],
      },
    ],
    remotes: [
      {
        type: "streamable-http",
        url: "https://{tenant}.weather.acme.example/mcp",
        headers: [
          { name: "Authorization", value: "Bearer {token}", variables: { token: { isSecret: true } } },
        ],
        variables: { tenant: { description: "Your tenant id", isRequired: true } },
      },
      { type: "sse", url: "https://weather.acme.example/sse" },
    ],
    _meta: {
      "io.modelcontextprotocol.registry/publisher-provided": { tool: "acme-ci", build: { commit: "abc123" } },
    },
  };
}

type Segment = string | number;

/** Parse `packages[0].transport.url` / `_meta["a/b"]` into segments (the inverse of formatPath). */
export function parsePath(text: string): Segment[] {
  const segments: Segment[] = [];
  const pattern = /([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const match of text.matchAll(pattern)) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(JSON.parse(match[3] ?? '""') as string);
  }
  return segments;
}

function container(doc: Json, segments: Segment[]): Json {
  let node: Json = doc;
  for (const segment of segments) {
    const next: Json | undefined =
      typeof segment === "number"
        ? Array.isArray(node)
          ? node[segment]
          : undefined
        : node !== null && typeof node === "object" && !Array.isArray(node)
          ? node[segment]
          : undefined;
    if (next === undefined) throw new Error(`no ${segment} in path`);
    node = next;
  }
  return node;
}

/** A copy of `doc` with the value at `at` replaced (or added). */
export function withValue(doc: JsonObject, at: string, value: Json): JsonObject {
  const copy = structuredClone(doc);
  const segments = parsePath(at);
  const parent = container(copy, segments.slice(0, -1));
  const last = segments[segments.length - 1];
  if (Array.isArray(parent) && typeof last === "number") parent[last] = value;
  else if (
    parent !== null &&
    typeof parent === "object" &&
    !Array.isArray(parent) &&
    typeof last === "string"
  ) {
    parent[last] = value;
  } else throw new Error(`cannot set ${at}`);
  return copy;
}

/** A copy of `doc` without the field at `at`. */
export function without(doc: JsonObject, at: string): JsonObject {
  const copy = structuredClone(doc);
  const segments = parsePath(at);
  const parent = container(copy, segments.slice(0, -1));
  const last = segments[segments.length - 1];
  if (parent === null || typeof parent !== "object" || Array.isArray(parent) || typeof last !== "string") {
    throw new Error(`cannot delete ${at}`);
  }
  delete parent[last];
  return copy;
}

export function errorsOf(input: unknown): ValidationIssue[] {
  return validateServerJson(input).issues.filter((issue) => issue.severity === "error");
}

/** The document must be refused with exactly one error, at `path`; returns that error for more checks. */
export function onlyError(input: unknown, path: string): ValidationIssue {
  const result = validateServerJson(input);
  assert.equal(result.valid, false, `expected ${path} to be refused`);
  assert.equal(result.server, undefined);
  const errors = result.issues.filter((issue) => issue.severity === "error");
  assert.equal(errors.length, 1, `expected one error, got ${JSON.stringify(errors, null, 2)}`);
  const [error] = errors as [ValidationIssue];
  assert.equal(error.path, path);
  assert.ok(
    error.message.startsWith(path === "" ? "server.json " : `${path} `),
    `message should name the field: ${error.message}`,
  );
  return error;
}

import fs from "node:fs";
import { z } from "zod";
import type { RegistryKind } from "./types";
import { normalizeBaseUrl } from "./urls";

/** Where a secret comes from: inline (the whole variable from a Secret), a mounted file, or another variable. */
export type SecretSource = { value: string } | { file: string } | { env: string };

export type CredentialAuth =
  | { kind: "bearer"; token: SecretSource }
  | { kind: "basic"; username: string; password: SecretSource }
  | { kind: "gcp-metadata" };

export interface Credential {
  /** Base URL the credential applies to: requests at or below it carry it, nothing else does. */
  url: string;
  auth: CredentialAuth;
}

const entrySchema = z.strictObject({
  url: z.string(),
  token: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
  tokenEnv: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  passwordFile: z.string().min(1).optional(),
  passwordEnv: z.string().min(1).optional(),
  gcpMetadata: z.literal(true).optional(),
});

type Entry = z.output<typeof entrySchema>;

function secretOf(entry: Entry, field: "token" | "password"): SecretSource | undefined {
  const value = entry[field];
  const file = entry[`${field}File`];
  const env = entry[`${field}Env`];
  if (value !== undefined) return { value };
  if (file !== undefined) return { file };
  if (env !== undefined) return { env };
  return undefined;
}

function countSources(entry: Entry, field: "token" | "password"): number {
  return [entry[field], entry[`${field}File`], entry[`${field}Env`]].filter((v) => v !== undefined).length;
}

const FORMS =
  'one of {"token"|"tokenFile"|"tokenEnv"}, {"username" with "password"|"passwordFile"|"passwordEnv"} or {"gcpMetadata": true}';

/**
 * MCP_REGISTRY_PACKAGE_CREDENTIALS: a JSON array of `{url, ...}`. Errors name the entry and field,
 * never a value, because the variable holds secrets.
 */
export function parseCredentials(raw: string): Credential[] {
  if (raw.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`expected a JSON array of {"url": ..., ${FORMS}}`);
  }
  if (!Array.isArray(parsed)) throw new Error(`expected a JSON array of {"url": ..., ${FORMS}}`);
  return parsed.map((item, index) => {
    const result = entrySchema.safeParse(item);
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = issue?.path.length ? `.${issue.path.join(".")}` : "";
      const what =
        issue?.code === "unrecognized_keys" ? `unknown field ${issue.keys.join(", ")}` : "has a bad value";
      throw new Error(`entry [${index}]${where}: ${what}; each entry is {"url": ..., ${FORMS}}`);
    }
    const entry = result.data;
    const url = normalizeBaseUrl(entry.url);
    if (url === undefined) {
      throw new Error(`entry [${index}].url: expected an https:// base URL (plain http only for localhost)`);
    }
    const tokens = countSources(entry, "token");
    const passwords = countSources(entry, "password");
    const forms = [tokens > 0, entry.username !== undefined || passwords > 0, entry.gcpMetadata === true];
    if (forms.filter(Boolean).length !== 1 || tokens > 1 || passwords > 1) {
      throw new Error(`entry [${index}] (${url}): give exactly ${FORMS}`);
    }
    if (entry.gcpMetadata) return { url, auth: { kind: "gcp-metadata" } };
    const token = secretOf(entry, "token");
    if (token !== undefined) return { url, auth: { kind: "bearer", token } };
    const password = secretOf(entry, "password");
    if (entry.username === undefined || password === undefined) {
      throw new Error(`entry [${index}] (${url}): "username" needs a password, passwordFile or passwordEnv`);
    }
    return { url, auth: { kind: "basic", username: entry.username, password } };
  });
}

/** A secret's value at the time of use, so a rotated Secret file applies without a restart. */
function readSecret(source: SecretSource, what: string): string {
  if ("value" in source) return source.value;
  if ("file" in source) {
    try {
      return fs.readFileSync(source.file, "utf8").trim();
    } catch {
      throw new Error(`the ${what} file ${source.file} cannot be read`);
    }
  }
  const value = process.env[source.env];
  if (value === undefined || value === "") throw new Error(`the ${what} variable ${source.env} is not set`);
  return value;
}

const basic = (username: string, password: string) =>
  `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;

/** Artifact Registry takes an access token as a Bearer token (npm) or as the password of this user. */
const GOOGLE_TOKEN_USER = "oauth2accesstoken";

/** Credentials by URL prefix; the longest matching base URL wins. */
export class CredentialStore {
  private readonly entries: Credential[];

  constructor(
    entries: readonly Credential[],
    private readonly googleToken: () => Promise<string>,
  ) {
    this.entries = [...entries].sort((a, b) => b.url.length - a.url.length);
  }

  /** The entry for a request URL, or undefined (then the request goes out without credentials). */
  find(url: string): Credential | undefined {
    let normalized: string;
    try {
      const parsed = new URL(url);
      normalized = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
    } catch {
      return undefined;
    }
    return this.entries.find((entry) => normalized === entry.url || normalized.startsWith(`${entry.url}/`));
  }

  /** The Authorization header for a request URL, in the form the registry type expects. */
  async authorization(url: string, kind: RegistryKind): Promise<string | undefined> {
    const entry = this.find(url);
    if (entry === undefined) return undefined;
    const auth = entry.auth;
    switch (auth.kind) {
      case "bearer":
        return `Bearer ${readSecret(auth.token, "token")}`;
      case "basic":
        return basic(auth.username, readSecret(auth.password, "password"));
      case "gcp-metadata": {
        const token = await this.googleToken();
        return kind === "npm" ? `Bearer ${token}` : basic(GOOGLE_TOKEN_USER, token);
      }
    }
  }

  /** Username and password for a token service (OCI), when the entry has that form or a Google token. */
  async basicCredentials(url: string): Promise<string | undefined> {
    const entry = this.find(url);
    if (entry === undefined || entry.auth.kind === "bearer") return undefined;
    return this.authorization(url, "oci");
  }
}

// What a secret looks like, by name and by content, and the stack's configuration file as Pulumi stores it
// (encrypted values are `{secure: ...}` objects, so the file shows exactly which keys are Pulumi secrets).
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { rec, str } from "./values";

/** The pack's own directory (policies/), which relative paths in the policy config are resolved against. */
export const packRoot = path.resolve(__dirname, "..", "..");

export function resolveFromPack(file: string): string {
  return path.isAbsolute(file) ? file : path.resolve(packRoot, file);
}

/** A config key or field whose last segment names a secret (the same words infra/settings.ts refuses in plain text). */
export const SECRET_KEY_NAME =
  /(secret|password|passwd|token|apikey|api_key|privatekey|private_key|credentials?|accesskey|access_key)$/i;

/** Environment variable names that carry secrets (`DB_PASSWORD`, `GITHUB_CLIENT_SECRET`, `API_KEY`, ...). */
export const SECRET_ENV_NAME =
  /(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|ACCESS_?KEY(_ID)?|SECRET_?ACCESS_?KEY)$/i;

const CREDENTIAL_PATTERNS: readonly { readonly label: string; readonly pattern: RegExp }[] = [
  { label: "a PEM private key", pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { label: "a GitHub token", pattern: /\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/ },
  { label: "an AWS access key id", pattern: /\bAKIA[0-9A-Z]{16}\b/ },
  { label: "a Google API key", pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { label: "a Slack token", pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  { label: "a service-account key file", pattern: /"private_key"\s*:/ },
  // `$(VAR)`/`${VAR}` passwords are references Kubernetes or a shell expands at run time, not credentials.
  {
    label: "a URL with an embedded password",
    pattern: /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:(?!\$[({])[^/\s@]+@/i,
  },
];

/** What kind of credential a value contains, by its content alone, or undefined. */
export function credentialKind(value: string): string | undefined {
  return CREDENTIAL_PATTERNS.find((c) => c.pattern.test(value))?.label;
}

/** Placeholder values that are never acceptable as a secret. */
const PLACEHOLDERS = new Set([
  "",
  "admin",
  "changeit",
  "changeme",
  "change-me",
  "default",
  "example",
  "password",
  "placeholder",
  "prom-operator",
  "root",
  "secret",
  "test",
  "todo",
  "xxx",
]);

export function isPlaceholder(value: string): boolean {
  return PLACEHOLDERS.has(value.trim().toLowerCase());
}

export interface StackConfigEntry {
  /** `namespace:key` plus a path into structured values, e.g. `mcp-registry:registry.github.clientId`. */
  readonly key: string;
  /** Last segment of the path (the name the secret-looking test applies to). */
  readonly name: string;
  readonly secure: boolean;
  /** The plaintext value of a non-secure scalar. */
  readonly value?: string;
}

const parsed = new Map<string, { readonly mtimeMs: number; readonly entries: StackConfigEntry[] }>();

/** Every leaf of a `Pulumi.<stack>.yaml`'s `config:` block; `{secure: ...}` leaves are marked secure. */
export function readStackConfig(file: string): StackConfigEntry[] {
  // Policies read the same file once per Secret; parse it once per change.
  const mtimeMs = fs.statSync(file).mtimeMs;
  const cached = parsed.get(file);
  if (cached !== undefined && cached.mtimeMs === mtimeMs) return cached.entries;
  const entries = parseStackConfig(file);
  parsed.set(file, { mtimeMs, entries });
  return entries;
}

function parseStackConfig(file: string): StackConfigEntry[] {
  const doc = rec(parseYaml(fs.readFileSync(file, "utf8")) as unknown);
  const config = rec(doc?.config);
  const entries: StackConfigEntry[] = [];
  const visit = (key: string, name: string, value: unknown) => {
    const object = rec(value);
    if (object !== undefined && Object.keys(object).length === 1 && typeof object.secure === "string") {
      entries.push({ key, name, secure: true });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => visit(`${key}[${i}]`, name, item));
    } else if (object !== undefined) {
      for (const [child, item] of Object.entries(object)) visit(`${key}.${child}`, child, item);
    } else if (value !== null && value !== undefined) {
      entries.push({ key, name, secure: false, value: str(value) ?? String(value) });
    }
  };
  for (const [key, value] of Object.entries(config ?? {})) visit(key, key.split(":").pop() ?? key, value);
  return entries;
}

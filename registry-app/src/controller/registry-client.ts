// The controller's client of the registry's HTTP API: the one write path (validation, locks, metrics) that
// mcp-publisher uses too. It logs in with the pod's projected service account token at /auth/kubernetes and keeps
// the registry token until shortly before it expires.
import fs from "node:fs";
import { z } from "zod";
import { OFFICIAL_META_KEY } from "../schema";

const PREFIX = "/v0.1";
/** Log in again this long before the registry token expires. */
const TOKEN_MARGIN_MS = 30_000;

export type RegistryStatus = "active" | "deprecated" | "deleted";

/** One stored version as the registry answers it. */
export interface RegistryEntry {
  server: Record<string, unknown>;
  status: RegistryStatus;
  statusMessage?: string;
}

const entrySchema = z.object({
  server: z.record(z.string(), z.unknown()),
  _meta: z.object({
    [OFFICIAL_META_KEY]: z.object({
      status: z.enum(["active", "deprecated", "deleted"]),
      statusMessage: z.string().optional(),
    }),
  }),
});
const listSchema = z.object({ servers: z.array(entrySchema) });
const tokenSchema = z.object({ registry_token: z.string().min(1), expires_at: z.number() });
const problemSchema = z.object({
  detail: z.string().optional(),
  errors: z.array(z.object({ location: z.string(), message: z.string() })).optional(),
});

/** The registry could not be reached, timed out, or answered 5xx/429: try again later. */
export class RegistryUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistryUnavailableError";
  }
}

/** The registry answered a 4xx problem: the request as made will not succeed. */
export class RegistryRefusal extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors: { location: string; message: string }[],
  ) {
    super(`${status}: ${detail}`);
    this.name = "RegistryRefusal";
  }
}

export type RegistryOperation = "login" | "get" | "versions" | "publish" | "edit" | "status";

export interface RegistryClientOptions {
  baseUrl: string;
  tokenFile: string;
  timeoutMs: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Counts every call by operation and outcome (metrics). */
  observe?: (operation: RegistryOperation, outcome: "ok" | "refused" | "unavailable") => void;
}

const toEntry = (parsed: z.infer<typeof entrySchema>): RegistryEntry => {
  const meta = parsed._meta[OFFICIAL_META_KEY];
  return { server: parsed.server, status: meta.status, statusMessage: meta.statusMessage };
};

export class RegistryClient {
  private token: { value: string; expiresAt: number } | undefined;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: RegistryClientOptions) {
    this.fetch = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  private async send(
    operation: RegistryOperation,
    method: string,
    path: string,
    body: unknown,
    authorization: string | undefined,
  ): Promise<{ status: number; json: unknown }> {
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(`${this.options.baseUrl}${path}`, {
        method,
        headers: {
          accept: "application/json",
          ...(body !== undefined && { "content-type": "application/json" }),
          ...(authorization !== undefined && { authorization }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      this.options.observe?.(operation, "unavailable");
      const reason = error instanceof Error && error.name === "TimeoutError" ? "timed out" : "unreachable";
      throw new RegistryUnavailableError(`the registry at ${this.options.baseUrl} is ${reason}`);
    }
    let json: unknown;
    try {
      json = text === "" ? undefined : (JSON.parse(text) as unknown);
    } catch {
      json = undefined;
    }
    if (response.status >= 500 || response.status === 429) {
      this.options.observe?.(operation, "unavailable");
      const detail = problemSchema.safeParse(json).data?.detail ?? `status ${response.status}`;
      throw new RegistryUnavailableError(`the registry answered ${response.status}: ${detail}`);
    }
    this.options.observe?.(operation, response.status < 400 || response.status === 404 ? "ok" : "refused");
    return { status: response.status, json };
  }

  private refusal(status: number, json: unknown): RegistryRefusal {
    const problem = problemSchema.safeParse(json).data;
    return new RegistryRefusal(status, problem?.detail ?? `status ${status}`, problem?.errors ?? []);
  }

  private async login(): Promise<string> {
    if (this.token !== undefined && this.token.expiresAt - TOKEN_MARGIN_MS > this.now())
      return this.token.value;
    let serviceAccountToken: string;
    try {
      // Read on every login: the kubelet rotates the projected token in place.
      serviceAccountToken = fs.readFileSync(this.options.tokenFile, "utf8").trim();
    } catch {
      throw new RegistryUnavailableError(`cannot read the service account token ${this.options.tokenFile}`);
    }
    const { status, json } = await this.send(
      "login",
      "POST",
      `${PREFIX}/auth/kubernetes`,
      {
        service_account_token: serviceAccountToken,
      },
      undefined,
    );
    const parsed = tokenSchema.safeParse(json);
    if (status !== 200 || !parsed.success) {
      // The registry does not accept this controller (not configured, or another account): nothing will work.
      throw new RegistryUnavailableError(
        `the registry refused the controller's login (${status}): ${problemSchema.safeParse(json).data?.detail ?? ""}`,
      );
    }
    this.token = { value: parsed.data.registry_token, expiresAt: parsed.data.expires_at * 1000 };
    return this.token.value;
  }

  /** An authenticated call; a 401 (token revoked or the signing key rotated) logs in once more. */
  private async authorized(operation: RegistryOperation, method: string, path: string, body: unknown) {
    let answer = await this.send(operation, method, path, body, `Bearer ${await this.login()}`);
    if (answer.status === 401) {
      this.token = undefined;
      answer = await this.send(operation, method, path, body, `Bearer ${await this.login()}`);
    }
    return answer;
  }

  private static versionPath(name: string, version: string): string {
    return `${PREFIX}/servers/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;
  }

  /** One version, whatever its status; undefined when the registry has no such version. */
  async get(name: string, version: string): Promise<RegistryEntry | undefined> {
    const { status, json } = await this.send(
      "get",
      "GET",
      `${RegistryClient.versionPath(name, version)}?include_deleted=true`,
      undefined,
      undefined,
    );
    if (status === 404) return undefined;
    if (status !== 200) throw this.refusal(status, json);
    return toEntry(entrySchema.parse(json));
  }

  /** Every version of a name, deleted ones included; empty when the name is unknown. */
  async versions(name: string): Promise<RegistryEntry[]> {
    const path = `${PREFIX}/servers/${encodeURIComponent(name)}/versions?include_deleted=true`;
    const { status, json } = await this.send("versions", "GET", path, undefined, undefined);
    if (status === 404) return [];
    if (status !== 200) throw this.refusal(status, json);
    return listSchema.parse(json).servers.map(toEntry);
  }

  async publish(server: unknown): Promise<RegistryEntry> {
    const { status, json } = await this.authorized("publish", "POST", `${PREFIX}/publish`, server);
    if (status !== 200) throw this.refusal(status, json);
    return toEntry(entrySchema.parse(json));
  }

  async edit(name: string, version: string, server: unknown): Promise<RegistryEntry> {
    const { status, json } = await this.authorized(
      "edit",
      "PUT",
      RegistryClient.versionPath(name, version),
      server,
    );
    if (status !== 200) throw this.refusal(status, json);
    return toEntry(entrySchema.parse(json));
  }

  async setStatus(
    name: string,
    version: string,
    status: RegistryStatus,
    statusMessage?: string,
  ): Promise<void> {
    const answer = await this.authorized(
      "status",
      "PATCH",
      `${RegistryClient.versionPath(name, version)}/status`,
      {
        status,
        ...(statusMessage !== undefined && { statusMessage }),
      },
    );
    if (answer.status !== 200) throw this.refusal(answer.status, answer.json);
  }
}

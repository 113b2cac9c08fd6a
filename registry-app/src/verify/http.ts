import { guardedRequest, OutboundError, type GuardedResponse } from "../auth/outbound";
import type { CredentialStore } from "./credentials";
import type { RegistryKind } from "./types";
import { isAllowedScheme } from "./urls";

const USER_AGENT = "mcp-registry-package-verifier";
const MAX_REDIRECTS = 5;

/** A registry that could not give a usable answer; see PackageCheck "unavailable". */
export class RegistryUnavailable extends Error {
  constructor(
    readonly registry: string,
    readonly reason: string,
    readonly retryable: boolean,
  ) {
    super(`${registry}: ${reason}`);
    this.name = "RegistryUnavailable";
  }
}

export interface PackageHttpSettings {
  timeoutMs: number;
  maxBytes: number;
  allowPrivate: boolean;
  credentials: CredentialStore;
  /** The transport; tests may wrap it, production is the SSRF-guarded client of the auth module. */
  send?: typeof guardedRequest;
}

export interface FetchOptions {
  /** Named in every error: the registry's base URL or host. */
  registry: string;
  kind: RegistryKind;
  accept?: string;
  method?: "GET" | "HEAD";
  maxBytes?: number;
  timeoutMs?: number;
  /** Takes the body of the final 200 answer chunk by chunk instead of buffering it. */
  onChunk?: (chunk: Buffer) => void;
  /** Hosts other than the request's own that a redirect may lead to (credentials never follow). */
  redirectHosts?: (host: string) => boolean;
  /** An Authorization header set by the caller (OCI tokens), sent to the first host only; false: none. */
  authorization?: string | false;
}

function describeOutbound(
  error: OutboundError,
  settings: PackageHttpSettings,
): { reason: string; retryable: boolean } {
  switch (error.message) {
    case "timeout":
      return { reason: `did not answer within ${settings.timeoutMs} ms`, retryable: true };
    case "connection failed":
      return { reason: "could not be reached (connection failed)", retryable: true };
    case "response too large":
      return { reason: "answered with more bytes than this registry reads", retryable: false };
    case "target address is not public":
      return {
        reason:
          "resolves to a private or loopback address, which package verification refuses (MCP_REGISTRY_PACKAGE_ALLOW_PRIVATE=true allows it for internal registries)",
        retryable: false,
      };
    default:
      return { reason: error.message, retryable: true };
  }
}

/** Outbound GET/HEAD for package verification: timeouts, size caps, credentials by URL, redirects only within a host. */
export class PackageHttp {
  private readonly send: typeof guardedRequest;

  constructor(readonly settings: PackageHttpSettings) {
    this.send = settings.send ?? guardedRequest;
  }

  async fetch(url: string, options: FetchOptions): Promise<GuardedResponse> {
    const origin = new URL(url);
    let current = origin;
    for (let hop = 0; ; hop += 1) {
      const headers: Record<string, string> = { "user-agent": USER_AGENT };
      if (options.accept !== undefined) headers.accept = options.accept;
      const authorization = await this.authorizationFor(current, origin, options);
      if (authorization !== undefined) headers.authorization = authorization;
      let response: GuardedResponse;
      try {
        response = await this.send(current.href, {
          method: options.method ?? "GET",
          headers,
          timeoutMs: options.timeoutMs ?? this.settings.timeoutMs,
          maxBytes: options.maxBytes ?? this.settings.maxBytes,
          allowPrivate: this.settings.allowPrivate,
          onChunk:
            options.onChunk === undefined
              ? undefined
              : (chunk, status) => {
                  if (status === 200) options.onChunk?.(chunk);
                },
        });
      } catch (error) {
        if (error instanceof OutboundError) {
          const { reason, retryable } = describeOutbound(error, {
            ...this.settings,
            timeoutMs: options.timeoutMs ?? this.settings.timeoutMs,
          });
          throw new RegistryUnavailable(options.registry, reason, retryable);
        }
        throw new RegistryUnavailable(options.registry, "could not be reached", true);
      }
      const location = response.headers.location;
      if (response.status < 300 || response.status >= 400 || location === undefined) return response;
      if (hop >= MAX_REDIRECTS)
        throw new RegistryUnavailable(options.registry, `redirected more than ${MAX_REDIRECTS} times`, false);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new RegistryUnavailable(options.registry, "redirected to an unusable location", false);
      }
      if (!isAllowedScheme(next))
        throw new RegistryUnavailable(
          options.registry,
          `redirected to ${next.protocol} URL, which is refused`,
          false,
        );
      if (next.host !== origin.host && !(options.redirectHosts?.(next.host) ?? false)) {
        throw new RegistryUnavailable(
          options.registry,
          `redirected to another host (${next.host}); redirects to other hosts are not followed`,
          false,
        );
      }
      current = next;
    }
  }

  /** Credentials belong to a URL prefix, so a redirect elsewhere drops them; a caller's header stays on its host. */
  private async authorizationFor(
    current: URL,
    origin: URL,
    options: FetchOptions,
  ): Promise<string | undefined> {
    if (options.authorization === false) return undefined;
    if (typeof options.authorization === "string")
      return current.host === origin.host ? options.authorization : undefined;
    try {
      return await this.settings.credentials.authorization(current.href, options.kind);
    } catch (error) {
      throw new RegistryUnavailable(options.registry, (error as Error).message, false);
    }
  }
}

/** A non-200 answer as the failure it is: 401/403 is a missing credential, 429 and 5xx are retryable. */
export function unexpectedStatus(registry: string, status: number, what: string): RegistryUnavailable {
  if (status === 401 || status === 403) {
    return new RegistryUnavailable(
      registry,
      `refused access to ${what} (status ${status}); the operator of this MCP registry must configure credentials for it in MCP_REGISTRY_PACKAGE_CREDENTIALS`,
      false,
    );
  }
  if (status === 429 || status >= 500)
    return new RegistryUnavailable(registry, `answered status ${status}`, true);
  return new RegistryUnavailable(registry, `answered status ${status} for ${what}`, false);
}

/** The JSON body of a 200 answer. */
export function jsonBody(response: GuardedResponse, registry: string, what: string): unknown {
  try {
    return JSON.parse(response.body.toString("utf8")) as unknown;
  } catch {
    throw new RegistryUnavailable(registry, `answered ${what} with something that is not JSON`, false);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

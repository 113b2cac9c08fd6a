import { guardedRequest } from "../auth/outbound";
import { isRecord } from "./http";

/** Renewed this long before it expires, so a request never carries a token that dies in flight. */
const EARLY_RENEWAL_MS = 60_000;

export interface MetadataTokenSettings {
  /** http://metadata.google.internal on GKE; a loopback fake in tests. */
  baseUrl: string;
  timeoutMs: number;
  now?: () => number;
  send?: typeof guardedRequest;
}

/**
 * Short-lived access tokens of the pod's Google service account from the GKE metadata server
 * (Workload Identity), shared by concurrent callers and renewed shortly before they expire.
 */
export class MetadataTokenSource {
  private cached: { token: string; expires: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly now: () => number;
  private readonly send: typeof guardedRequest;

  constructor(private readonly settings: MetadataTokenSettings) {
    this.now = settings.now ?? Date.now;
    this.send = settings.send ?? guardedRequest;
  }

  token(): Promise<string> {
    if (this.cached !== undefined && this.cached.expires - EARLY_RENEWAL_MS > this.now())
      return Promise.resolve(this.cached.token);
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetch(): Promise<string> {
    const url = `${this.settings.baseUrl}/computeMetadata/v1/instance/service-accounts/default/token`;
    let response;
    try {
      // The metadata server is link-local by design; its URL is the operator's, never a publisher's.
      response = await this.send(url, {
        headers: { "metadata-flavor": "Google" },
        timeoutMs: this.settings.timeoutMs,
        maxBytes: 65_536,
        allowPrivate: true,
      });
    } catch (error) {
      throw new Error(`the GKE metadata server did not give an access token (${(error as Error).message})`, {
        cause: error,
      });
    }
    if (response.status !== 200)
      throw new Error(`the GKE metadata server answered status ${response.status} for an access token`);
    let body: unknown;
    try {
      body = JSON.parse(response.body.toString("utf8")) as unknown;
    } catch {
      body = undefined;
    }
    const token = isRecord(body) ? body.access_token : undefined;
    const expiresIn = isRecord(body) ? body.expires_in : undefined;
    if (typeof token !== "string" || token === "" || typeof expiresIn !== "number")
      throw new Error("the GKE metadata server answered without an access token");
    this.cached = { token, expires: this.now() + expiresIn * 1000 };
    return token;
  }
}

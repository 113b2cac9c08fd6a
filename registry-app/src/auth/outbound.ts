import dns, { type LookupAddress } from "node:dns";
import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";

/** Why an outbound call failed, without secrets: "timeout", "response too large", "status 500". */
export class OutboundError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "OutboundError";
  }
}

export interface BoundedResponse {
  status: number;
  text: string;
}

export interface BoundedRequest {
  timeoutMs: number;
  maxBytes: number;
  headers?: Record<string, string>;
}

/**
 * GET with a timeout covering headers and body, a response-size cap, and no redirects followed
 * (a redirect comes back as its 3xx status so callers treat it as a failure).
 */
export async function boundedGet(
  fetchImpl: typeof fetch,
  url: string,
  request: BoundedRequest,
): Promise<BoundedResponse & { bytes: Buffer }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), request.timeoutMs);
  try {
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method: "GET",
        headers: request.headers,
        redirect: "manual",
        signal: controller.signal,
      });
    } catch {
      throw new OutboundError(controller.signal.aborted ? "timeout" : "connection failed");
    }
    const declared = Number(response.headers.get("content-length") ?? "NaN");
    if (Number.isFinite(declared) && declared > request.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new OutboundError("response too large", response.status);
    }
    const bytes = await readCapped(response, request.maxBytes, controller.signal);
    return { status: response.status, text: bytes.toString("utf8"), bytes };
  } finally {
    clearTimeout(timer);
  }
}

async function readCapped(response: Response, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new OutboundError("response too large", response.status);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof OutboundError) throw error;
    throw new OutboundError(signal.aborted ? "timeout" : "connection failed", response.status);
  }
  return Buffer.concat(chunks);
}

/** GET that must answer 200 with a JSON body. */
export async function getJson(
  fetchImpl: typeof fetch,
  url: string,
  request: BoundedRequest,
): Promise<unknown> {
  const response = await boundedGet(fetchImpl, url, {
    ...request,
    headers: { accept: "application/json", ...request.headers },
  });
  if (response.status !== 200) throw new OutboundError(`status ${response.status}`, response.status);
  try {
    return JSON.parse(response.text) as unknown;
  } catch {
    throw new OutboundError("response is not JSON", response.status);
  }
}

/** Ranges an SSRF-safe outbound call must not reach: private, loopback, link-local, CGNAT, multicast, … */
const nonPublic = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  nonPublic.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  nonPublic.addSubnet(network, prefix, "ipv6");
}

/** True for any address that is not a globally routable unicast address. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return nonPublic.check(address, "ipv4");
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1]) return nonPublic.check(mapped[1], "ipv4");
    return nonPublic.check(address, "ipv6");
  }
  return true;
}

export interface GuardedGetOptions {
  timeoutMs: number;
  maxBytes: number;
  allowPrivate: boolean;
  headers?: Record<string, string>;
}

export interface GuardedRequestOptions extends GuardedGetOptions {
  method?: "GET" | "HEAD";
  /** Receives the body chunk by chunk instead of buffering it (hashing a large download). */
  onChunk?: (chunk: Buffer, status: number) => void;
}

export interface GuardedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Empty when onChunk took the body. */
  body: Buffer;
}

/**
 * A request through node:http(s) whose DNS lookup refuses non-public addresses at connect time, so a
 * rebinding answer between a pre-check and the connection cannot reach the internal network.
 * No redirects are followed; one deadline covers connection, headers and body; the body is capped.
 */
export function guardedRequest(url: string, options: GuardedRequestOptions): Promise<GuardedResponse> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dns.lookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 0);
      const list = addresses as LookupAddress[];
      const refused = !options.allowPrivate && list.some((a) => isNonPublicAddress(a.address));
      if (refused || list.length === 0) {
        return callback(new OutboundError("target address is not public"), "", 0);
      }
      if (lookupOptions.all) return callback(null, list);
      const first = list[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
  // An IP literal never reaches the lookup, so it is checked here.
  const literal = target.hostname.replace(/^\[|\]$/g, "");
  if (!options.allowPrivate && isIP(literal) !== 0 && isNonPublicAddress(literal)) {
    return Promise.reject(new OutboundError("target address is not public"));
  }
  return new Promise<GuardedResponse>((resolve, reject) => {
    const request = client.request(
      target,
      {
        method: options.method ?? "GET",
        headers: options.headers,
        lookup,
        timeout: options.timeoutMs,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let total = 0;
        response.on("data", (chunk: Buffer) => {
          total += chunk.length;
          if (total > options.maxBytes) {
            request.destroy(new OutboundError("response too large", response.statusCode));
            return;
          }
          if (options.onChunk) options.onChunk(chunk, response.statusCode ?? 0);
          else chunks.push(chunk);
        });
        response.on("end", () => {
          // The whole body may arrive in one chunk and end before the destroy takes effect.
          if (total > options.maxBytes) reject(new OutboundError("response too large", response.statusCode));
          else
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks),
            });
        });
        response.on("error", (error) => reject(asOutbound(error)));
      },
    );
    const deadline = setTimeout(() => request.destroy(new OutboundError("timeout")), options.timeoutMs);
    request.on("close", () => clearTimeout(deadline));
    request.on("timeout", () => request.destroy(new OutboundError("timeout")));
    request.on("error", (error) => reject(asOutbound(error)));
    request.end();
  });
}

/** guardedRequest for a GET whose body is text (the http login method's proof document). */
export async function guardedGet(url: string, options: GuardedGetOptions): Promise<BoundedResponse> {
  const response = await guardedRequest(url, options);
  return { status: response.status, text: response.body.toString("utf8") };
}

function asOutbound(error: Error): OutboundError {
  return error instanceof OutboundError ? error : new OutboundError("connection failed");
}

import { createHash } from "node:crypto";
import type { GuardedResponse } from "../auth/outbound";
import type { ServerPackage } from "../schema";
import { at, republish, type CheckContext, type CheckResult } from "./common";
import { isRecord, jsonBody, RegistryUnavailable, unexpectedStatus, type FetchOptions } from "./http";
import { hostAllowed, isLoopbackHost } from "./urls";

/** The label an image carries to name the MCP server it is. */
export const OCI_NAME_LABEL = "io.modelcontextprotocol.server.name";

const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export interface ImageReference {
  /** As written in references and allow-lists: docker.io, ghcr.io, localhost:5000. */
  registry: string;
  /** Where its API lives (Docker Hub's is registry-1.docker.io). */
  apiHost: string;
  repository: string;
  /** A tag or a sha256: digest. */
  reference: string;
}

const DOCKER_HUB = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Parses `[registry/]repository[:tag][@digest]` the way docker does (docker.io and library/ by default). */
export function parseImageReference(identifier: string): ImageReference | undefined {
  let rest = identifier.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  const parts = rest.split("/");
  const first = parts[0] ?? "";
  let registry = "docker.io";
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first.toLowerCase();
    parts.shift();
  }
  if (DOCKER_HUB.has(registry)) {
    registry = "docker.io";
    if (parts.length === 1) parts.unshift("library");
  }
  if (parts.length === 0 || !parts.every((part) => COMPONENT.test(part))) return undefined;
  return {
    registry,
    apiHost: registry === "docker.io" ? "registry-1.docker.io" : registry,
    repository: parts.join("/"),
    reference: digest ?? tag ?? "latest",
  };
}

/** `Bearer realm="…",service="…",scope="…"` -> its scheme and parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const scheme = (/^\s*(\S+)/.exec(header)?.[1] ?? "").toLowerCase();
  const params: Record<string, string> = {};
  for (const match of header.matchAll(/(\w+)="([^"]*)"/g))
    params[(match[1] ?? "").toLowerCase()] = match[2] ?? "";
  return { scheme, params };
}

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** Talks to one repository of one registry, answering token challenges as docker clients do. */
class Repository {
  private authorization: string | undefined;
  readonly base: string;

  constructor(
    private readonly image: ImageReference,
    private readonly ctx: CheckContext,
  ) {
    const scheme = isLoopbackHost(image.apiHost.replace(/:\d+$/, "")) ? "http" : "https";
    this.base = `${scheme}://${image.apiHost}/v2/${image.repository}`;
  }

  private options(extra: Partial<FetchOptions> = {}): FetchOptions {
    return {
      registry: this.image.registry,
      kind: "oci",
      ...(this.authorization !== undefined && { authorization: this.authorization }),
      ...extra,
    };
  }

  /** GET below /v2/<repository>; on a 401 challenge, gets a token (or uses Basic) and asks once more. */
  async get(path: string, extra: Partial<FetchOptions> = {}): Promise<GuardedResponse> {
    const url = `${this.base}/${path}`;
    const first = await this.ctx.http.fetch(url, this.options(extra));
    if (first.status !== 401 || this.authorization !== undefined) return first;
    const challenge = first.headers["www-authenticate"];
    if (typeof challenge !== "string") return first;
    const { scheme, params } = parseChallenge(challenge);
    if (scheme === "bearer" && params.realm !== undefined) this.authorization = await this.token(params);
    else if (scheme === "basic") {
      const credentials = await this.ctx.http.settings.credentials.basicCredentials(url);
      if (credentials === undefined) return first;
      this.authorization = credentials;
    } else return first;
    return this.ctx.http.fetch(url, this.options(extra));
  }

  /** The distribution token flow: the realm named by the registry, Basic credentials when configured. */
  private async token(params: Record<string, string>): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(params.realm ?? "");
    } catch {
      throw new RegistryUnavailable(
        this.image.registry,
        "sent a token challenge without a usable realm",
        false,
      );
    }
    if (params.service !== undefined) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", params.scope ?? `repository:${this.image.repository}:pull`);
    const credentials = await this.ctx.http.settings.credentials.basicCredentials(realm.href);
    const response = await this.ctx.http.fetch(realm.href, {
      registry: this.image.registry,
      kind: "oci",
      accept: "application/json",
      // The realm is another host on Docker Hub (auth.docker.io); credentials go only where an entry names it.
      authorization: credentials ?? false,
    });
    if (response.status !== 200) throw unexpectedStatus(this.image.registry, response.status, "a pull token");
    const body = jsonBody(response, this.image.registry, "a pull token");
    const token = isRecord(body) ? (body.token ?? body.access_token) : undefined;
    if (typeof token !== "string" || token === "")
      throw new RegistryUnavailable(this.image.registry, "answered the token request without a token", false);
    return `Bearer ${token}`;
  }

  /** A bearer credential configured for the registry is sent from the first request on. */
  async start(): Promise<void> {
    const entry = this.ctx.http.settings.credentials.find(this.base);
    if (entry?.auth.kind === "bearer")
      this.authorization = await this.ctx.http.settings.credentials.authorization(this.base, "oci");
  }
}

function pickPlatform(index: Record<string, unknown>): string | undefined {
  const manifests = Array.isArray(index.manifests) ? index.manifests.filter(isRecord) : [];
  const platformOf = (entry: Record<string, unknown>) => (isRecord(entry.platform) ? entry.platform : {});
  const usable = manifests.filter(
    (entry) => platformOf(entry).os !== "unknown" && typeof entry.digest === "string",
  );
  const chosen =
    usable.find((entry) => platformOf(entry).os === "linux" && platformOf(entry).architecture === "amd64") ??
    usable[0];
  return chosen?.digest as string | undefined;
}

/** OCI: the image's config carries the label io.modelcontextprotocol.server.name = <server name>. */
export function ociCheck(allowed: readonly string[]) {
  return async (pkg: ServerPackage, ctx: CheckContext): Promise<CheckResult> => {
    const image = parseImageReference(pkg.identifier);
    if (image === undefined) {
      return `${at(ctx, "identifier")} "${pkg.identifier}" is not an image reference such as ghcr.io/owner/image:1.0.0`;
    }
    if (!hostAllowed(image.registry, allowed)) {
      return `${at(ctx, "identifier")} names the registry ${image.registry}, which this registry does not verify against; use an image in ${allowed.join(", ")}`;
    }
    const subject = `OCI image ${pkg.identifier}`;
    const repository = new Repository(image, ctx);
    await repository.start();
    const notFound = `${subject} was not found in ${image.registry}; push it there, or correct ${at(ctx, "identifier")}`;

    const manifestOf = async (reference: string): Promise<Record<string, unknown> | undefined> => {
      const response = await repository.get(`manifests/${reference}`, { accept: MANIFEST_TYPES });
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw unexpectedStatus(image.registry, response.status, subject);
      if (DIGEST.test(reference) && sha256(response.body) !== reference)
        throw new RegistryUnavailable(
          image.registry,
          `served a manifest that does not match its digest ${reference}`,
          false,
        );
      const body = jsonBody(response, image.registry, `the manifest of ${subject}`);
      return isRecord(body) ? body : {};
    };

    let manifest = await manifestOf(image.reference);
    if (manifest === undefined) return notFound;
    if (Array.isArray(manifest.manifests)) {
      const digest = pickPlatform(manifest);
      if (digest === undefined) return `${subject} is an index without any image manifest; push an image`;
      manifest = await manifestOf(digest);
      if (manifest === undefined) return notFound;
    }
    const configDigest = isRecord(manifest.config) ? manifest.config.digest : undefined;
    if (typeof configDigest !== "string" || !DIGEST.test(configDigest))
      throw new RegistryUnavailable(
        image.registry,
        `served a manifest of ${subject} without a config digest`,
        false,
      );
    // Blobs are often served from a CDN on another host; what arrives there is checked against its digest.
    const blob = await repository.get(`blobs/${configDigest}`, { redirectHosts: () => true });
    if (blob.status !== 200) throw unexpectedStatus(image.registry, blob.status, `the config of ${subject}`);
    if (sha256(blob.body) !== configDigest)
      throw new RegistryUnavailable(
        image.registry,
        `served a config blob that does not match its digest ${configDigest}`,
        false,
      );
    const config = jsonBody(blob, image.registry, `the config of ${subject}`);
    const labels =
      isRecord(config) && isRecord(config.config) && isRecord(config.config.Labels)
        ? config.config.Labels
        : {};
    const label = labels[OCI_NAME_LABEL];
    const fix = `rebuild and push the image, set ${at(ctx, "identifier")} to it, ${republish(ctx)}`;
    if (label === ctx.serverName) return undefined;
    if (typeof label === "string" && label !== "") {
      return `${subject} has the label ${OCI_NAME_LABEL}=${JSON.stringify(label)}, which names another server; set LABEL ${OCI_NAME_LABEL}="${ctx.serverName}" in the Dockerfile, ${fix}`;
    }
    return `${subject} has no label ${OCI_NAME_LABEL}; add LABEL ${OCI_NAME_LABEL}="${ctx.serverName}" to the Dockerfile, ${fix}`;
  };
}

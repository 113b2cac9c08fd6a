// A small Kubernetes API client for tests: client-certificate auth from a kubeconfig, discovery, and server-side
// apply with strict field validation. Enough to apply a stack's objects and read back what controllers did.
import * as fs from "node:fs";
import * as https from "node:https";
import { parse as parseYaml } from "yaml";

export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; [key: string]: unknown };
};

export interface RawResponse {
  readonly status: number;
  readonly body: string;
  /** The `Warning` headers' texts (deprecations, admission policies in Warn mode). */
  readonly warnings: readonly string[];
}

/** Where a kind lives in the API: its plural path segment and whether it is namespaced. */
export interface ResourceInfo {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

/** The API server refused a request; `status` is the HTTP status, `reason` the Status object's reason. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

interface KubeconfigDoc {
  clusters: { name: string; cluster: { server: string; "certificate-authority-data": string } }[];
  users: { name: string; user: { "client-certificate-data": string; "client-key-data": string } }[];
}

export class KubeClient {
  private readonly agent: https.Agent;
  private readonly discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();

  constructor(
    readonly server: string,
    tls: { ca: Buffer; cert: Buffer; key: Buffer },
  ) {
    this.agent = new https.Agent({ ...tls, keepAlive: true, maxSockets: 8 });
  }

  static fromKubeconfig(file: string): KubeClient {
    const doc = parseYaml(fs.readFileSync(file, "utf8")) as KubeconfigDoc;
    const cluster = doc.clusters[0]?.cluster;
    const user = doc.users[0]?.user;
    if (!cluster || !user) throw new Error(`${file}: no cluster or user`);
    const b64 = (value: string) => Buffer.from(value, "base64");
    return new KubeClient(cluster.server, {
      ca: b64(cluster["certificate-authority-data"]),
      cert: b64(user["client-certificate-data"]),
      key: b64(user["client-key-data"]),
    });
  }

  /** One request; never throws for an HTTP status. */
  raw(
    method: string,
    urlPath: string,
    body?: string,
    contentType = "application/json",
  ): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const request = https.request(
        `${this.server}${urlPath}`,
        {
          method,
          agent: this.agent,
          timeout: 60_000,
          headers: {
            accept: "application/json",
            ...(body === undefined
              ? {}
              : { "content-type": contentType, "content-length": Buffer.byteLength(body) }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              body: Buffer.concat(chunks).toString("utf8"),
              warnings: warningTexts(response.headers.warning),
            }),
          );
          response.on("error", reject);
        },
      );
      request.on("timeout", () => request.destroy(new Error(`${method} ${urlPath} timed out`)));
      request.on("error", reject);
      if (body !== undefined) request.write(body);
      request.end();
    });
  }

  /** Warnings the server sent with each request since the client was made, with the request. */
  readonly warnings: { readonly request: string; readonly text: string }[] = [];

  /** A JSON request that throws KubeApiError on any status >= 300. */
  async json<T = Record<string, unknown>>(
    method: string,
    urlPath: string,
    body?: unknown,
    contentType?: string,
  ): Promise<T> {
    const response = await this.raw(
      method,
      urlPath,
      body === undefined ? undefined : JSON.stringify(body),
      contentType,
    );
    for (const text of response.warnings) this.warnings.push({ request: `${method} ${urlPath}`, text });
    if (response.status >= 300) {
      let reason = "";
      let message = response.body;
      try {
        const status = JSON.parse(response.body) as { reason?: string; message?: string };
        reason = status.reason ?? "";
        message = status.message ?? response.body;
      } catch {
        // not a Status object
      }
      throw new KubeApiError(response.status, reason, `${method} ${urlPath}: ${response.status} ${message}`);
    }
    return JSON.parse(response.body) as T;
  }

  /** The resources of one group/version, by kind (discovery is cached; `forget` after installing CRDs). */
  private resources(apiVersion: string): Promise<Map<string, ResourceInfo>> {
    let cached = this.discovery.get(apiVersion);
    if (cached === undefined) {
      const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      cached = this.json<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(
        "GET",
        base,
      ).then(
        (list) =>
          new Map(
            list.resources
              .filter((r) => !r.name.includes("/"))
              .map((r) => [r.kind, { apiVersion, kind: r.kind, plural: r.name, namespaced: r.namespaced }]),
          ),
      );
      cached.catch(() => this.discovery.delete(apiVersion));
      this.discovery.set(apiVersion, cached);
    }
    return cached;
  }

  forgetDiscovery(): void {
    this.discovery.clear();
  }

  /** Where a kind lives; discovery is retried a few times, as a busy API server may answer it with a 503. */
  async resourceInfo(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let failure: unknown;
    for (let attempt = 0; attempt < 4; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 500 * attempt));
      try {
        const info = (await this.resources(apiVersion)).get(kind);
        if (info !== undefined) return info;
        failure = new KubeApiError(404, "NotFound", `the API server serves no ${kind} in ${apiVersion}`);
      } catch (error) {
        failure = error;
        // A group that does not exist (yet) is an answer, not a transient failure.
        if (error instanceof KubeApiError && error.status === 404) break;
      }
      this.discovery.delete(apiVersion);
    }
    throw failure;
  }

  /** Every group/version the server serves (`apps/v1`, `v1`, `monitoring.coreos.com/v1`, ...). */
  async apiVersions(): Promise<string[]> {
    const core = await this.json<{ versions: string[] }>("GET", "/api");
    const groups = await this.json<{ groups: { versions: { groupVersion: string }[] }[] }>("GET", "/apis");
    return [...core.versions, ...groups.groups.flatMap((g) => g.versions.map((v) => v.groupVersion))];
  }

  /** The collection path of a kind, in a namespace when it is namespaced. */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const info = await this.resourceInfo(apiVersion, kind);
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (!info.namespaced) return `${base}/${info.plural}`;
    return namespace === undefined
      ? `${base}/${info.plural}`
      : `${base}/namespaces/${namespace}/${info.plural}`;
  }

  /**
   * Server-side apply with strict field validation: unknown or duplicate fields are errors, as with
   * `kubectl apply --server-side --validate=strict`. Returns the object as stored.
   */
  async apply(object: KubeObject, fieldManager = "mcp-registry-tests"): Promise<KubeObject> {
    const info = await this.resourceInfo(object.apiVersion, object.kind);
    const name = object.metadata.name;
    if (!name) throw new Error(`${object.kind} has no metadata.name`);
    const namespace = info.namespaced ? (object.metadata.namespace ?? "default") : undefined;
    const collection = await this.collectionPath(object.apiVersion, object.kind, namespace);
    const query = `fieldManager=${encodeURIComponent(fieldManager)}&fieldValidation=Strict&force=true`;
    return this.json<KubeObject>(
      "PATCH",
      `${collection}/${encodeURIComponent(name)}?${query}`,
      object,
      "application/apply-patch+yaml",
    );
  }

  async list(apiVersion: string, kind: string, namespace?: string): Promise<KubeObject[]> {
    const list = await this.json<{ items: KubeObject[] }>(
      "GET",
      await this.collectionPath(apiVersion, kind, namespace),
    );
    return list.items;
  }

  async create(object: KubeObject): Promise<KubeObject> {
    const info = await this.resourceInfo(object.apiVersion, object.kind);
    const namespace = info.namespaced ? (object.metadata.namespace ?? "default") : undefined;
    return this.json<KubeObject>(
      "POST",
      `${await this.collectionPath(object.apiVersion, object.kind, namespace)}?fieldValidation=Strict`,
      object,
    );
  }

  /** A server-side dry run of a create: what admission would say, nothing stored. */
  async dryRunCreate(object: KubeObject): Promise<RawResponse> {
    const info = await this.resourceInfo(object.apiVersion, object.kind);
    const namespace = info.namespaced ? (object.metadata.namespace ?? "default") : undefined;
    const collection = await this.collectionPath(object.apiVersion, object.kind, namespace);
    return this.raw("POST", `${collection}?dryRun=All&fieldValidation=Strict`, JSON.stringify(object));
  }

  close(): void {
    this.agent.destroy();
  }
}

/** `299 - "text"` headers (RFC 7234 warn-code, agent, quoted text) to their texts. */
function warningTexts(header: string | string[] | undefined): string[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return values.flatMap((value) =>
    [...value.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, "$1")),
  );
}

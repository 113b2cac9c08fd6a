// The controller's access to the Kubernetes API: @kubernetes/client-node loads the credentials (KUBECONFIG or the
// pod's projected token, re-read as the kubelet rotates it) and runs the list/watch informers; writes are plain
// JSON requests on the same credentials, so every patch type and the Lease's microsecond times are exact.
import http from "node:http";
import https from "node:https";
import * as k8s from "@kubernetes/client-node";

export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "KubeApiError";
  }
}

export type PatchType = "merge" | "json";

const PATCH_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
};

export interface ListObject<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

export class Kube {
  constructor(
    readonly config: k8s.KubeConfig,
    private readonly timeoutMs: number,
  ) {}

  /** KUBECONFIG (or ~/.kube/config) when present, otherwise the pod's in-cluster service account. */
  static load(timeoutMs: number): Kube {
    const config = new k8s.KubeConfig();
    config.loadFromDefault();
    if (config.getCurrentCluster() === null)
      throw new Error("no Kubernetes cluster configured (KUBECONFIG or in-cluster)");
    return new Kube(config, timeoutMs);
  }

  private get server(): string {
    const cluster = this.config.getCurrentCluster();
    if (cluster === null) throw new Error("no current cluster");
    return cluster.server.replace(/\/+$/, "");
  }

  /** One JSON request; throws KubeApiError on a status >= 300 with the API server's reason and message. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const url = new URL(`${this.server}${path}`);
    const options: https.RequestOptions = {
      method,
      headers: { accept: "application/json" },
      timeout: timeoutMs,
    };
    await this.config.applyToHTTPSOptions(options);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      options.headers = {
        ...options.headers,
        "content-type": contentType,
        "content-length": Buffer.byteLength(payload),
      };
    }
    const client = url.protocol === "http:" ? http : https;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = client.request(url, options, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      });
      request.on("timeout", () => request.destroy(new Error(`${method} ${path} timed out`)));
      request.on("error", reject);
      request.end(payload);
    });
    if (status >= 300) {
      let reason = "";
      let message = text;
      try {
        const parsed = JSON.parse(text) as { reason?: string; message?: string };
        reason = parsed.reason ?? "";
        message = parsed.message ?? text;
      } catch {
        // not a Status object
      }
      throw new KubeApiError(status, reason, `${method} ${path}: ${status} ${message}`);
    }
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }

  patch<T>(path: string, body: unknown, type: PatchType = "merge"): Promise<T> {
    return this.request<T>("PATCH", path, body, PATCH_TYPES[type]);
  }

  /** A list/watch cache of one collection (raw JSON objects); `onList` fires after every successful (re)list. */
  informer<T>(path: string, onList: () => void): Watched<T> {
    const informer = k8s.makeInformer<k8s.KubernetesObject>(this.config, path, async () => {
      const list = await this.request<ListObject<k8s.KubernetesObject>>("GET", path);
      onList();
      return list as k8s.KubernetesListObject<k8s.KubernetesObject>;
    });
    // The cache holds the API server's JSON as it came (timestamps are strings): typed here as such.
    return informer as unknown as Watched<T>;
  }
}

/** A list/watch cache: events, and the objects it holds. */
export interface Watched<T> {
  on(verb: "add" | "update" | "delete", callback: (object: T) => void): void;
  on(verb: "error", callback: (error: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits (Lease times). */
export function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

// The `controller` command: watches MCPServer and MCPNamespaceGrant objects, and while it holds the leader lease
// reconciles each MCPServer into the registry through its HTTP API (reconcile.ts). Every replica keeps its caches
// warm and serves /metrics, /livez and /readyz on its own port; only the leader works the queue.
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { Logger } from "../logger";
import type { ControllerConfig } from "./config";
import { Kube, KubeApiError } from "./kube";
import { LeaderElector } from "./leader";
import { ControllerMetrics } from "./metrics";
import { WorkQueue } from "./queue";
import { reconcile, type ClusterWriter, type ReconcileDeps } from "./reconcile";
import { RegistryClient } from "./registry-client";
import {
  API_VERSION,
  DELETION_POLICY_ANNOTATION,
  FINALIZER,
  GRANT,
  MCPSERVER,
  objectKey,
  type GrantObject,
  type MCPServerObject,
  type MCPServerStatus,
} from "./resources";

export { loadControllerConfig, ControllerConfigError, type ControllerConfig } from "./config";

const COMPONENT = "mcp-registry-controller";
const SERVERS_PATH = `/apis/${API_VERSION}/${MCPSERVER.plural}`;
const GRANTS_PATH = `/apis/${API_VERSION}/${GRANT.plural}`;

function serverPath(server: MCPServerObject): string {
  return `/apis/${API_VERSION}/namespaces/${server.metadata.namespace ?? ""}/${MCPSERVER.plural}/${server.metadata.name ?? ""}`;
}

/** Writes to the API server on behalf of reconcile(); events are best effort, a failed one is logged. */
function clusterWriter(kube: Kube, identity: string, log: Logger): ClusterWriter {
  const finalizers = (server: MCPServerObject, list: string[]) =>
    kube.patch<MCPServerObject>(serverPath(server), {
      // resourceVersion makes the write conditional: a stale cache gets a 409 and the key is retried.
      metadata: { finalizers: list, resourceVersion: server.metadata.resourceVersion },
    });
  return {
    addFinalizer: (server) => finalizers(server, [...(server.metadata.finalizers ?? []), FINALIZER]),
    removeFinalizer: async (server) => {
      await finalizers(
        server,
        (server.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
      );
    },
    writeStatus: async (server, status: MCPServerStatus) => {
      await kube.patch(`${serverPath(server)}/status`, { status });
    },
    event: async (server, type, reason, message) => {
      const namespace = server.metadata.namespace ?? "default";
      const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
      try {
        await kube.request("POST", `/api/v1/namespaces/${namespace}/events`, {
          apiVersion: "v1",
          kind: "Event",
          metadata: {
            name: `${server.metadata.name ?? "mcpserver"}.${randomBytes(8).toString("hex")}`,
            namespace,
          },
          involvedObject: {
            apiVersion: API_VERSION,
            kind: MCPSERVER.kind,
            name: server.metadata.name,
            namespace,
            uid: server.metadata.uid,
            resourceVersion: server.metadata.resourceVersion,
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: COMPONENT },
          reportingComponent: COMPONENT,
          reportingInstance: identity,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        });
      } catch (error) {
        log.warn({ err: error, server: objectKey(server.metadata) }, `could not record event ${reason}`);
      }
    },
  };
}

/** Whether an update needs a reconciliation: the spec, the deletion or the deletion policy changed (not our status). */
function worthReconciling(before: MCPServerObject | undefined, after: MCPServerObject): boolean {
  if (before === undefined) return true;
  return (
    before.metadata.generation !== after.metadata.generation ||
    before.metadata.deletionTimestamp !== after.metadata.deletionTimestamp ||
    before.metadata.annotations?.[DELETION_POLICY_ANNOTATION] !==
      after.metadata.annotations?.[DELETION_POLICY_ANNOTATION]
  );
}

export interface RunningController {
  readonly metrics: ControllerMetrics;
  readonly address: string;
  /** Stops the workers, releases the lease, stops the watches and the HTTP server. */
  stop(): Promise<void>;
  /** Settles when the controller stopped: by stop(), or on its own after losing the lease. */
  readonly stopped: Promise<"stopped" | "lost-lease">;
}

export async function runController(config: ControllerConfig, log: Logger): Promise<RunningController> {
  const kube = Kube.load(config.requestTimeoutMs);
  const queue = new WorkQueue(config.backoff);
  const metrics = new ControllerMetrics({
    defaultMetrics: true,
    queue: () => ({ depth: queue.depth(), retrying: queue.retrying() }),
  });
  const registry = new RegistryClient({
    baseUrl: config.registryUrl,
    tokenFile: config.tokenFile,
    timeoutMs: config.requestTimeoutMs,
    observe: (operation, outcome) => metrics.observeRegistry(operation, outcome),
  });

  const synced = { servers: false, grants: false };
  const servers = kube.informer<MCPServerObject>(SERVERS_PATH, () => {
    synced.servers = true;
  });
  const grants = kube.informer<GrantObject>(GRANTS_PATH, () => {
    synced.grants = true;
  });
  const enqueue = (server: MCPServerObject) => queue.add(objectKey(server.metadata));
  const enqueueAll = () => servers.list().forEach(enqueue);
  const previous = new Map<string, MCPServerObject>();
  servers.on("add", (server) => {
    previous.set(objectKey(server.metadata), server);
    enqueue(server);
  });
  servers.on("update", (server) => {
    const key = objectKey(server.metadata);
    if (worthReconciling(previous.get(key), server)) enqueue(server);
    previous.set(key, server);
  });
  servers.on("delete", (server) => {
    previous.delete(objectKey(server.metadata));
    // Another MCPServer of the same name may have waited for this one (Conflict).
    servers
      .list()
      .filter((s) => s.spec?.name === server.spec?.name)
      .forEach(enqueue);
  });
  // A grant changes what whole namespaces may publish.
  for (const verb of ["add", "update", "delete"] as const) grants.on(verb, enqueueAll);

  let stopping = false;
  const restartAfterError = (name: string, informer: { start(): Promise<void> }) => {
    let attempts = 0;
    return (error: unknown) => {
      if (stopping) return;
      const delay = Math.min(config.backoff.baseMs * 2 ** attempts++, config.backoff.maxMs);
      log.warn({ err: error, watch: name, retryInMs: delay }, `watch of ${name} failed; restarting`);
      setTimeout(() => {
        if (!stopping)
          void informer
            .start()
            .then(() => (attempts = 0))
            .catch(() => undefined);
      }, delay).unref();
    };
  };
  servers.on("error", restartAfterError(MCPSERVER.plural, servers));
  grants.on("error", restartAfterError(GRANT.plural, grants));
  void servers.start().catch(() => undefined);
  void grants.start().catch(() => undefined);

  const deps: ReconcileDeps = {
    registry,
    cluster: clusterWriter(kube, config.identity, log),
    grants: () => grants.list(),
    servers: () => servers.list(),
    publicUrl: config.publicUrl,
    now: () => new Date(),
  };

  const work = async (key: string): Promise<void> => {
    const [namespace = "", name = ""] = key.split("/");
    const server = servers.get(name, namespace);
    if (server === undefined) {
      queue.forget(key);
      return;
    }
    const timer = metrics.duration.startTimer();
    try {
      const outcome = await reconcile(server, deps);
      if (outcome.kind === "failed") {
        metrics.reconciliations.inc({ result: "failed" });
        metrics.failures.inc({ reason: outcome.reason });
        if (outcome.retry) {
          const delay = queue.retry(key);
          log.warn(
            { server: key, reason: outcome.reason, detail: outcome.message, retryInMs: delay },
            "reconcile failed; retrying",
          );
        } else {
          queue.forget(key);
          log.info(
            { server: key, reason: outcome.reason, detail: outcome.message },
            "reconcile failed; waiting for a change",
          );
        }
      } else {
        metrics.reconciliations.inc({ result: outcome.kind });
        queue.forget(key);
        if (outcome.kind !== "unchanged") log.info({ server: key, result: outcome.kind }, "reconciled");
      }
    } catch (error) {
      const delay = queue.retry(key);
      if (error instanceof KubeApiError && error.status === 409) {
        // Our cache was behind the API server (a write raced a watch event): try again with fresh data.
        log.debug({ server: key, retryInMs: delay }, "object changed meanwhile; retrying");
        return;
      }
      metrics.reconciliations.inc({ result: "failed" });
      metrics.failures.inc({ reason: "Error" });
      log.error(
        { err: error, server: key, retryInMs: delay },
        `reconcile error: ${(error as Error).message}`,
      );
    } finally {
      timer();
    }
  };

  const workers: Promise<void>[] = [];
  let resync: NodeJS.Timeout | undefined;
  const startWorking = () => {
    metrics.leader.set(1);
    log.info({ identity: config.identity, workers: config.workers }, "leading: reconciling MCPServers");
    for (let i = 0; i < config.workers; i++) {
      workers.push(
        (async () => {
          for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
            try {
              await work(key);
            } finally {
              queue.done(key);
            }
          }
        })(),
      );
    }
    const waitForCaches = setInterval(() => {
      if (!synced.servers || !synced.grants) return;
      clearInterval(waitForCaches);
      enqueueAll();
    }, 100);
    resync = setInterval(enqueueAll, config.resyncMs);
    resync.unref();
  };

  const server = http.createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (path === "/metrics") {
      void metrics.registry.metrics().then((text) => {
        response.writeHead(200, { "content-type": metrics.registry.contentType });
        response.end(text);
      });
    } else if (path === "/livez") {
      response.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    } else if (path === "/readyz") {
      const ready = synced.servers && synced.grants && !stopping;
      response
        .writeHead(ready ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: ready ? "ok" : "unavailable", leader: elector.isLeader }));
    } else {
      response.writeHead(404, { "content-type": "application/json" }).end('{"status":"not found"}');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const bound = server.address();
  const address =
    typeof bound === "object" && bound !== null ? `http://${config.listen.host}:${bound.port}` : "";

  const elector = new LeaderElector(
    kube,
    { namespace: config.namespace, identity: config.identity, ...config.lease },
    log,
  );
  const leadership = new AbortController();
  let lostLease = false;
  const stopWorking = async () => {
    metrics.leader.set(0);
    queue.shutDown();
    if (resync !== undefined) clearInterval(resync);
    await Promise.all(workers);
  };
  const electing = elector.run(leadership.signal, startWorking, () => {
    lostLease = !leadership.signal.aborted;
  });

  let stopped: Promise<"stopped" | "lost-lease"> | undefined;
  const stop = async (): Promise<"stopped" | "lost-lease"> => {
    stopping = true;
    leadership.abort();
    await electing;
    await stopWorking();
    if (!lostLease) await elector.release();
    await Promise.all([servers.stop(), grants.stop()]);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    return lostLease ? "lost-lease" : "stopped";
  };
  const done = electing.then(() => {
    stopped ??= stop();
    return stopped;
  });
  return {
    metrics,
    address,
    stop: async () => {
      stopped ??= stop();
      await stopped;
    },
    stopped: done,
  };
}

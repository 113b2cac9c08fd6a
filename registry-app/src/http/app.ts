import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from "@opentelemetry/api";
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
} from "fastify";
import { stringify as stringifyYaml } from "yaml";
import type { Auth } from "../auth";
import { ProblemError } from "../errors";
import { UnstorableInputError } from "../schema/storable";
import type { ClassificationService, RegistryService } from "../service";
import { StoreRefusedValueError } from "../store";
import { registerCatalogue, type CatalogueSettings } from "../web";
import { registerStrictJsonParser } from "./body";
import { registerCors } from "./cors";
import { docsHtml, docsScript } from "./docs";
import { ConnectionDrainer } from "./drain";
import type { Metrics } from "./metrics";
import { buildOpenApiDocument } from "./openapi";
import { notFoundProblem, PROBLEM_CONTENT_TYPE, problemFromError, sendProblem, titleFor } from "./problem";
import { ReadCache } from "./read-cache";
import { registerClassificationRoutes } from "./classification-routes";
import { registerApiRoutes } from "./routes";

export const API_PREFIXES = ["/v0", "/v0.1"] as const;

export interface BuildFacts {
  version: string;
  gitCommit: string;
  buildTime: string;
}

export interface AppOptions {
  service: RegistryService;
  classifications: ClassificationService;
  auth: Auth;
  metrics: Metrics;
  /** Readiness: true when the database answers. */
  databaseReady: () => Promise<boolean>;
  build: BuildFacts;
  bodyLimit: number;
  trustProxy: boolean | number | string[];
  /** Fastify logger: pino options or false. */
  logger: FastifyServerOptions["logger"];
  /** Request spans (OpenTelemetry) only when an exporter is configured. */
  tracing: boolean;
  /** Byte budget of the read cache (0 = off). */
  readCacheMaxBytes: number;
  /** The web catalogue at / (src/web). */
  catalogue: CatalogueSettings;
}

export interface RegistryApp {
  app: FastifyInstance;
  /** Readiness answers 503 from now on (SIGTERM): load balancers stop sending new requests. */
  startDraining(): void;
  /** The server's connections, closed without resets when draining (src/server.ts drain). */
  connections: ConnectionDrainer;
}

declare module "fastify" {
  interface FastifyRequest {
    span?: Span;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Raw NUL, or an encoded one that would decode to NUL in a parameter. */
function hasNulByte(url: string): boolean {
  return url.includes("\0") || /%00/i.test(url);
}

type ChildArgs = Parameters<FastifyBaseLogger["child"]>;

/**
 * A request's logger that creates its pino child only when something is logged through it: most
 * requests never do, and creating a child runs redaction over its bindings. One small object per
 * request; the methods live on the prototype.
 */
class LazyRequestLogger implements FastifyBaseLogger {
  private created: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: ChildArgs[0],
    private readonly options: ChildArgs[1],
  ) {}

  private real(): FastifyBaseLogger {
    this.created ??= this.parent.child(this.bindings, this.options);
    return this.created;
  }

  get level(): string {
    return this.real().level;
  }
  set level(level: string) {
    this.real().level = level;
  }
  fatal(...args: Parameters<FastifyBaseLogger["fatal"]>): void {
    this.real().fatal(...args);
  }
  error(...args: Parameters<FastifyBaseLogger["error"]>): void {
    this.real().error(...args);
  }
  warn(...args: Parameters<FastifyBaseLogger["warn"]>): void {
    this.real().warn(...args);
  }
  info(...args: Parameters<FastifyBaseLogger["info"]>): void {
    this.real().info(...args);
  }
  debug(...args: Parameters<FastifyBaseLogger["debug"]>): void {
    this.real().debug(...args);
  }
  trace(...args: Parameters<FastifyBaseLogger["trace"]>): void {
    this.real().trace(...args);
  }
  silent(...args: Parameters<FastifyBaseLogger["silent"]>): void {
    this.real().silent(...args);
  }
  child(...args: ChildArgs): FastifyBaseLogger {
    return this.real().child(...args);
  }
}

/** Writes a problem+json response straight to a socket the HTTP parser gave up on. */
function writeClientError(socket: Socket, status: number, detail: string): void {
  if (!socket.writable) return;
  const body = JSON.stringify({ title: titleFor(status), status, detail });
  socket.end(
    `HTTP/1.1 ${status} ${titleFor(status)}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function buildApp(options: AppOptions): Promise<RegistryApp> {
  const { service, auth, metrics, build, bodyLimit } = options;
  let draining = false;

  const app = Fastify({
    logger: options.logger,
    // One "request completed" line per request comes from onResponse below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "request_id" }),
    childLoggerFactory: (logger, bindings, childOptions) =>
      new LazyRequestLogger(logger, bindings, childOptions),
    genReqId: (request: IncomingMessage) => {
      const incoming = request.headers["x-request-id"];
      return typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    bodyLimit,
    // A hop count becomes a function: the typings of Fastify do not list the numeric form.
    trustProxy:
      typeof options.trustProxy === "number"
        ? (
            (hops: number) => (_address: string, hop: number) =>
              hop < hops
          )(options.trustProxy)
        : options.trustProxy,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 1024 },
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
      writeClientError(
        socket,
        status,
        "The request could not be parsed (malformed request line, URL or headers).",
      );
    },
    frameworkErrors: (error, request, reply) => {
      const status = error.statusCode ?? 400;
      void sendProblem(reply, {
        title: titleFor(status),
        status,
        detail: `${error.message} (${request.method} ${request.url.split("?")[0] ?? ""})`,
      });
    },
  });

  // The API speaks JSON only: other media types are a 415, not a string handed to validation.
  app.removeContentTypeParser("text/plain");
  registerStrictJsonParser(app);

  app.setErrorHandler((error, request, reply) => {
    const { body, headers } = problemFromError(error, bodyLimit);
    if (!(error instanceof ProblemError) && body.status >= 500)
      request.log.error({ err: error }, "request failed");
    else if (body.status === 503)
      request.log.warn({ err: (error as Error).cause ?? error }, "dependency unavailable");
    else if (error instanceof StoreRefusedValueError)
      request.log.error(
        { err: error.cause, sql_state: error.sqlState },
        "the database refused a value of the request: a bug in edge validation, which should have refused it",
      );
    // /validate reports what the edge refused among its findings too.
    if (error instanceof UnstorableInputError && request.routeOptions.url?.endsWith("/validate"))
      body.issues = error.issues;
    void sendProblem(reply, body, headers);
  });

  app.setNotFoundHandler((request, reply) => {
    void sendProblem(reply, notFoundProblem(request));
  });

  // Runs for every request, matched or not: request id, NUL bytes, trailing slashes, tracing.
  app.addHook("onRequest", (request, reply, done) => {
    void reply.header("x-request-id", request.id);
    const url = request.raw.url ?? "/";
    if (hasNulByte(url)) {
      void sendProblem(reply, {
        title: titleFor(400),
        status: 400,
        detail: "NUL bytes are not allowed in the path or query.",
        errors: [{ location: "url", message: "contains a NUL byte" }],
      });
      return;
    }
    const [path = "/", query] = url.split(/\?(.*)/s, 2);
    if (path.length > 1 && path.endsWith("/")) {
      // One leading slash only: "//host/" must not become a protocol-relative redirect to another site.
      const target = `/${path.replace(/^\/+|\/+$/g, "")}${query !== undefined ? `?${query}` : ""}`;
      void reply.code(308).header("location", target).send();
      return;
    }
    if (!options.tracing) {
      done();
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = trace
      .getTracer("mcp-registry.http")
      .startSpan(
        `${request.method} ${request.routeOptions.url ?? "unmatched"}`,
        { kind: SpanKind.SERVER, attributes: { "http.request.method": request.method, "url.path": path } },
        parent,
      );
    request.span = span;
    // The rest of the request (handler, store queries) runs inside this span's context.
    context.with(trace.setSpan(parent, span), done);
  });

  registerCors(app);

  // The access line holds only fields chosen here (no headers, no bodies), so it skips redaction,
  // which otherwise costs more than the rest of the line.
  const accessLog = app.log.child({}, { redact: [] });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    const seconds = reply.elapsedTime / 1000;
    metrics.observeRequest(request.method, route, reply.statusCode, seconds);
    if (request.span !== undefined) {
      request.span.setAttribute("http.route", route);
      request.span.setAttribute("http.response.status_code", reply.statusCode);
      if (reply.statusCode >= 500) request.span.setStatus({ code: SpanStatusCode.ERROR });
      request.span.end();
    }
    accessLog.info(
      {
        request_id: request.id,
        method: request.method,
        url: request.url,
        route,
        status: reply.statusCode,
        ms: Math.round(seconds * 1000),
      },
      "request completed",
    );
  });

  const readCache = new ReadCache({
    maxBytes: options.readCacheMaxBytes,
    freshness: (name) => service.freshness(name),
    onLookup: (outcome) => metrics.readCacheLookups.inc({ outcome }),
  });
  metrics.readCacheBytes = () => readCache.size;

  const openApi = buildOpenApiDocument(build.version);
  const openApiJson = JSON.stringify(openApi);
  const openApiYaml = stringifyYaml(openApi, { aliasDuplicateObjects: false, lineWidth: 0 });
  const health = JSON.stringify({ status: "ok", github_client_id: auth.githubClientId });
  const versionJson = JSON.stringify({
    version: build.version,
    git_commit: build.gitCommit,
    build_time: build.buildTime,
  });

  const registerInfoRoutes = (scope: FastifyInstance): void => {
    scope.get("/health", async (_request, reply) =>
      reply.type("application/json; charset=utf-8").send(health),
    );
    scope.get("/ping", async () => ({ pong: true }));
    scope.get("/version", async (_request, reply) =>
      reply.type("application/json; charset=utf-8").send(versionJson),
    );
    scope.get("/openapi.json", async (_request, reply) =>
      reply.type("application/json; charset=utf-8").send(openApiJson),
    );
    scope.get("/openapi.yaml", async (_request, reply) =>
      reply.type("application/yaml; charset=utf-8").send(openApiYaml),
    );
    scope.get("/docs", async (_request, reply) =>
      reply
        .type("text/html; charset=utf-8")
        .header("content-security-policy", "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'")
        .send(docsHtml(build.version)),
    );
    scope.get("/docs/viewer.js", async (_request, reply) =>
      reply.type("text/javascript; charset=utf-8").send(docsScript),
    );
  };

  registerInfoRoutes(app);
  for (const prefix of API_PREFIXES) {
    await app.register(
      async (scope) => {
        registerInfoRoutes(scope);
        registerApiRoutes(scope, { service, auth, metrics, readCache });
        registerClassificationRoutes(scope, { classifications: options.classifications, auth, service });
      },
      { prefix },
    );
    auth.registerRoutes(app, prefix);
  }

  registerCatalogue(app, { settings: options.catalogue });

  // Kubernetes probes and Prometheus: same port, never behind the read guard.
  app.get("/livez", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    if (draining) {
      return sendProblem(reply, {
        title: titleFor(503),
        status: 503,
        detail: "Shutting down; not accepting new work.",
      });
    }
    if (!(await options.databaseReady())) {
      return sendProblem(reply, {
        title: titleFor(503),
        status: 503,
        detail: "The database is unreachable.",
      });
    }
    return { status: "ok" };
  });
  app.get("/metrics", async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  await app.ready();
  return {
    app,
    startDraining: () => {
      draining = true;
    },
    connections: new ConnectionDrainer(app.server),
  };
}

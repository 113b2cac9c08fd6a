import assert from "node:assert/strict";
import http from "node:http";
import { generateSigningKeyHex } from "../../src/auth";
import { freshDatabaseUrl } from "../support/postgres";
import { freePort, startMain, type MainProcess } from "../support/process";

const LANES = 32;
/** Responses before SIGTERM: every lane has a kept-alive connection by then and the load is steady. */
const BEFORE_SIGTERM = 600;

interface Outcome {
  lane: number;
  /** Sent on a connection that had already carried a response (kept alive). */
  reused: boolean;
  afterSigterm: boolean;
  /** The answer arrived after SIGTERM was sent. */
  answeredAfterSigterm?: boolean;
  status?: number;
  connectionClose?: boolean;
  error?: string;
}

/** One request on the lane's own keep-alive agent; resolves with what happened, never rejects. */
function send(
  agent: http.Agent,
  port: number,
  request: { method: string; path: string; body?: string; token?: string },
  lane: number,
  afterSigterm: () => boolean,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const sentAfterSigterm = afterSigterm();
    const headers: http.OutgoingHttpHeaders = {};
    if (request.body !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = Buffer.byteLength(request.body);
    }
    if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
    const outgoing = http.request(
      { host: "127.0.0.1", port, method: request.method, path: request.path, agent, headers },
      (response) => {
        response.resume();
        response.on("end", () =>
          resolve({
            lane,
            reused: outgoing.reusedSocket,
            afterSigterm: sentAfterSigterm,
            answeredAfterSigterm: afterSigterm(),
            status: response.statusCode,
            connectionClose: /close/i.test(String(response.headers.connection ?? "")),
          }),
        );
        response.on("error", failed);
      },
    );
    const failed = (error: NodeJS.ErrnoException) =>
      resolve({
        lane,
        reused: outgoing.reusedSocket,
        afterSigterm: sentAfterSigterm,
        error: error.code ?? error.message,
      });
    outgoing.on("error", failed);
    outgoing.end(request.body);
  });
}

/**
 * Issue 17: on SIGTERM about 4 of 32 kept-alive connections got ECONNRESET, a request sent just as the
 * server closed the idle socket. Against a real process under keep-alive load: no request sent on an
 * open connection is reset, only new connections are refused, and the process exits 0.
 */
describe("lifecycle: draining under keep-alive load", function () {
  this.timeout(180_000);
  let main: MainProcess | undefined;

  afterEach(() => {
    main?.child.kill("SIGKILL");
  });

  it(`SIGTERM in the middle of load on ${LANES} kept-alive connections: 0 resets, Connection: close, exit 0`, async () => {
    const port = await freePort();
    main = startMain([], {
      MCP_REGISTRY_DATABASE_URL: await freshDatabaseUrl("drain"),
      MCP_REGISTRY_JWT_PRIVATE_KEY: generateSigningKeyHex(),
      MCP_REGISTRY_SERVER_ADDRESS: `127.0.0.1:${port}`,
      MCP_REGISTRY_SHUTDOWN_GRACE_SECONDS: "30",
      MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "true",
      MCP_REGISTRY_PUBLISH_RATE_LIMIT_PER_MINUTE: "0",
      MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE: "0",
    });
    const running = main;
    await running.waitFor(/registry is serving/, 90_000);
    const login = await fetch(`http://127.0.0.1:${port}/v0.1/auth/none`, { method: "POST" });
    const { registry_token: token } = (await login.json()) as { registry_token: string };

    let sigtermAt: number | undefined;
    let completed = 0;
    const afterSigterm = () => sigtermAt !== undefined;
    const outcomes: Outcome[] = [];
    const agents = Array.from({ length: LANES }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));

    const lane = async (index: number): Promise<void> => {
      const agent = agents[index] as http.Agent;
      for (let n = 0; ; n++) {
        // Reads (cached and not), a probe and publishes: in-flight work of every kind at SIGTERM.
        const kind = n % 4;
        const request =
          kind === 0
            ? { method: "GET", path: "/v0.1/servers?limit=5" }
            : kind === 1
              ? { method: "GET", path: `/v0.1/servers?search=drain-${index}-${n}` }
              : kind === 2
                ? { method: "GET", path: "/livez" }
                : {
                    method: "POST",
                    path: "/v0.1/publish",
                    token,
                    body: JSON.stringify({
                      name: `io.modelcontextprotocol.anonymous/drain-${index}-${n}`,
                      version: "1.0.0",
                      description: "drain test",
                    }),
                  };
        const outcome = await send(agent, port, request, index, afterSigterm);
        outcomes.push(outcome);
        if (outcome.error !== undefined) return;
        completed += 1;
        if (sigtermAt === undefined && completed >= BEFORE_SIGTERM) {
          sigtermAt = Date.now();
          running.child.kill("SIGTERM");
        }
      }
    };
    const lanes = Array.from({ length: LANES }, (_, index) => lane(index));
    const { code, signal } = await running.exited;
    await Promise.all(lanes);
    for (const agent of agents) agent.destroy();

    assert.equal(signal, null);
    assert.equal(code, 0, running.stderr.join("\n"));
    assert.ok(sigtermAt !== undefined, "SIGTERM was sent under load");
    const failures = outcomes.filter(
      (outcome) => outcome.error !== undefined && outcome.error !== "ECONNREFUSED",
    );
    assert.deepEqual(failures, [], "no request was reset or cut");
    const refused = outcomes.filter((outcome) => outcome.error === "ECONNREFUSED");
    assert.ok(
      refused.every((outcome) => !outcome.reused && outcome.afterSigterm),
      "only new connections, opened after SIGTERM, were refused",
    );
    assert.equal(refused.length, LANES, "every lane ended on a refused new connection");
    const answered = outcomes.filter((outcome) => outcome.status !== undefined);
    assert.deepEqual(
      answered.filter((outcome) => (outcome.status ?? 0) >= 300).map((outcome) => outcome.status),
      [],
      "every request sent before the listener closed was answered normally",
    );
    assert.ok(
      answered.every((outcome) => !outcome.connectionClose || outcome.answeredAfterSigterm),
      "Connection: close only once draining",
    );
    // Each lane was told on a response before its connection closed.
    const told = new Set(
      answered.filter((outcome) => outcome.connectionClose).map((outcome) => outcome.lane),
    );
    assert.equal(told.size, LANES, `lanes told to close: ${told.size}`);
    const log = running.stdout.join("\n");
    assert.match(log, /"msg":"draining"/);
    assert.match(log, /"msg":"stopped"/);
    assert.doesNotMatch(log, /grace period over/, "the drain finished before the grace period");
    console.log(
      `      drain: ${answered.length} answered (${answered.filter((o) => o.afterSigterm).length} sent after SIGTERM), ` +
        `${refused.length} new connections refused, 0 resets`,
    );
  });
});

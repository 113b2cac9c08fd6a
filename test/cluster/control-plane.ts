// A real Kubernetes control plane on 127.0.0.1 for tests: Debian's etcd, and kube-apiserver and
// kube-controller-manager built from the Go module proxy (scripts/toolchain.sh). Its own PKI (openssl), its own data
// directory, free ports. No kubelet, scheduler or cloud: Pods are admitted and stored, never run.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { repoRoot } from "../support/program";
import { KubeClient } from "./kube-client";

export interface ControlPlane {
  /** The folder holding pki/, etcd/, logs/, kubeconfig and pids. */
  readonly dir: string;
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly client: KubeClient;
  /** Stops every process it started and, unless `keepData`, removes the folder. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface StartOptions {
  /** Folder for everything; created (must be empty or absent). */
  readonly dir: string;
  /** Where kube-apiserver and kube-controller-manager live (scripts/toolchain.sh prints it). */
  readonly binDir: string;
  /**
   * Detached: the processes outlive this Node process (`npm run cluster:up`); their pids go to `<dir>/pids`.
   * Attached (tests): they are killed when this process exits, whatever way it exits.
   */
  readonly detached?: boolean;
  /** Seconds to wait for the API server to report ready (a cold start on a busy 2-core machine takes ~30 s). */
  readonly readyTimeoutSeconds?: number;
  /** Also start kube-controller-manager (default true). */
  readonly controllers?: boolean;
}

export class ControlPlaneError extends Error {}

const SERVICE_CIDR = "10.96.0.0/16";

/** The binaries' folder from the cached toolchain, building it when the cache is cold. */
export function toolchainDir(): string {
  const result = spawnSync(path.join(repoRoot, "scripts", "toolchain.sh"), [], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (result.status !== 0) throw new ControlPlaneError(`scripts/toolchain.sh failed (exit ${result.status})`);
  const lines = result.stdout.trim().split("\n");
  return lines[lines.length - 1] ?? "";
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (result.error) throw new ControlPlaneError(`${command}: ${result.error.message}`);
  if (result.status !== 0)
    throw new ControlPlaneError(`${command} ${args.join(" ")} failed: ${result.stderr.trim()}`);
}

/** A CA, the API server's serving certificate, and client certificates for an admin and the controller manager. */
function writePki(pki: string): void {
  fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
  const openssl = (...args: string[]) => run("openssl", args, pki);
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=mcp-registry-test-ca",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  );
  const issue = (name: string, subject: string, extensions: string) => {
    fs.writeFileSync(path.join(pki, `${name}.ext`), extensions);
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      subject,
    );
    openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    );
  };
  issue(
    "apiserver",
    "/CN=kube-apiserver",
    "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n" +
      "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
  );
  issue("admin", "/O=system:masters/CN=mcp-registry-test-admin", "extendedKeyUsage=clientAuth\n");
  issue("controller-manager", "/CN=system:kube-controller-manager", "extendedKeyUsage=clientAuth\n");
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  fs.writeFileSync(path.join(pki, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }), {
    mode: 0o600,
  });
  fs.writeFileSync(path.join(pki, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
}

function kubeconfig(server: string, pki: string, user: string): string {
  const b64 = (file: string) => fs.readFileSync(path.join(pki, file)).toString("base64");
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: mcp-registry-test",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${b64("ca.crt")}`,
    "users:",
    `- name: ${user}`,
    "  user:",
    `    client-certificate-data: ${b64(`${user}.crt`)}`,
    `    client-key-data: ${b64(`${user}.key`)}`,
    "contexts:",
    "- name: mcp-registry-test",
    "  context:",
    "    cluster: mcp-registry-test",
    `    user: ${user}`,
    "current-context: mcp-registry-test",
    "",
  ].join("\n");
}

interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

function launch(name: string, command: string, args: string[], dir: string, detached: boolean): Started {
  if (!fs.existsSync(command)) throw new ControlPlaneError(`${name}: ${command} does not exist`);
  const log = fs.openSync(path.join(dir, "logs", `${name}.log`), "a");
  const child = spawn(command, args, { cwd: dir, detached, stdio: ["ignore", log, log] });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.once("error", () => undefined);
  if (child.pid !== undefined) fs.appendFileSync(path.join(dir, "pids"), `${child.pid} ${name}\n`);
  if (detached) child.unref();
  return { name, child, exited };
}

function lastLines(dir: string, name: string, count = 15): string {
  const file = path.join(dir, "logs", `${name}.log`);
  if (!fs.existsSync(file)) return "(no log)";
  return fs.readFileSync(file, "utf8").trim().split("\n").slice(-count).join("\n");
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  processes: readonly Started[],
  dir: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead: string | undefined;
  for (const p of processes) void p.exited.then(() => (dead ??= p.name));
  while (Date.now() < deadline) {
    if (dead !== undefined)
      throw new ControlPlaneError(
        `${dead} exited while waiting for ${what}; its log ends:\n${lastLines(dir, dead)}`,
      );
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  const logs = processes.map((p) => `--- ${p.name}:\n${lastLines(dir, p.name)}`).join("\n");
  throw new ControlPlaneError(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${logs}`);
}

function etcdBinary(): string {
  for (const candidate of ["/usr/bin/etcd", "/usr/local/bin/etcd"])
    if (fs.existsSync(candidate)) return candidate;
  throw new ControlPlaneError(
    "etcd is not installed: install Debian's etcd-server (apt-get install etcd-server)",
  );
}

/** Kills what a pids file lists (process groups when detached), waiting up to 10 s for each to go. */
export async function killRecorded(dir: string): Promise<number> {
  const file = path.join(dir, "pids");
  if (!fs.existsSync(file)) return 0;
  const pids = fs
    .readFileSync(file, "utf8")
    .split("\n")
    .map((line) => Number(line.split(" ")[0]))
    .filter((pid) => Number.isInteger(pid) && pid > 0)
    .reverse();
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  let killed = 0;
  for (const pid of pids) {
    if (!alive(pid)) continue;
    killed++;
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, "SIGKILL");
  }
  fs.rmSync(file, { force: true });
  return killed;
}

/** Starts etcd, kube-apiserver and (by default) kube-controller-manager; resolves once the API server is ready. */
export async function startControlPlane(options: StartOptions): Promise<ControlPlane> {
  const dir = path.resolve(options.dir);
  const detached = options.detached ?? false;
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0)
    throw new ControlPlaneError(
      `${dir} is not empty: a control plane may already use it (npm run cluster:down)`,
    );
  for (const binary of ["kube-apiserver", "kube-controller-manager"]) {
    if (!fs.existsSync(path.join(options.binDir, binary)))
      throw new ControlPlaneError(`${binary} is missing from ${options.binDir}: run scripts/toolchain.sh`);
  }
  const etcd = etcdBinary();
  fs.mkdirSync(path.join(dir, "logs"), { recursive: true });
  const pki = path.join(dir, "pki");
  writePki(pki);

  const [etcdPort, peerPort, apiPort, kcmPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  for (const port of [etcdPort, peerPort, apiPort, kcmPort]) {
    if (await portInUse(port!)) throw new ControlPlaneError(`port ${port} on 127.0.0.1 is already in use`);
  }
  const server = `https://127.0.0.1:${apiPort}`;
  const adminConfig = path.join(dir, "kubeconfig");
  fs.writeFileSync(adminConfig, kubeconfig(server, pki, "admin"), { mode: 0o600 });
  const kcmConfig = path.join(dir, "controller-manager.kubeconfig");
  fs.writeFileSync(kcmConfig, kubeconfig(server, pki, "controller-manager"), { mode: 0o600 });

  const processes: Started[] = [];
  const stopAll = async () => {
    await killRecorded(dir);
  };
  const onExit = () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill("SIGKILL");
  };
  if (!detached) process.once("exit", onExit);
  try {
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcdProcess = launch(
      "etcd",
      etcd,
      [
        "--name=test",
        `--data-dir=${path.join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=test=http://127.0.0.1:${peerPort}`,
        "--logger=zap",
        "--log-level=warn",
        // The data is thrown away with the folder: no fsync per write on a shared disk.
        "--unsafe-no-fsync",
      ],
      dir,
      detached,
    );
    processes.push(etcdProcess);
    await waitUntil("etcd", async () => (await fetch(`${etcdUrl}/health`)).ok, processes, dir, 30_000);
    const p = (file: string) => path.join(pki, file);
    const apiserver = launch(
      "kube-apiserver",
      path.join(options.binDir, "kube-apiserver"),
      [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--cert-dir=${path.join(dir, "apiserver-certs")}`,
        `--tls-cert-file=${p("apiserver.crt")}`,
        `--tls-private-key-file=${p("apiserver.key")}`,
        `--client-ca-file=${p("ca.crt")}`,
        `--service-account-key-file=${p("sa.pub")}`,
        `--service-account-signing-key-file=${p("sa.key")}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        "--authorization-mode=Node,RBAC",
        // PodSecurity is on by default; nodes must be allowed to exist without a kubelet behind them.
        "--allow-privileged=true",
        "--endpoint-reconciler-type=none",
        "--profiling=false",
        "--v=1",
      ],
      dir,
      detached,
    );
    processes.push(apiserver);
    const client = KubeClient.fromKubeconfig(adminConfig);
    await waitUntil(
      "kube-apiserver /readyz",
      async () => (await client.raw("GET", "/readyz")).status === 200,
      processes,
      dir,
      (options.readyTimeoutSeconds ?? 180) * 1000,
    );
    if (options.controllers ?? true) {
      const kcm = launch(
        "kube-controller-manager",
        path.join(options.binDir, "kube-controller-manager"),
        [
          `--kubeconfig=${kcmConfig}`,
          `--authentication-kubeconfig=${kcmConfig}`,
          `--authorization-kubeconfig=${kcmConfig}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${kcmPort}`,
          `--cert-dir=${path.join(dir, "controller-manager-certs")}`,
          `--service-account-private-key-file=${p("sa.key")}`,
          `--root-ca-file=${p("ca.crt")}`,
          `--cluster-signing-cert-file=${p("ca.crt")}`,
          `--cluster-signing-key-file=${p("ca.key")}`,
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
          "--leader-elect=false",
          // Each controller acts as its own ServiceAccount with the bootstrap RBAC roles, as in a real cluster.
          "--use-service-account-credentials=true",
          // No kubelet ever reports: these would mark every Node NotReady, taint it and evict its Pods.
          "--controllers=*,-node-lifecycle-controller,-taint-eviction-controller",
          "--v=1",
        ],
        dir,
        detached,
      );
      processes.push(kcm);
      // The service account controller creates `default` in every namespace once it runs.
      await waitUntil(
        "kube-controller-manager (the default ServiceAccount)",
        async () =>
          (await client.raw("GET", "/api/v1/namespaces/default/serviceaccounts/default")).status === 200,
        processes,
        dir,
        120_000,
      );
    }
    return {
      dir,
      kubeconfigPath: adminConfig,
      server,
      client,
      stop: async (stopOptions) => {
        if (!detached) process.off("exit", onExit);
        await stopAll();
        if (!stopOptions?.keepData) fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

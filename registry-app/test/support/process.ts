import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";

const APP_DIR = path.resolve(__dirname, "../..");

export interface MainProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves with the first stdout line matching, rejects on timeout or exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment of the test run without any MCP_REGISTRY_* variable of the developer's shell. */
function baseEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MCP_REGISTRY_")));
}

/** Runs `src/main.ts <args>` in a child process, the way the container runs dist/src/main.js. */
export function startMain(args: string[], env: Record<string, string>): MainProcess {
  // `--import tsx` (not tsx/cjs): main.ts loads commands with import(), which only tsx's ESM hooks resolve.
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
    cwd: APP_DIR,
    env: { ...baseEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  let buffer = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      stdout.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr?.on("data", (chunk: Buffer) =>
    stderr.push(...chunk.toString("utf8").split("\n").filter(Boolean)),
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const waitFor = (pattern: RegExp, timeoutMs = 60_000) => {
    const already = stdout.find((line) => pattern.test(line));
    if (already !== undefined) return Promise.resolve(already);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out waiting for ${pattern}; stdout: ${stdout.join("\n")}; stderr: ${stderr.join("\n")}`,
            ),
          ),
        timeoutMs,
      );
      waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void exited.then(({ code }) => {
        clearTimeout(timer);
        reject(
          new Error(
            `exited with ${code} before ${pattern}; stdout: ${stdout.join("\n")}; stderr: ${stderr.join("\n")}`,
          ),
        );
      });
    });
  };
  return { child, stdout, stderr, waitFor, exited };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

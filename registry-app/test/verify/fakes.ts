import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";

/** An answer of a fake: status, headers, body; "hang" never answers (a slow registry). */
export type Answer = { status: number; headers?: Record<string, string>; body?: string | Buffer } | "hang";
export type Route = (request: IncomingMessage) => Answer;

/**
 * One loopback HTTP server standing in for a package registry: exact paths (query ignored) map to
 * routes; everything else is a 404. It records every request (path and Authorization).
 */
export class Loopback {
  readonly seen: Array<{ method: string; path: string; authorization?: string }> = [];
  private readonly routes = new Map<string, Route>();
  private readonly open = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly base: string,
  ) {}

  static async start(host = "127.0.0.1"): Promise<Loopback> {
    const holder: { fake?: Loopback } = {};
    const server = createServer((request, response) => holder.fake?.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    holder.fake = new Loopback(server, `http://${host}:${port}`);
    return holder.fake;
  }

  get host(): string {
    return new URL(this.base).host;
  }

  on(path: string, route: Route | Answer): this {
    this.routes.set(path, typeof route === "function" ? route : () => route);
    return this;
  }

  requests(path: string): number {
    return this.seen.filter((request) => request.path === path).length;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    this.seen.push({ method: request.method ?? "GET", path, authorization: request.headers.authorization });
    const route = this.routes.get(path);
    const answer = route === undefined ? { status: 404, body: "{}" } : route(request);
    if (answer === "hang") {
      this.open.add(response);
      return;
    }
    response.writeHead(answer.status, answer.headers ?? {});
    response.end(request.method === "HEAD" ? undefined : answer.body);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export const json = (body: unknown, status = 200): Answer => ({
  status,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

export const sha256Hex = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

/** A route that answers only requests carrying this Authorization header (else 401, with a challenge). */
export function guarded(authorization: string, answer: Answer, challenge?: string): Route {
  return (request) =>
    request.headers.authorization === authorization
      ? answer
      : {
          status: 401,
          headers: challenge === undefined ? {} : { "www-authenticate": challenge },
          body: "{}",
        };
}

export const basicAuth = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** A zip archive (deflated entries) as wheels and .nupkg files are. */
export function zip(files: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text, "utf8");
    const packed = zlib.deflateRawSync(data);
    const nameBytes = Buffer.from(name, "utf8");
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A .tar.gz with regular files, as Python sdists are. */
export function tarGz(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [path, text] of Object.entries(files)) {
    const data = Buffer.from(text, "utf8");
    const header = Buffer.alloc(512);
    header.write(path, 0, 100, "utf8");
    header.write("0000644\0", 100);
    header.write("0000000\0", 108);
    header.write("0000000\0", 116);
    header.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
    header.write("00000000000\0", 136);
    header.write("        ", 148);
    header.write("0", 156);
    header.write("ustar\0", 257);
    header.write("00", 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(blocks));
}

/** An OCI image in a fake registry: config blob with labels, manifest, optionally an index over it. */
export function ociImage(
  registry: Loopback,
  repository: string,
  tag: string,
  labels: Record<string, string> | undefined,
  options: { index?: boolean; authorization?: string; challenge?: string; blobOn?: Loopback } = {},
): { manifestDigest: string; configDigest: string } {
  const protect = (answer: Answer): Route | Answer =>
    options.authorization === undefined ? answer : guarded(options.authorization, answer, options.challenge);
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", config: { Labels: labels } }),
  );
  const configDigest = `sha256:${sha256Hex(config)}`;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: configDigest,
        size: config.length,
      },
      layers: [],
    }),
  );
  const manifestDigest = `sha256:${sha256Hex(manifest)}`;
  const manifestAnswer: Answer = {
    status: 200,
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  };
  registry.on(`/v2/${repository}/manifests/${manifestDigest}`, protect(manifestAnswer));
  if (options.index) {
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { digest: `sha256:${"0".repeat(64)}`, platform: { os: "unknown", architecture: "unknown" } },
        { digest: manifestDigest, platform: { os: "linux", architecture: "amd64" } },
      ],
    });
    registry.on(
      `/v2/${repository}/manifests/${tag}`,
      protect({
        status: 200,
        headers: { "content-type": "application/vnd.oci.image.index.v1+json" },
        body: index,
      }),
    );
  } else {
    registry.on(`/v2/${repository}/manifests/${tag}`, protect(manifestAnswer));
  }
  const blobPath = `/v2/${repository}/blobs/${configDigest}`;
  if (options.blobOn !== undefined) {
    // Registries hand blobs to a storage host: a redirect to another host, checked against the digest there.
    options.blobOn.on(`/cdn/${configDigest}`, { status: 200, body: config });
    registry.on(
      blobPath,
      protect({ status: 307, headers: { location: `${options.blobOn.base}/cdn/${configDigest}` } }),
    );
  } else {
    registry.on(blobPath, protect({ status: 200, body: config }));
  }
  return { manifestDigest, configDigest };
}

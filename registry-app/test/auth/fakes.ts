import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type KeyLike } from "jose";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, baseUrl: `http://127.0.0.1:${port}` };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

interface SigningKey {
  kid: string;
  privateKey: KeyLike;
  publicJwk: JWK;
}

async function newKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}

/** An OIDC issuer on loopback: discovery document, JWKS, and tokens signed by the test. */
export class FakeOidcIssuer {
  readonly requests = { discovery: 0, jwks: 0 };
  /** When set, the discovery document claims this issuer instead of its own URL. */
  discoveryIssuerOverride: string | undefined;
  private keys: SigningKey[] = [];

  private constructor(
    private readonly server: Server,
    readonly issuer: string,
  ) {}

  static async start(): Promise<FakeOidcIssuer> {
    const holder: { issuer?: FakeOidcIssuer } = {};
    const { server, baseUrl } = await listen((req, res) => holder.issuer?.handle(req, res));
    const issuer = new FakeOidcIssuer(server, baseUrl);
    issuer.keys.push(await newKey("key-1"));
    holder.issuer = issuer;
    return issuer;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.url === "/.well-known/openid-configuration") {
      this.requests.discovery += 1;
      json(res, 200, {
        issuer: this.discoveryIssuerOverride ?? this.issuer,
        jwks_uri: `${this.issuer}/jwks`,
      });
    } else if (req.url === "/jwks") {
      this.requests.jwks += 1;
      json(res, 200, { keys: this.keys.map((key) => key.publicJwk) });
    } else {
      json(res, 404, {});
    }
  }

  /** Publishes a new key (rotation); tokens signed afterwards use it. */
  async rotate(kid: string): Promise<void> {
    this.keys.push(await newKey(kid));
  }

  /** Signs claims with the newest published key; `foreignKey` signs with a key the JWKS does not hold. */
  async sign(
    claims: JWTPayload,
    options: { foreignKey?: boolean; kid?: string; nowSeconds: number; expiresIn?: number; nbf?: number },
  ): Promise<string> {
    const published = this.keys[this.keys.length - 1] as SigningKey;
    const key = options.foreignKey ? await newKey(published.kid) : published;
    const jwt = new SignJWT({ iss: this.issuer, ...claims })
      .setProtectedHeader({ alg: "RS256", kid: options.kid ?? key.kid, typ: "JWT" })
      .setIssuedAt(options.nowSeconds)
      .setExpirationTime(options.nowSeconds + (options.expiresIn ?? 300));
    if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
    return jwt.sign(key.privateKey);
  }

  close(): Promise<void> {
    return close(this.server);
  }
}

export interface FakeGitHubUser {
  login: string;
  orgs: string[];
}

/** A GitHub REST API on loopback under an optional path prefix (GHE serves under /api/v3). */
export class FakeGitHub {
  readonly seen: { path: string; authorization: string | undefined; userAgent: string | undefined }[] = [];
  /** Per-path overrides: raw status/body, or "hang" to never answer. */
  readonly overrides = new Map<string, { status: number; body: string } | "hang">();

  private constructor(
    private readonly server: Server,
    readonly apiUrl: string,
    private readonly users: Map<string, FakeGitHubUser>,
  ) {}

  static async start(users: Record<string, FakeGitHubUser>, pathPrefix = ""): Promise<FakeGitHub> {
    const holder: { github?: FakeGitHub } = {};
    const { server, baseUrl } = await listen((req, res) => holder.github?.handle(req, res, pathPrefix));
    holder.github = new FakeGitHub(server, `${baseUrl}${pathPrefix}`, new Map(Object.entries(users)));
    return holder.github;
  }

  private handle(req: IncomingMessage, res: ServerResponse, prefix: string): void {
    const path = (req.url ?? "").startsWith(prefix) ? (req.url ?? "").slice(prefix.length) : "";
    this.seen.push({ path, authorization: req.headers.authorization, userAgent: req.headers["user-agent"] });
    const override = this.overrides.get(path.split("?")[0] ?? "");
    if (override === "hang") return;
    if (override !== undefined) {
      res.writeHead(override.status, { "content-type": "application/json" });
      res.end(override.body);
      return;
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const user = token === undefined ? undefined : this.users.get(token);
    if (user === undefined) {
      json(res, 401, { message: "Bad credentials" });
      return;
    }
    if (path === "/user") {
      json(res, 200, { login: user.login, id: 1 });
      return;
    }
    const orgs = /^\/users\/([^/?]+)\/orgs(\?.*)?$/.exec(path);
    if (orgs && decodeURIComponent(orgs[1] ?? "") === user.login) {
      json(
        res,
        200,
        user.orgs.map((login) => ({ login })),
      );
      return;
    }
    json(res, 404, { message: "Not Found" });
  }

  close(): Promise<void> {
    return close(this.server);
  }
}

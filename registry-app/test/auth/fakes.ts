import { createHash, randomBytes } from "node:crypto";
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

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

/** Browsers call discovery and the token endpoint from the page's origin (public client). */
const CORS = { "access-control-allow-origin": "*" };

/** A public client of the fake issuer's browser sign-in: who it is, where codes may go, who signs in. */
export interface FakeOidcClient {
  clientId: string;
  redirectUris: string[];
  /** Claims of the user the authorization endpoint signs in without asking (sub, name, ...). */
  user: JWTPayload;
}

interface PendingCode {
  client: FakeOidcClient;
  redirectUri: string;
  challenge: string;
  nonce: string | undefined;
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

/**
 * An OIDC issuer on loopback: discovery document, JWKS, and tokens signed by the test. For browser
 * sign-ins it also has an authorization endpoint (authorization code + PKCE S256, public clients
 * registered with `registerClient`, the client's user signed in without a form) and a token endpoint.
 */
export class FakeOidcIssuer {
  readonly requests = { discovery: 0, jwks: 0 };
  /** Calls of the browser sign-in's endpoints. */
  readonly browserRequests = { authorize: 0, token: 0 };
  /** When set, the discovery document claims this issuer instead of its own URL. */
  discoveryIssuerOverride: string | undefined;
  /** Lifetime of the ID tokens the token endpoint issues. */
  idTokenSeconds = 300;
  private keys: SigningKey[] = [];
  private readonly clients = new Map<string, FakeOidcClient>();
  private readonly codes = new Map<string, PendingCode>();

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

  registerClient(client: FakeOidcClient): void {
    this.clients.set(client.clientId, client);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "").split("?")[0];
    if (req.url === "/.well-known/openid-configuration") {
      this.requests.discovery += 1;
      json(
        res,
        200,
        {
          issuer: this.discoveryIssuerOverride ?? this.issuer,
          jwks_uri: `${this.issuer}/jwks`,
          authorization_endpoint: `${this.issuer}/authorize`,
          token_endpoint: `${this.issuer}/token`,
          response_types_supported: ["code"],
          code_challenge_methods_supported: ["S256"],
        },
        CORS,
      );
    } else if (req.url === "/jwks") {
      this.requests.jwks += 1;
      json(res, 200, { keys: this.keys.map((key) => key.publicJwk) });
    } else if (path === "/authorize" && req.method === "GET") {
      this.browserRequests.authorize += 1;
      this.authorize(new URL(req.url ?? "", this.issuer), res);
    } else if (path === "/token" && req.method === "OPTIONS") {
      res.writeHead(204, { ...CORS, "access-control-allow-headers": "content-type, accept" });
      res.end();
    } else if (path === "/token" && req.method === "POST") {
      this.browserRequests.token += 1;
      readBody(req).then(
        (body) => this.token(new URLSearchParams(body), res),
        () => json(res, 400, { error: "invalid_request" }, CORS),
      );
    } else {
      json(res, 404, {});
    }
  }

  /** Signs the client's user in at once and sends the browser back with a one-time code. */
  private authorize(url: URL, res: ServerResponse): void {
    const params = url.searchParams;
    const client = this.clients.get(params.get("client_id") ?? "");
    const redirectUri = params.get("redirect_uri") ?? "";
    if (client === undefined || !client.redirectUris.includes(redirectUri)) {
      // Never redirect to an unregistered URI (RFC 6749 §4.1.2.1): the error stays on the issuer.
      json(res, 400, { error: "invalid_request", error_description: "unknown client or redirect_uri" });
      return;
    }
    const back = new URL(redirectUri);
    const state = params.get("state");
    if (state !== null) back.searchParams.set("state", state);
    const challenge = params.get("code_challenge");
    if (
      params.get("response_type") !== "code" ||
      challenge === null ||
      params.get("code_challenge_method") !== "S256"
    ) {
      back.searchParams.set("error", "invalid_request");
      back.searchParams.set("error_description", "authorization code with PKCE S256 required");
    } else {
      const code = randomBytes(16).toString("hex");
      this.codes.set(code, { client, redirectUri, challenge, nonce: params.get("nonce") ?? undefined });
      back.searchParams.set("code", code);
    }
    res.writeHead(302, { location: back.toString() });
    res.end();
  }

  /** Exchanges a code once, checking the PKCE verifier, client and redirect URI. */
  private token(form: URLSearchParams, res: ServerResponse): void {
    const code = form.get("code") ?? "";
    const pending = this.codes.get(code);
    this.codes.delete(code);
    const verifier = form.get("code_verifier") ?? "";
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    if (
      form.get("grant_type") !== "authorization_code" ||
      pending === undefined ||
      pending.client.clientId !== form.get("client_id") ||
      pending.redirectUri !== form.get("redirect_uri") ||
      pending.challenge !== challenge
    ) {
      json(res, 400, { error: "invalid_grant" }, CORS);
      return;
    }
    const nowSeconds = Math.floor(Date.now() / 1000);
    this.sign(
      {
        ...pending.client.user,
        aud: pending.client.clientId,
        ...(pending.nonce && { nonce: pending.nonce }),
      },
      { nowSeconds, expiresIn: this.idTokenSeconds },
    ).then(
      (idToken) =>
        json(
          res,
          200,
          {
            id_token: idToken,
            access_token: randomBytes(16).toString("hex"),
            token_type: "Bearer",
            expires_in: this.idTokenSeconds,
          },
          { ...CORS, "cache-control": "no-store" },
        ),
      () => json(res, 500, { error: "server_error" }, CORS),
    );
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

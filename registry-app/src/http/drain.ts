import type { IncomingMessage, Server, ServerResponse } from "node:http";
import net, { type Socket } from "node:net";

interface Connection {
  inFlight: Set<ServerResponse>;
  /** When its last response finished (or it was accepted). */
  idleSince: number;
}

/** How often a drain looks for connections that stayed idle long enough. */
const SWEEP_MS = 50;

/**
 * The HTTP connections of a server, tracked so that a drain closes a keep-alive connection only after
 * its client was told (`Connection: close` on a response) or after it stayed idle for a grace period:
 * closing an idle socket at once resets a request the client is sending on it at that moment.
 */
export class ConnectionDrainer {
  private readonly connections = new Map<Socket, Connection>();
  private draining = false;

  constructor(
    private readonly server: Server,
    private readonly now: () => number = Date.now,
  ) {
    server.on("connection", (socket: Socket) => {
      this.connections.set(socket, { inFlight: new Set(), idleSince: this.now() });
      socket.once("close", () => this.connections.delete(socket));
    });
    // Before Fastify's listener, so a request that arrives during the drain is marked before it runs.
    server.prependListener("request", (request: IncomingMessage, response: ServerResponse) => {
      const connection = this.connections.get(request.socket);
      if (connection === undefined) return;
      connection.inFlight.add(response);
      if (this.draining) closeAfter(response);
      response.once("close", () => {
        connection.inFlight.delete(response);
        connection.idleSince = this.now();
      });
    });
  }

  /** Open connections (for tests and logs). */
  get size(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting, answers every in-flight and later request with `Connection: close`, and closes
   * each connection that has been idle for `idleGraceMs` (counted from the drain's start at the
   * earliest). Resolves true once every connection is closed, false if some were still open at
   * `deadlineMs` (the caller cuts them).
   */
  async drain(idleGraceMs: number, deadlineMs: number): Promise<boolean> {
    const started = this.now();
    this.draining = true;
    // net.Server's close, not http.Server's: the latter also destroys idle connections at once.
    if (this.server.listening) net.Server.prototype.close.call(this.server);
    for (const connection of this.connections.values()) {
      for (const response of connection.inFlight) closeAfter(response);
    }
    while (this.connections.size > 0) {
      const now = this.now();
      if (now - started >= deadlineMs) return false;
      for (const [socket, connection] of this.connections) {
        if (connection.inFlight.size === 0 && now - Math.max(connection.idleSince, started) >= idleGraceMs) {
          socket.destroy();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, SWEEP_MS));
    }
    return true;
  }
}

/** Node closes the connection after a response that carries `Connection: close`. */
function closeAfter(response: ServerResponse): void {
  if (!response.headersSent) response.setHeader("connection", "close");
}

import { edit, publish, type LoginMethod } from "./common";

/** The namespace anonymous tokens may use (same as the official registry). */
export const ANONYMOUS_NAMESPACE = "io.modelcontextprotocol.anonymous";

/** POST /auth/none: publish and edit on io.modelcontextprotocol.anonymous/*, for development only. */
export function noneMethod(): LoginMethod {
  return {
    path: "none",
    exchange: async () => ({
      method: "none",
      subject: "anonymous",
      permissions: [publish(`${ANONYMOUS_NAMESPACE}/*`), edit(`${ANONYMOUS_NAMESPACE}/*`)],
    }),
  };
}

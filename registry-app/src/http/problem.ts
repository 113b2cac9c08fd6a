import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import { ProblemError } from "../errors";
import type { validationProblemSchema } from "./schemas";

export const PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8";

/** The body of every error response; its schema is the `Problem` component of the OpenAPI document. */
export type ProblemBody = z.output<typeof validationProblemSchema>;

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

export function titleFor(status: number): string {
  return TITLES[status] ?? (status >= 500 ? "Server Error" : "Client Error");
}

export function sendProblem(
  reply: FastifyReply,
  problem: ProblemBody,
  headers: Record<string, string> = {},
): FastifyReply {
  const body: ProblemBody = { title: problem.title, status: problem.status, detail: problem.detail };
  if (problem.errors !== undefined && problem.errors.length > 0) body.errors = problem.errors;
  if (problem.issues !== undefined) body.issues = problem.issues;
  return reply.status(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(body);
}

/** What Fastify's own client errors mean, in words a client can act on. */
function describeFrameworkError(error: FastifyError, bodyLimit: number): ProblemBody {
  const status = error.statusCode ?? 500;
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        title: titleFor(413),
        status: 413,
        detail: `The request body is larger than the limit of ${bodyLimit} bytes.`,
        errors: [{ location: "body", message: `at most ${bodyLimit} bytes` }],
      };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return {
        title: titleFor(415),
        status: 415,
        detail: "Send the request body as application/json.",
        errors: [{ location: "header.content-type", message: "must be application/json" }],
      };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return {
        title: titleFor(400),
        status: 400,
        detail: "The request body is empty; send a JSON document.",
        errors: [{ location: "body", message: "required" }],
      };
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return { title: titleFor(400), status: 400, detail: "Content-Length does not match the body." };
    default:
      break;
  }
  if (error instanceof SyntaxError || error.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
    return {
      title: titleFor(400),
      status: 400,
      detail: `The request body is not valid JSON: ${error.message}`,
      errors: [{ location: "body", message: "malformed JSON" }],
    };
  }
  return { title: titleFor(status), status, detail: error.message };
}

/** Turns any thrown error into problem+json; 5xx details stay in the log, never in the response. */
export function problemFromError(
  error: unknown,
  bodyLimit: number,
): { body: ProblemBody; headers: Record<string, string> } {
  if (error instanceof ProblemError) {
    return {
      body: { title: error.title, status: error.status, detail: error.detail, errors: error.errors },
      headers: error.headers,
    };
  }
  const fastifyError = error as FastifyError;
  const status = typeof fastifyError.statusCode === "number" ? fastifyError.statusCode : 500;
  if (status >= 400 && status < 500)
    return { body: describeFrameworkError(fastifyError, bodyLimit), headers: {} };
  return {
    body: { title: titleFor(500), status: 500, detail: "An unexpected error occurred; it has been logged." },
    headers: {},
  };
}

/** The 404 of unknown routes points to where the API and its documentation live. */
export function notFoundProblem(request: FastifyRequest): ProblemBody {
  const path = request.url.split("?")[0] ?? "";
  let hint = "The API lives under /v0.1 (and /v0); its documentation is at /docs.";
  if (/^\/v0(\.1)?\/servers\/[^/]+\/[^/]+\/versions/.test(path)) {
    hint = `Server names must be URL-encoded in paths (io.github.acme%2Fweather). ${hint}`;
  }
  return { title: titleFor(404), status: 404, detail: `No route for ${request.method} ${path}. ${hint}` };
}

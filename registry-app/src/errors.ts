/** One field-level problem inside an RFC 7807 response (`errors[]`). */
export interface FieldProblem {
  /** JSON-pointer-like location of the bad value, e.g. `body.packages[0].registryType`. */
  location: string;
  message: string;
  value?: unknown;
}

/**
 * An error that the HTTP layer renders as `application/problem+json`
 * `{title, status, detail, errors?}`. Every layer may throw it; only `http` renders it.
 */
export class ProblemError extends Error {
  readonly status: number;
  readonly title: string;
  readonly errors: FieldProblem[] | undefined;
  /** Extra response headers, e.g. `Retry-After` on a 429. */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    title: string,
    detail: string,
    options: { errors?: FieldProblem[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = "ProblemError";
    this.status = status;
    this.title = title;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }

  get detail(): string {
    return this.message;
  }
}

/** 400 naming every bad field, its detail one line of `location: message` pairs. */
export function badRequest(errors: FieldProblem[]): ProblemError {
  return new ProblemError(400, "Bad Request", errors.map((e) => `${e.location}: ${e.message}`).join("; "), {
    errors,
  });
}

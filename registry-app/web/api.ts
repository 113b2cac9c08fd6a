import type { CategoryList, Problem, ServerList, ServerResponse } from "./types";

/** An API answer that is not a success, in words a person can act on. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly fields: { location: string; message: string }[] = [],
  ) {
    super(`${title}: ${detail}`);
    this.name = "ApiError";
  }
}

export type TokenSource = () => string | undefined;

/** `/v0.1` API calls of the page; with private reads each carries the signed-in user's token. */
export class Api {
  constructor(private readonly token: TokenSource) {}

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    const token = this.token();
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await fetch(`/v0.1${path}`, { headers, signal });
    } catch (error) {
      if ((error as Error).name === "AbortError") throw error;
      throw new ApiError(
        0,
        "Registry unreachable",
        "The registry did not answer. Check your connection and retry.",
      );
    }
    if (response.ok) return (await response.json()) as T;
    throw await problemOf(response);
  }

  servers(params: URLSearchParams, signal?: AbortSignal): Promise<ServerList> {
    return this.get<ServerList>(`/servers?${params.toString()}`, signal);
  }

  categories(): Promise<CategoryList> {
    return this.get<CategoryList>("/categories");
  }

  versions(name: string, signal?: AbortSignal): Promise<ServerList> {
    return this.get<ServerList>(`/servers/${encodeURIComponent(name)}/versions?include_deleted=true`, signal);
  }

  version(name: string, version: string, signal?: AbortSignal): Promise<ServerResponse> {
    const path = `/servers/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;
    return this.get<ServerResponse>(`${path}?include_deleted=true`, signal);
  }
}

async function problemOf(response: Response): Promise<ApiError> {
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    try {
      const problem = (await response.json()) as Partial<Problem>;
      if (typeof problem.detail === "string") {
        return new ApiError(
          response.status,
          problem.title ?? `HTTP ${response.status}`,
          problem.detail,
          problem.errors?.map(({ location, message }) => ({ location, message })) ?? [],
        );
      }
    } catch {
      // A body that is not the JSON it claims: described below like any other.
    }
  }
  return new ApiError(
    response.status,
    `HTTP ${response.status}`,
    `The registry answered ${response.status} ${response.statusText || ""}`.trim() +
      " without an explanation.",
  );
}

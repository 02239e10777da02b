/** The typed API client: openapi-fetch over the generated schema, every request through the session. */
import createClient, { type Client } from "openapi-fetch";
import { ApiError, detailOf } from "./errors";
import type { paths } from "./schema";
import { Session } from "./session";

export type ApiClient = Client<paths>;

export function createApiClient(session: Session): ApiClient {
  return createClient<paths>({ baseUrl: session.baseUrl, fetch: (request) => session.fetch(request) });
}

/** The data of an openapi-fetch result, or the API's own message as an ApiError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    const retry = Number(result.response.headers.get("Retry-After"));
    throw new ApiError(
      result.response.status,
      detailOf(result.error, result.response.status),
      (result.error as { errors?: unknown[] } | undefined)?.errors,
      Number.isFinite(retry) && retry > 0 ? retry : undefined,
    );
  }
  return result.data as T;
}

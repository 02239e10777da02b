/** The API's one error model, `{detail, errors?}`, as an exception the UI can show as is. */
export interface ApiErrorBody {
  detail?: unknown;
  errors?: unknown[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly errors: unknown[] | undefined;
  readonly retryAfter: number | undefined;

  constructor(status: number, detail: string, errors?: unknown[], retryAfter?: number) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.errors = errors;
    this.retryAfter = retryAfter;
  }
}

/** The API could not be reached at all (down, offline): the UI shows "reconnecting", not an error. */
export class NetworkError extends Error {
  constructor(message = "The server cannot be reached") {
    super(message);
    this.name = "NetworkError";
  }
}

/** A person-readable message from whatever the API answered (FastAPI's 422 detail is a list). */
export function detailOf(body: unknown, status: number): string {
  const detail = (body as ApiErrorBody | null)?.detail;
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail) && detail.length > 0) {
    return detail
      .map((item) => (typeof item === "object" && item && "msg" in item ? String((item as { msg: unknown }).msg) : String(item)))
      .join("; ");
  }
  return `The server answered ${status}`;
}

export async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.clone().json();
  } catch {
    body = null;
  }
  const retry = Number(response.headers.get("Retry-After"));
  return new ApiError(
    response.status,
    detailOf(body, response.status),
    (body as ApiErrorBody | null)?.errors,
    Number.isFinite(retry) && retry > 0 ? retry : undefined,
  );
}

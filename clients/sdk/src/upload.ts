/**
 * Uploads with real progress: fetch cannot report upload progress, XMLHttpRequest can
 * (and exists in browsers and React Native alike).
 */
import { ApiError, NetworkError, detailOf } from "./errors";
import { API_PREFIX, Session } from "./session";

export interface UploadProgress {
  loaded: number;
  total: number;
}

export interface UploadOptions {
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
  /** Sent as `Idempotency-Key`: a retry of the same upload answers the first invoice instead of a second one. */
  idempotencyKey?: string;
}

function send(
  session: Session,
  body: FormData | string,
  options: UploadOptions,
  path = "/invoices/upload",
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${session.baseUrl}${API_PREFIX}${path}`);
    if (session.accessToken) xhr.setRequestHeader("Authorization", `Bearer ${session.accessToken}`);
    if (options.idempotencyKey) xhr.setRequestHeader("Idempotency-Key", options.idempotencyKey);
    if (typeof body === "string") xhr.setRequestHeader("Content-Type", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) options.onProgress?.({ loaded: event.loaded, total: event.total });
    };
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => reject(new NetworkError());
    xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    options.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

/** POST /invoices/upload (multipart); resolves with the 202 body, throws the API's message otherwise. */
export async function uploadInvoice<T = unknown>(
  session: Session,
  file: Blob,
  filename: string,
  options: UploadOptions = {},
): Promise<T> {
  const form = () => {
    const body = new FormData();
    body.append("file", file, filename);
    return body;
  };
  if (session.expiresSoon()) await session.refresh().catch(() => null);
  let answer = await send(session, form(), options);
  if (answer.status === 401 && (await session.refresh()) !== null) answer = await send(session, form(), options);
  return answerOf<T>(answer);
}

/** POST /invoices as the mobile app sends it: JSON with the file in base64; same answers as `uploadInvoice`. */
export async function uploadInvoiceBase64<T = unknown>(
  session: Session,
  contentBase64: string,
  filename: string,
  options: UploadOptions = {},
): Promise<T> {
  const body = JSON.stringify({ filename, content_base64: contentBase64 });
  if (session.expiresSoon()) await session.refresh().catch(() => null);
  let answer = await send(session, body, options, "/invoices");
  if (answer.status === 401 && (await session.refresh()) !== null) answer = await send(session, body, options, "/invoices");
  return answerOf<T>(answer);
}

function answerOf<T>(answer: { status: number; text: string }): T {
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    parsed = null;
  }
  if (answer.status < 200 || answer.status >= 300) throw new ApiError(answer.status, detailOf(parsed, answer.status));
  return parsed as T;
}

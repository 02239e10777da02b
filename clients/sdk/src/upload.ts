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
}

function send(session: Session, body: FormData, options: UploadOptions): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${session.baseUrl}${API_PREFIX}/invoices/upload`);
    if (session.accessToken) xhr.setRequestHeader("Authorization", `Bearer ${session.accessToken}`);
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
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    parsed = null;
  }
  if (answer.status < 200 || answer.status >= 300) throw new ApiError(answer.status, detailOf(parsed, answer.status));
  return parsed as T;
}

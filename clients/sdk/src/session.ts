/**
 * The session: who is signed in and their access token, kept in memory only.
 *
 * The refresh token lives wherever the platform keeps secrets: for the web app an HttpOnly cookie
 * the browser sends to /api/v1/auth (JavaScript never sees it; the CSRF header proves the request
 * comes from the app), for the mobile app the platform's secure storage (a `RefreshTokenStore`).
 */
import { ApiError, NetworkError, errorFromResponse } from "./errors";

export const CSRF_HEADER = "X-Requested-With";
export const CSRF_VALUE = "invoicer";
export const API_PREFIX = "/api/v1";

export interface RefreshTokenStore {
  load(): Promise<string | null>;
  save(token: string | null): Promise<void>;
}

export interface SessionOptions {
  /** Origin of the API, "" for the same origin (the web app). */
  baseUrl?: string;
  /** Where the refresh token is kept; "cookie" for browsers. */
  refreshTokens?: "cookie" | RefreshTokenStore;
  fetch?: typeof fetch;
}

export type SessionState = "unknown" | "signed-in" | "signed-out";
export type SignOutReason = "signed-out" | "revoked" | "expired";

export interface SessionSnapshot {
  state: SessionState;
  /** Why the person was signed out, when it was not their own choice. */
  reason: SignOutReason | null;
}

interface TokenPair {
  access_token: string;
  refresh_token?: string | null;
  expires_in: number;
}

export class Session {
  readonly baseUrl: string;
  private readonly store: "cookie" | RefreshTokenStore;
  private readonly fetchImpl: typeof fetch;
  private token: string | null = null;
  private expiresAt = 0;
  private refreshing: Promise<string | null> | null = null;
  private snapshot: SessionSnapshot = { state: "unknown", reason: null };
  private readonly listeners = new Set<(snapshot: SessionSnapshot) => void>();

  constructor(options: SessionOptions = {}) {
    this.baseUrl = options.baseUrl ?? "";
    this.store = options.refreshTokens ?? "cookie";
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  get accessToken(): string | null {
    return this.token;
  }

  get current(): SessionSnapshot {
    return this.snapshot;
  }

  subscribe(listener: (snapshot: SessionSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(state: SessionState, reason: SignOutReason | null): void {
    if (this.snapshot.state === state && this.snapshot.reason === reason) return;
    this.snapshot = { state, reason };
    for (const listener of this.listeners) listener(this.snapshot);
  }

  private url(path: string): string {
    return `${this.baseUrl}${API_PREFIX}${path}`;
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(this.url(path), { credentials: "same-origin", ...init });
    } catch {
      throw new NetworkError();
    }
  }

  private async accept(pair: TokenPair): Promise<void> {
    this.token = pair.access_token;
    this.expiresAt = Date.now() + pair.expires_in * 1000;
    if (this.store !== "cookie") await this.store.save(pair.refresh_token ?? null);
    this.set("signed-in", null);
  }

  /** Sign in with the OAuth2 password form; the API's message (wrong password, locked out) is thrown as ApiError. */
  async login(email: string, password: string): Promise<void> {
    const response = await this.send("/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", [CSRF_HEADER]: CSRF_VALUE },
      body: new URLSearchParams({ username: email, password }).toString(),
    });
    if (!response.ok) throw await errorFromResponse(response);
    await this.accept((await response.json()) as TokenPair);
  }

  /**
   * A new access token from the refresh token; concurrent callers share one request.
   * Returns null and signs out when the chain was revoked or expired; throws NetworkError when the API is down.
   */
  refresh(): Promise<string | null> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<string | null> {
    const headers: Record<string, string> = { [CSRF_HEADER]: CSRF_VALUE };
    let body: string | undefined;
    if (this.store !== "cookie") {
      const stored = await this.store.load();
      if (!stored) {
        this.signedOut(this.snapshot.state === "signed-in" ? "expired" : null);
        return null;
      }
      headers["Content-Type"] = "application/json";
      body = JSON.stringify({ refresh_token: stored });
    }
    const response = await this.send("/auth/refresh", { method: "POST", headers, body });
    if (response.status === 401 || response.status === 403) {
      this.signedOut(this.snapshot.state === "signed-in" ? "revoked" : null);
      return null;
    }
    if (!response.ok) throw await errorFromResponse(response);
    await this.accept((await response.json()) as TokenPair);
    return this.token;
  }

  /** On start: a session survives a reload through the refresh token, never through storage of the access token. */
  async restore(): Promise<boolean> {
    try {
      return (await this.refresh()) !== null;
    } catch (error) {
      if (error instanceof ApiError) {
        this.signedOut(null);
        return false;
      }
      throw error;
    }
  }

  private signedOut(reason: SignOutReason | null): void {
    this.token = null;
    this.expiresAt = 0;
    if (this.store !== "cookie") void this.store.save(null);
    this.set("signed-out", reason);
  }

  async logout(): Promise<void> {
    const headers: Record<string, string> = { [CSRF_HEADER]: CSRF_VALUE };
    let body: string | undefined;
    if (this.store !== "cookie") {
      const stored = await this.store.load();
      if (stored) {
        headers["Content-Type"] = "application/json";
        body = JSON.stringify({ refresh_token: stored });
      }
    }
    try {
      await this.send("/auth/logout", { method: "POST", headers, body });
    } catch {
      // Signing out locally must work offline too; the refresh token then expires on its own.
    }
    this.signedOut("signed-out");
  }

  /** The access token is about to expire (within `marginMs`). */
  expiresSoon(marginMs = 30_000): boolean {
    return this.token !== null && Date.now() > this.expiresAt - marginMs;
  }

  /**
   * `fetch` with the access token, refreshed silently once on a 401; a second 401 signs out.
   * Used by the typed client and by anything else that talks to the API (page images, downloads).
   */
  async fetch(input: Request): Promise<Response> {
    const retry = input.clone();
    if (this.snapshot.state === "signed-in" && this.expiresSoon()) await this.refresh().catch(() => null);
    let response = await this.authorized(input);
    if (response.status !== 401 || this.snapshot.state !== "signed-in") return response;
    const token = await this.refresh();
    if (token === null) return response;
    response = await this.authorized(retry);
    if (response.status === 401) this.signedOut("expired");
    return response;
  }

  private async authorized(request: Request): Promise<Response> {
    if (this.token) request.headers.set("Authorization", `Bearer ${this.token}`);
    try {
      return await this.fetchImpl(request);
    } catch {
      throw new NetworkError();
    }
  }
}

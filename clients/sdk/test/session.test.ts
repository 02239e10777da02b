import { describe, expect, it } from "vitest";
import { createApiClient, unwrap } from "../src/client";
import { ApiError } from "../src/errors";
import { CSRF_HEADER, CSRF_VALUE, Session } from "../src/session";

type Handler = (request: Request) => Response | Promise<Response>;

/** A stand-in for the API over `fetch` (the real API is exercised by the browser tests). */
function fakeApi(handler: Handler) {
  const calls: Request[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(new URL(String(input), "http://api.test"), init);
    calls.push(request.clone());
    return handler(request);
  }) as typeof fetch;
  return { calls, fetchImpl };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
const pair = (token: string) => json({ access_token: token, refresh_token: "r", token_type: "bearer", expires_in: 900 });

describe("Session", () => {
  it("signs in with the password form and keeps the token in memory only", async () => {
    const { calls, fetchImpl } = fakeApi(() => pair("a1"));
    const session = new Session({ baseUrl: "http://api.test", fetch: fetchImpl });
    await session.login("ann@example.com", "secret-password");
    expect(session.accessToken).toBe("a1");
    expect(session.current.state).toBe("signed-in");
    const body = await calls[0]!.text();
    expect(body).toContain("username=ann%40example.com");
    expect(calls[0]!.headers.get("Content-Type")).toBe("application/x-www-form-urlencoded");
  });

  it("shows the API's message for a wrong password and a lockout", async () => {
    const { fetchImpl } = fakeApi(() => json({ detail: "Too many failed logins; try again in 42 s" }, 429, { "Retry-After": "42" }));
    const session = new Session({ baseUrl: "http://api.test", fetch: fetchImpl });
    const error = await session.login("a@b.c", "x").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).detail).toBe("Too many failed logins; try again in 42 s");
    expect((error as ApiError).retryAfter).toBe(42);
  });

  it("refreshes once on a 401 with the CSRF header and retries the request", async () => {
    let token = "old";
    const { calls, fetchImpl } = fakeApi((request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/auth/login") return pair(token);
      if (url.pathname === "/api/v1/auth/refresh") {
        token = "new";
        return pair("new");
      }
      return request.headers.get("Authorization") === "Bearer new" ? json({ id: "me" }) : json({ detail: "expired" }, 401);
    });
    const session = new Session({ baseUrl: "http://api.test", fetch: fetchImpl });
    await session.login("a@b.c", "password123");
    const client = createApiClient(session);
    const me = unwrap(await client.GET("/api/v1/auth/me"));
    expect(me).toEqual({ id: "me" });
    const refresh = calls.find((call) => call.url.endsWith("/auth/refresh"))!;
    expect(refresh.headers.get(CSRF_HEADER)).toBe(CSRF_VALUE);
    expect(calls.filter((call) => call.url.endsWith("/auth/refresh"))).toHaveLength(1);
  });

  it("signs out when the refresh chain was revoked", async () => {
    const { fetchImpl } = fakeApi((request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/auth/login") return pair("a");
      if (url.pathname === "/api/v1/auth/refresh") return json({ detail: "Invalid refresh token: revoked" }, 401);
      return json({ detail: "Not authenticated" }, 401);
    });
    const session = new Session({ baseUrl: "http://api.test", fetch: fetchImpl });
    await session.login("a@b.c", "password123");
    const states: string[] = [];
    session.subscribe((snapshot) => states.push(`${snapshot.state}:${snapshot.reason}`));
    const result = await createApiClient(session).GET("/api/v1/auth/me");
    expect(result.response.status).toBe(401);
    expect(session.accessToken).toBeNull();
    expect(states).toEqual(["signed-out:revoked"]);
  });

  it("shares one refresh between concurrent callers", async () => {
    let refreshes = 0;
    const { fetchImpl } = fakeApi(async () => {
      refreshes += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return pair(`t${refreshes}`);
    });
    const session = new Session({ baseUrl: "http://api.test", fetch: fetchImpl });
    const tokens = await Promise.all([session.refresh(), session.refresh(), session.refresh()]);
    expect(refreshes).toBe(1);
    expect(tokens).toEqual(["t1", "t1", "t1"]);
  });

  it("uses a refresh-token store instead of the cookie on platforms that have one", async () => {
    let stored: string | null = "stored-refresh";
    const { calls, fetchImpl } = fakeApi(() => json({ access_token: "a", refresh_token: "rotated", expires_in: 900 }));
    const session = new Session({
      baseUrl: "http://api.test",
      fetch: fetchImpl,
      refreshTokens: { load: async () => stored, save: async (token) => void (stored = token) },
    });
    await session.refresh();
    expect(await calls[0]!.json()).toEqual({ refresh_token: "stored-refresh" });
    expect(stored).toBe("rotated");
  });
});

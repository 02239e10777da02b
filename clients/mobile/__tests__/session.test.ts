import { Session } from "@invoicer/sdk";
import { REFRESH_TOKEN_KEY, memoryRefreshTokens, normaliseServerUrl, secureRefreshTokens, type SecureStoreLike } from "../src/tokens";

class FakeSecureStore implements SecureStoreLike {
  readonly data = new Map<string, string>();
  async getItemAsync(key: string) {
    return this.data.get(key) ?? null;
  }
  async setItemAsync(key: string, value: string) {
    this.data.set(key, value);
  }
  async deleteItemAsync(key: string) {
    this.data.delete(key);
  }
}

/** The API's auth routes as far as the session sees them: rotating refresh tokens, short access tokens. */
function fakeApi() {
  let issued = 0;
  let valid = new Set<string>();
  let refreshTokens = new Set<string>();
  const calls: string[] = [];
  const pair = () => {
    issued += 1;
    valid = new Set([`access-${issued}`]);
    refreshTokens = new Set([`refresh-${issued}`]);
    return { access_token: `access-${issued}`, refresh_token: `refresh-${issued}`, expires_in: 900, token_type: "bearer" };
  };
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    const path = new URL(request.url).pathname;
    calls.push(path);
    if (path === "/api/v1/auth/login") return json(200, pair());
    if (path === "/api/v1/auth/refresh") {
      const body = JSON.parse(await request.text()) as { refresh_token: string };
      if (!refreshTokens.has(body.refresh_token)) return json(401, { detail: "Session ended" });
      return json(200, pair());
    }
    if (path === "/api/v1/auth/logout") return new Response(null, { status: 204 });
    const token = request.headers.get("Authorization")?.replace("Bearer ", "") ?? "";
    if (!valid.has(token)) return json(401, { detail: "Expired" });
    return json(200, { ok: true });
  };
  return {
    fetchImpl,
    calls,
    expireAccess: () => {
      valid = new Set();
    },
    revokeAll: () => {
      valid = new Set();
      refreshTokens = new Set();
    },
  };
}

describe("the session on a phone", () => {
  it("keeps the refresh token in secure storage and refreshes silently when the access token expires", async () => {
    const store = new FakeSecureStore();
    const api = fakeApi();
    const session = new Session({ baseUrl: "https://api.test", refreshTokens: secureRefreshTokens(store), fetch: api.fetchImpl as typeof fetch });
    await session.login("ann@example.com", "correct horse battery");
    expect(store.data.get(REFRESH_TOKEN_KEY)).toBe("refresh-1");
    expect(session.accessToken).toBe("access-1");

    api.expireAccess();
    const response = await session.fetch(new Request("https://api.test/api/v1/invoices"));
    expect(response.status).toBe(200);
    expect(session.accessToken).toBe("access-2");
    expect(store.data.get(REFRESH_TOKEN_KEY)).toBe("refresh-2"); // rotated and kept
    expect(api.calls.filter((c) => c.endsWith("/refresh"))).toHaveLength(1);
  });

  it("a restarted app signs in again from the stored token, without the password", async () => {
    const store = new FakeSecureStore();
    const api = fakeApi();
    const first = new Session({ baseUrl: "https://api.test", refreshTokens: secureRefreshTokens(store), fetch: api.fetchImpl as typeof fetch });
    await first.login("ann@example.com", "pw");
    const restarted = new Session({ baseUrl: "https://api.test", refreshTokens: secureRefreshTokens(store), fetch: api.fetchImpl as typeof fetch });
    expect(await restarted.restore()).toBe(true);
    expect(restarted.current.state).toBe("signed-in");
  });

  it("a revoked session signs out and forgets the stored token", async () => {
    const store = new FakeSecureStore();
    const api = fakeApi();
    const session = new Session({ baseUrl: "https://api.test", refreshTokens: secureRefreshTokens(store), fetch: api.fetchImpl as typeof fetch });
    await session.login("ann@example.com", "pw");
    api.revokeAll();
    const response = await session.fetch(new Request("https://api.test/api/v1/invoices"));
    expect(response.status).toBe(401);
    expect(session.current).toEqual({ state: "signed-out", reason: "revoked" });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(store.data.has(REFRESH_TOKEN_KEY)).toBe(false);
  });

  it("sign out revokes on the server and clears the device", async () => {
    const store = new FakeSecureStore();
    const api = fakeApi();
    const session = new Session({ baseUrl: "https://api.test", refreshTokens: secureRefreshTokens(store), fetch: api.fetchImpl as typeof fetch });
    await session.login("ann@example.com", "pw");
    await session.logout();
    expect(api.calls).toContain("/api/v1/auth/logout");
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(store.data.size).toBe(0);
  });
});

describe("small helpers", () => {
  it("the web target keeps the token in memory only", async () => {
    const tokens = memoryRefreshTokens();
    await tokens.save("t");
    expect(await tokens.load()).toBe("t");
    await tokens.save(null);
    expect(await tokens.load()).toBeNull();
  });

  it("normalises what a person types as the server", () => {
    expect(normaliseServerUrl(" invoices.example.com/ ")).toBe("https://invoices.example.com");
    expect(normaliseServerUrl("http://127.0.0.1:8000//")).toBe("http://127.0.0.1:8000");
  });
});

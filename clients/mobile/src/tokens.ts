/**
 * Where the refresh token lives: the platform's secure storage (Keychain / Keystore through expo-secure-store)
 * on a phone; on the web target only in memory, since a browser has no secure store for JavaScript (a reload
 * signs in again, unless the app is served by the API itself, where the API's HttpOnly cookie carries it).
 */
import type { RefreshTokenStore } from "@invoicer/sdk";

export const REFRESH_TOKEN_KEY = "invoicer.refresh_token";

export interface SecureStoreLike {
  getItemAsync(key: string): Promise<string | null>;
  setItemAsync(key: string, value: string): Promise<void>;
  deleteItemAsync(key: string): Promise<void>;
}

export function secureRefreshTokens(store: SecureStoreLike): RefreshTokenStore {
  return {
    load: () => store.getItemAsync(REFRESH_TOKEN_KEY),
    save: async (token) => {
      if (token === null) await store.deleteItemAsync(REFRESH_TOKEN_KEY);
      else await store.setItemAsync(REFRESH_TOKEN_KEY, token);
    },
  };
}

export function memoryRefreshTokens(): RefreshTokenStore {
  let token: string | null = null;
  return {
    load: async () => token,
    save: async (value) => {
      token = value;
    },
  };
}

/** "https://invoices.example.com/" → "https://invoices.example.com"; a missing scheme means https. */
export function normaliseServerUrl(raw: string): string {
  const trimmed = raw.trim().replace(/\/+$/, "");
  if (!trimmed) return trimmed;
  return /^https?:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
}

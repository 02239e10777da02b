/** The web target gets its notices live over Socket.IO only; Expo push tokens are for phones (push.native.ts). */
import type { ApiClient } from "@invoicer/sdk";

export async function registerForPush(_api: ApiClient): Promise<string | null> {
  return null;
}

export async function unregisterPush(_api: ApiClient, _token: string): Promise<void> {}

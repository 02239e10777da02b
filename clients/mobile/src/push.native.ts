/**
 * Push notifications while the app is closed: ask once, then register this phone's Expo push token with the
 * API (`POST /devices`), which sends each invoice's final state to it. While the app is open the live toast
 * says the same, so a push arriving then is not shown again.
 */
import type { ApiClient } from "@invoicer/sdk";
import Constants from "expo-constants";
import * as Notifications from "expo-notifications";
import { Platform } from "react-native";

Notifications.setNotificationHandler({
  handleNotification: async () => ({
    shouldShowBanner: false,
    shouldShowList: true,
    shouldPlaySound: false,
    shouldSetBadge: false,
  }),
});

export async function registerForPush(api: ApiClient): Promise<string | null> {
  const projectId: string | undefined =
    (Constants.expoConfig?.extra as { eas?: { projectId?: string } } | undefined)?.eas?.projectId ??
    Constants.easConfig?.projectId;
  if (!projectId) return null; // a build without an Expo project id cannot have a push token
  let { status } = await Notifications.getPermissionsAsync();
  if (status !== "granted") ({ status } = await Notifications.requestPermissionsAsync());
  if (status !== "granted") return null;
  const { data: token } = await Notifications.getExpoPushTokenAsync({ projectId });
  await api.POST("/api/v1/devices", { body: { token, platform: Platform.OS === "ios" ? "ios" : "android" } });
  return token;
}

export async function unregisterPush(api: ApiClient, token: string): Promise<void> {
  await api.DELETE("/api/v1/devices/{token}", { params: { path: { token } } });
}

/** The device's key-value storage for the queue and preferences (AsyncStorage: SQLite/files on phones, localStorage on the web). */
import AsyncStorage from "@react-native-async-storage/async-storage";
import type { KeyValueStore } from "./queue";

export const deviceStore: KeyValueStore = {
  getItem: (key) => AsyncStorage.getItem(key),
  setItem: (key, value) => AsyncStorage.setItem(key, value),
  removeItem: (key) => AsyncStorage.removeItem(key),
};

export const SERVER_URL_KEY = "invoicer.server_url";
export const EMAIL_KEY = "invoicer.email";

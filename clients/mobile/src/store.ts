/** The web target's storage for the queue and preferences (AsyncStorage is localStorage there); phones: store.native.ts. */
import AsyncStorage from "@react-native-async-storage/async-storage";
import type { KeyValueStore } from "./queue";

export { EMAIL_KEY, SERVER_URL_KEY } from "./store-keys";

export const deviceStore: KeyValueStore = {
  getItem: (key) => AsyncStorage.getItem(key),
  setItem: (key, value) => AsyncStorage.setItem(key, value),
  removeItem: (key) => AsyncStorage.removeItem(key),
};

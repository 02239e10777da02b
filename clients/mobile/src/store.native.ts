/**
 * The phone's storage for the queue and preferences: small entries in AsyncStorage, and each queued photo in a
 * file of its own under the app's documents (AsyncStorage is not meant for megabytes: Android caps it).
 */
import AsyncStorage from "@react-native-async-storage/async-storage";
import { Directory, File, Paths } from "expo-file-system";
import type { KeyValueStore } from "./queue";
import { CONTENT_PREFIX } from "./queue";

export { EMAIL_KEY, SERVER_URL_KEY } from "./store-keys";

const folder = () => new Directory(Paths.document, "invoicer-queue");
const fileFor = (key: string) => new File(folder(), `${key.slice(CONTENT_PREFIX.length).replace(/[^A-Za-z0-9-]/g, "")}.b64`);

export const deviceStore: KeyValueStore = {
  getItem: async (key) => {
    if (!key.startsWith(CONTENT_PREFIX)) return AsyncStorage.getItem(key);
    const file = fileFor(key);
    return file.exists ? file.text() : null;
  },
  setItem: async (key, value) => {
    if (!key.startsWith(CONTENT_PREFIX)) return AsyncStorage.setItem(key, value);
    folder().create({ intermediates: true, idempotent: true });
    fileFor(key).write(value);
  },
  removeItem: async (key) => {
    if (!key.startsWith(CONTENT_PREFIX)) return AsyncStorage.removeItem(key);
    const file = fileFor(key);
    if (file.exists) file.delete();
  },
};

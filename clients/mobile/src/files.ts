/** A picked file's bytes as base64: on a phone from its file, on the web from its blob URL. */
import { Platform } from "react-native";
import { bytesToBase64 } from "./base64";

export async function readAsBase64(uri: string): Promise<string> {
  if (Platform.OS !== "web") {
    const { File } = await import("expo-file-system");
    return bytesToBase64(new Uint8Array(await new File(uri).arrayBuffer()));
  }
  const response = await fetch(uri);
  return bytesToBase64(new Uint8Array(await response.arrayBuffer()));
}

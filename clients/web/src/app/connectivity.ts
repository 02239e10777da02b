/** Whether the API answers: the banner shows while it does not, and disappears by itself when it does. */
import { useSyncExternalStore } from "react";
import { realtime } from "./api";

let apiDown = false;
const listeners = new Set<() => void>();

function notify(next: boolean): void {
  if (next === apiDown) return;
  apiDown = next;
  for (const listener of listeners) listener();
}

export const connectivity = {
  down: () => notify(true),
  up: () => notify(false),
};

realtime.onState((state) => {
  if (state === "connected") notify(false);
  for (const listener of listeners) listener();
});

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useReconnecting(): boolean {
  return useSyncExternalStore(subscribe, () => apiDown || realtime.state === "reconnecting");
}

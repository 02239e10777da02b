import { useQuery, useQueryClient } from "@tanstack/react-query";
import { unwrap, type SessionSnapshot } from "@invoicer/sdk";
import { createContext, useContext, useEffect, useSyncExternalStore, type ReactNode } from "react";
import { api, realtime, session, type User } from "./api";

export function useSessionState(): SessionSnapshot {
  return useSyncExternalStore(
    (listener) => session.subscribe(listener),
    () => session.current,
  );
}

const MeContext = createContext<User | null>(null);

/** The signed-in person (inside the signed-in part of the app only). */
export function useMe(): User {
  const me = useContext(MeContext);
  if (!me) throw new Error("useMe outside a signed-in page");
  return me;
}

export function useMeQuery(enabled: boolean) {
  return useQuery({
    queryKey: ["me"],
    queryFn: async () => unwrap(await api.GET("/api/v1/auth/me")),
    enabled,
    staleTime: 60_000,
  });
}

export function MeProvider({ me, children }: { me: User; children: ReactNode }) {
  const queryClient = useQueryClient();
  useEffect(() => {
    realtime.start();
    return () => {
      realtime.close();
      // Nothing private outlives the session in memory.
      queryClient.clear();
    };
  }, [me.id, queryClient]);
  return <MeContext.Provider value={me}>{children}</MeContext.Provider>;
}

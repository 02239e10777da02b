/**
 * Everything the screens share: the session, the typed client, the live stream, the offline queue, the list of
 * my invoices and the toasts. One provider at the root of the router.
 */
import {
  ApiError,
  createApiClient,
  Realtime,
  Session,
  unwrap,
  uploadInvoiceBase64,
  type ApiClient,
  type ConnectionState,
  type InvoiceStatusEvent,
  type SessionSnapshot,
} from "@invoicer/sdk";
import * as SecureStore from "expo-secure-store";
import { createContext, useCallback, useContext, useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from "react";
import { AppState, Platform } from "react-native";
import { registerForPush, unregisterPush } from "./push";
import { initialInvoices, invoicesReducer, invoiceTitle, type Invoice, type InvoicesState } from "./invoices";
import { UploadQueue, type QueueSnapshot } from "./queue";
import { deviceStore, EMAIL_KEY, SERVER_URL_KEY } from "./store";
import { memoryRefreshTokens, normaliseServerUrl, secureRefreshTokens } from "./tokens";

export interface Toast {
  id: number;
  text: string;
  invoiceId: string;
  kind: "processed" | "failed";
}

interface AppValue {
  ready: boolean;
  serverUrl: string;
  email: string;
  session: Session;
  api: ApiClient;
  snapshot: SessionSnapshot;
  connection: ConnectionState;
  invoices: InvoicesState;
  queue: QueueSnapshot;
  uploadQueue: UploadQueue;
  toast: Toast | null;
  dismissToast: () => void;
  signIn: (serverUrl: string, email: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
  reload: (search?: string) => Promise<void>;
  refreshInvoice: (id: string) => Promise<Invoice | null>;
  removeInvoice: (id: string) => void;
  sendQueued: () => Promise<void>;
}

const AppContext = createContext<AppValue | null>(null);

/** On the web a page's origin may be the API itself; elsewhere the person names the server. */
function defaultServerUrl(): string {
  if (Platform.OS === "web" && typeof window !== "undefined") return window.location.origin;
  return "";
}

function makeSession(baseUrl: string): Session {
  if (Platform.OS !== "web") return new Session({ baseUrl, refreshTokens: secureRefreshTokens(SecureStore) });
  // Served by the API itself, the browser keeps the refresh token in the API's HttpOnly cookie, so a reload
  // stays signed in; from another origin the cookie is not ours to use, so the token lives in memory.
  const sameOrigin = typeof window !== "undefined" && baseUrl === window.location.origin;
  return new Session({ baseUrl, refreshTokens: sameOrigin ? "cookie" : memoryRefreshTokens() });
}

const TOAST_MS = 6000;
const FLUSH_EVERY_MS = 3000;

export function AppProvider({ children }: { children: ReactNode }) {
  const [ready, setReady] = useState(false);
  const [serverUrl, setServerUrl] = useState(defaultServerUrl);
  const [email, setEmail] = useState("");
  const [session, setSession] = useState(() => makeSession(defaultServerUrl()));
  const [snapshot, setSnapshot] = useState<SessionSnapshot>(session.current);
  const api = useMemo(() => createApiClient(session), [session]);
  const realtime = useMemo(() => new Realtime(session), [session]);
  const [connection, setConnection] = useState<ConnectionState>("closed");
  const [invoices, dispatch] = useReducer(invoicesReducer, initialInvoices);
  const [toast, setToast] = useState<Toast | null>(null);
  const toastTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const sessionRef = useRef(session);
  sessionRef.current = session;

  const uploadQueue = useMemo(
    () =>
      new UploadQueue(deviceStore, async (content, filename, idempotencyKey, onProgress) =>
        uploadInvoiceBase64<Invoice>(sessionRef.current, content, filename, {
          idempotencyKey,
          onProgress: ({ loaded, total }) => onProgress(total > 0 ? loaded / total : 0),
        }),
      ),
    [],
  );
  const [queue, setQueue] = useState<QueueSnapshot>(uploadQueue.snapshot);

  useEffect(() => uploadQueue.subscribe(setQueue), [uploadQueue]);
  useEffect(() => session.subscribe(setSnapshot), [session]);

  // Start: the server and email used last, the queue the device kept, and a silent sign-in if a token is stored.
  useEffect(() => {
    let cancelled = false;
    void (async () => {
      const [savedUrl, savedEmail] = await Promise.all([deviceStore.getItem(SERVER_URL_KEY), deviceStore.getItem(EMAIL_KEY)]);
      await uploadQueue.load();
      if (cancelled) return;
      if (savedEmail) setEmail(savedEmail);
      if (savedUrl) {
        setServerUrl(savedUrl);
        const restored = makeSession(savedUrl);
        setSession(restored);
        await restored.restore().catch(() => false);
      }
      if (!cancelled) setReady(true);
    })();
    return () => {
      cancelled = true;
    };
  }, [uploadQueue]);

  const showToast = useCallback((event: InvoiceStatusEvent) => {
    if (event.status !== "processed" && event.status !== "failed") return;
    const what = event.summary?.vendor_name ?? event.summary?.invoice_number ?? "Your invoice";
    const total = event.summary?.total ? ` · ${event.summary.total} ${event.summary.currency ?? ""}`.trimEnd() : "";
    const text =
      event.status === "processed" ? `${what} processed${total}` : `${what} failed: ${event.error?.message ?? "see why"}`;
    if (toastTimer.current) clearTimeout(toastTimer.current);
    setToast({ id: Date.now(), text, invoiceId: event.id, kind: event.status });
    toastTimer.current = setTimeout(() => setToast(null), TOAST_MS);
  }, []);

  const signedIn = snapshot.state === "signed-in";
  const pushToken = useRef<string | null>(null);

  // Pushes for when the app is closed: registered once per sign-in; a refusal or a failure only costs pushes.
  useEffect(() => {
    if (!signedIn) return;
    void registerForPush(api)
      .then((token) => {
        pushToken.current = token;
      })
      .catch(() => null);
  }, [signedIn, api]);

  // The live stream while signed in; back from the background it reconnects with `since` and catches up.
  useEffect(() => {
    if (!signedIn) return;
    const offs = [
      realtime.onState(setConnection),
      realtime.on("invoice.status", (event) => {
        dispatch({ type: "status", event });
        if (!event.replayed) showToast(event);
      }),
      realtime.on("invoice.updated", (event) => dispatch({ type: "updated", event })),
      realtime.on("invoice.deleted", (event) => dispatch({ type: "deleted", event })),
    ];
    realtime.start();
    const appState = AppState.addEventListener("change", (state) => {
      if (state === "active") {
        realtime.close();
        realtime.start();
        void uploadQueue.flush();
      } else if (state === "background") {
        realtime.close();
      }
    });
    return () => {
      for (const off of offs) off();
      appState.remove();
      realtime.close();
    };
  }, [signedIn, realtime, showToast, uploadQueue]);

  // The queue is sent whenever it holds something and we are signed in: on start, when the network returns.
  useEffect(() => {
    if (!signedIn) return;
    void uploadQueue.flush();
    const timer = setInterval(() => {
      if (uploadQueue.snapshot.items.some((item) => item.state === "waiting")) void uploadQueue.flush();
    }, FLUSH_EVERY_MS);
    const online = () => void uploadQueue.flush();
    if (Platform.OS === "web" && typeof window !== "undefined") window.addEventListener("online", online);
    return () => {
      clearInterval(timer);
      if (Platform.OS === "web" && typeof window !== "undefined") window.removeEventListener("online", online);
    };
  }, [signedIn, uploadQueue]);

  const refreshInvoice = useCallback(
    async (id: string): Promise<Invoice | null> => {
      try {
        const invoice = unwrap(await api.GET("/api/v1/invoices/{invoice_id}", { params: { path: { invoice_id: id } } }));
        dispatch({ type: "fetched", invoice });
        return invoice;
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) dispatch({ type: "deleted", event: { id } });
        return null;
      }
    },
    [api],
  );

  // An event named an invoice the list does not hold in full: fetch it.
  useEffect(() => {
    for (const id of invoices.stale) void refreshInvoice(id);
  }, [invoices.stale, refreshInvoice]);

  useEffect(
    () =>
      uploadQueue.onSent((_, invoice) => {
        void refreshInvoice(invoice.id);
      }),
    [uploadQueue, refreshInvoice],
  );

  const reload = useCallback(
    async (search?: string) => {
      const query: { limit: number; q?: string } = { limit: 50 };
      if (search?.trim()) query.q = search.trim();
      const page = unwrap(await api.GET("/api/v1/invoices", { params: { query } }));
      dispatch({ type: "loaded", items: page.items });
    },
    [api],
  );

  const signIn = useCallback(async (rawUrl: string, newEmail: string, password: string) => {
    const url = normaliseServerUrl(rawUrl);
    const fresh = makeSession(url);
    await fresh.login(newEmail.trim(), password);
    await Promise.all([deviceStore.setItem(SERVER_URL_KEY, url), deviceStore.setItem(EMAIL_KEY, newEmail.trim())]);
    setServerUrl(url);
    setEmail(newEmail.trim());
    setSnapshot(fresh.current);
    setSession(fresh);
  }, []);

  const signOut = useCallback(async () => {
    const token = pushToken.current;
    pushToken.current = null;
    if (token) await unregisterPush(api, token).catch(() => null);
    await sessionRef.current.logout();
    dispatch({ type: "loaded", items: [] });
  }, [api]);

  const value: AppValue = {
    ready,
    serverUrl,
    email,
    session,
    api,
    snapshot,
    connection,
    invoices,
    queue,
    uploadQueue,
    toast,
    dismissToast: () => setToast(null),
    signIn,
    signOut,
    reload,
    refreshInvoice,
    removeInvoice: (id) => dispatch({ type: "deleted", event: { id } }),
    sendQueued: async () => {
      await uploadQueue.flush();
    },
  };
  return <AppContext.Provider value={value}>{children}</AppContext.Provider>;
}

export function useApp(): AppValue {
  const value = useContext(AppContext);
  if (!value) throw new Error("useApp outside AppProvider");
  return value;
}

export { invoiceTitle };

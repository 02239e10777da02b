/**
 * Live invoice events over Socket.IO, with catch-up and de-duplication.
 *
 * Connects with the session's access token and `since` = the last event id received, so a reconnect
 * replays what was missed. Delivery around a reconnect is at-least-once, so replayed ids are dropped.
 * The server ends a connection when its token expires (`session.expired`) and does not let the client
 * reconnect by itself then: the helper refreshes the token and connects again.
 */
import { io, type Socket } from "socket.io-client";
import type { Session } from "./session";

export interface InvoiceStatusEvent {
  event_id: string;
  id: string;
  status: string;
  previous_status: string | null;
  updated_at: string;
  error?: { code: string; message: string } | null;
  summary?: { vendor_name: string | null; invoice_number: string | null; total: string | null; currency: string | null } | null;
  replayed?: boolean;
}

export interface InvoiceUpdatedEvent {
  event_id: string;
  id: string;
  updated_at: string;
  fields_changed: string[];
}

export interface InvoiceDeletedEvent {
  event_id: string;
  id: string;
}

export interface InvoiceEvents {
  "invoice.status": InvoiceStatusEvent;
  "invoice.updated": InvoiceUpdatedEvent;
  "invoice.deleted": InvoiceDeletedEvent;
}

export type InvoiceEventName = keyof InvoiceEvents;
export type ConnectionState = "connecting" | "connected" | "reconnecting" | "closed";

export const INVOICE_EVENTS: readonly InvoiceEventName[] = ["invoice.status", "invoice.updated", "invoice.deleted"];

/** Remembers the ids already delivered (a bounded window: replays only reach back minutes). */
export class EventDeduper {
  private readonly seen = new Set<string>();
  private last: string | null = null;

  constructor(private readonly capacity = 5000) {}

  /** True the first time an id is offered. */
  accept(eventId: string): boolean {
    if (this.seen.has(eventId)) return false;
    this.seen.add(eventId);
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    // Ids start with 13-digit epoch milliseconds, so string order is time order.
    if (this.last === null || eventId > this.last) this.last = eventId;
    return true;
  }

  get lastEventId(): string | null {
    return this.last;
  }
}

type Handler<E extends InvoiceEventName> = (event: InvoiceEvents[E]) => void;

export interface RealtimeOptions {
  /** Origin of the API; defaults to the session's. */
  url?: string;
  /** For tests: a socket.io-client `io` replacement. */
  connect?: typeof io;
  reconnectDelayMs?: number;
}

export class Realtime {
  private socket: Socket | null = null;
  private readonly deduper = new EventDeduper();
  private readonly handlers = new Map<InvoiceEventName, Set<Handler<InvoiceEventName>>>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private stateValue: ConnectionState = "closed";
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly delay: number;

  constructor(
    private readonly session: Session,
    private readonly options: RealtimeOptions = {},
  ) {
    this.delay = options.reconnectDelayMs ?? 2000;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  get lastEventId(): string | null {
    return this.deduper.lastEventId;
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  on<E extends InvoiceEventName>(event: E, handler: Handler<E>): () => void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler as Handler<InvoiceEventName>);
    return () => set.delete(handler as Handler<InvoiceEventName>);
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    for (const listener of this.stateListeners) listener(state);
  }

  /** Deliver one event unless its id was seen before; exposed for the reducer tests. */
  deliver<E extends InvoiceEventName>(name: E, event: InvoiceEvents[E]): void {
    if (!event || typeof event.event_id !== "string" || !this.deduper.accept(event.event_id)) return;
    for (const handler of this.handlers.get(name) ?? []) handler(event);
  }

  start(): void {
    if (this.socket) return;
    const connect = this.options.connect ?? io;
    const socket = connect(this.options.url ?? this.session.baseUrl, {
      autoConnect: false,
      transports: ["websocket"],
      reconnectionDelay: this.delay,
      reconnectionDelayMax: 5000,
      // A function: read again on every (re)connect, so the newest token and `since` are sent.
      auth: (callback) => {
        const auth: Record<string, string> = { token: this.session.accessToken ?? "" };
        if (this.deduper.lastEventId) auth.since = this.deduper.lastEventId;
        callback(auth);
      },
    });
    this.socket = socket;
    for (const name of INVOICE_EVENTS) {
      socket.on(name, (event: InvoiceEvents[typeof name]) => this.deliver(name, event));
    }
    socket.on("connect", () => this.setState("connected"));
    socket.on("session.expired", () => void this.renewAndReconnect());
    socket.on("disconnect", (reason) => {
      if (this.stateValue === "closed") return;
      this.setState("reconnecting");
      // The server hung up on purpose (token expiry): socket.io will not retry by itself.
      if (reason === "io server disconnect") void this.renewAndReconnect();
    });
    socket.on("connect_error", () => {
      if (this.stateValue === "closed") return;
      this.setState("reconnecting");
      // A refusal by the server (bad or expired token) is not retried by socket.io; network errors are.
      if (!socket.active) void this.renewAndReconnect();
    });
    this.setState("connecting");
    socket.connect();
  }

  private async renewAndReconnect(): Promise<void> {
    if (this.retryTimer !== null || this.stateValue === "closed") return;
    this.setState("reconnecting");
    let token: string | null = null;
    try {
      token = await this.session.refresh();
    } catch {
      token = this.session.accessToken; // the API is down: try again later with what we have
    }
    if (token === null && this.session.current.state === "signed-out") {
      this.close();
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.stateValue !== "closed" && this.socket && !this.socket.connected) this.socket.connect();
    }, this.socket?.connected ? 0 : this.delay / 4);
  }

  close(): void {
    this.setState("closed");
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
  }
}

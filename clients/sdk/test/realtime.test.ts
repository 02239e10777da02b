import { describe, expect, it, vi } from "vitest";
import { EventDeduper, Realtime, type InvoiceStatusEvent } from "../src/realtime";
import { Session } from "../src/session";

const status = (eventId: string, id = "inv1", value = "processed"): InvoiceStatusEvent => ({
  event_id: eventId,
  id,
  status: value,
  previous_status: "processing",
  updated_at: "2025-03-01T12:00:00.000Z",
});

/** Just enough of a socket.io-client Socket to drive the helper. */
class FakeSocket {
  handlers = new Map<string, ((...args: unknown[]) => void)[]>();
  connected = false;
  active = true;
  connects = 0;
  auths: Record<string, string>[] = [];
  constructor(private readonly options: { auth: (callback: (auth: Record<string, string>) => void) => void }) {}
  on(event: string, handler: (...args: unknown[]) => void) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
    return this;
  }
  emit(event: string, ...args: unknown[]) {
    for (const handler of this.handlers.get(event) ?? []) handler(...args);
  }
  connect() {
    this.connects += 1;
    this.options.auth((auth) => this.auths.push(auth));
    this.connected = true;
    this.emit("connect");
    return this;
  }
  disconnect() {
    this.connected = false;
    return this;
  }
  removeAllListeners() {
    this.handlers.clear();
    return this;
  }
}

function setup() {
  const session = new Session({ baseUrl: "http://api.test", fetch: vi.fn() as unknown as typeof fetch });
  let socket: FakeSocket | null = null;
  const connect = ((_url: string, options: ConstructorParameters<typeof FakeSocket>[0]) => {
    socket = new FakeSocket(options);
    return socket;
  }) as never;
  const realtime = new Realtime(session, { connect, reconnectDelayMs: 4 });
  return { session, realtime, socket: () => socket as unknown as FakeSocket };
}

describe("EventDeduper", () => {
  it("accepts an id once and remembers the latest", () => {
    const deduper = new EventDeduper(3);
    expect(deduper.accept("1740830400123-a-pending")).toBe(true);
    expect(deduper.accept("1740830400123-a-pending")).toBe(false);
    expect(deduper.accept("1740830400999-a-processed")).toBe(true);
    expect(deduper.accept("1740830400500-b-pending")).toBe(true);
    expect(deduper.lastEventId).toBe("1740830400999-a-processed");
  });
});

describe("Realtime", () => {
  it("delivers each event once, replayed or not", () => {
    const { realtime, socket } = setup();
    const seen: string[] = [];
    realtime.on("invoice.status", (event) => seen.push(event.event_id));
    realtime.start();
    socket().emit("invoice.status", status("1740830400123-inv1-processing"));
    socket().emit("invoice.status", { ...status("1740830400123-inv1-processing"), replayed: true });
    socket().emit("invoice.status", status("1740830400200-inv1-processed"));
    expect(seen).toEqual(["1740830400123-inv1-processing", "1740830400200-inv1-processed"]);
  });

  it("reconnects with since = the last event id and a fresh token after session.expired", async () => {
    const { session, realtime, socket } = setup();
    const refresh = vi.spyOn(session, "refresh").mockResolvedValue("fresh-token");
    vi.spyOn(session, "accessToken", "get").mockReturnValue("fresh-token");
    realtime.start();
    socket().emit("invoice.status", status("1740830400200-inv1-processed"));
    socket().emit("session.expired", { message: "expired" });
    socket().disconnect();
    await vi.waitFor(() => expect(socket().connects).toBe(2));
    expect(refresh).toHaveBeenCalled();
    expect(socket().auths[1]).toEqual({ token: "fresh-token", since: "1740830400200-inv1-processed" });
  });

  it("reports reconnecting while the server is away", () => {
    const { realtime, socket } = setup();
    const states: string[] = [];
    realtime.onState((state) => states.push(state));
    realtime.start();
    socket().emit("disconnect", "transport close");
    socket().emit("connect");
    expect(states).toEqual(["connecting", "connected", "reconnecting", "connected"]);
  });
});

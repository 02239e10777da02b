import { ApiError, NetworkError } from "@invoicer/sdk";
import { UploadQueue, type KeyValueStore, type Send } from "../src/queue";

/** The device's storage: survives the queue object, as the disk survives a killed app. */
class Disk implements KeyValueStore {
  readonly data = new Map<string, string>();
  failNextWriteOf: string | null = null;

  async getItem(key: string) {
    return this.data.get(key) ?? null;
  }

  async setItem(key: string, value: string) {
    if (this.failNextWriteOf && key.startsWith(this.failNextWriteOf)) {
      this.failNextWriteOf = null;
      throw new Error("killed while writing");
    }
    this.data.set(key, value);
  }

  async removeItem(key: string) {
    this.data.delete(key);
  }
}

/** The API's side of Idempotency-Key: same key and bytes answer the first invoice, other bytes 409. */
class Server {
  online = true;
  readonly invoices: { id: string; content: string }[] = [];
  private readonly keys = new Map<string, { id: string; content: string }>();
  requests = 0;

  send: Send = async (content, _filename, key, onProgress) => {
    this.requests += 1;
    if (!this.online) throw new NetworkError();
    onProgress(0.5);
    const known = this.keys.get(key);
    if (known) {
      if (known.content !== content) throw new ApiError(409, "This Idempotency-Key was already used for another file");
      return { id: known.id };
    }
    const invoice = { id: `inv${this.invoices.length + 1}`, content };
    this.invoices.push(invoice);
    this.keys.set(key, invoice);
    onProgress(1);
    return { id: invoice.id };
  };
}

async function started(disk: Disk, send: Send): Promise<UploadQueue> {
  const queue = new UploadQueue(disk, send);
  await queue.load();
  return queue;
}

describe("the offline queue", () => {
  it("keeps a capture made offline and sends it once when the network returns", async () => {
    const disk = new Disk();
    const server = new Server();
    server.online = false;
    const queue = await started(disk, server.send);
    await queue.add("AAAA", "a.jpg", 3);
    await queue.add("BBBB", "b.jpg", 3);
    expect(await queue.flush()).toEqual([]);
    expect(queue.snapshot.offline).toBe(true);
    expect(queue.snapshot.items.map((i) => i.state)).toEqual(["waiting", "waiting"]);
    expect(server.requests).toBe(1); // it stops at the first network failure instead of trying each

    server.online = true;
    expect(await queue.flush()).toEqual([{ id: "inv1" }, { id: "inv2" }]);
    expect(queue.snapshot.items).toEqual([]);
    expect(server.invoices.map((i) => i.content)).toEqual(["AAAA", "BBBB"]);
    expect([...disk.data.keys()]).toEqual(["invoicer.queue.v1"]); // the photos are gone from the device
    expect(await queue.flush()).toEqual([]);
    expect(server.invoices).toHaveLength(2);
  });

  it("survives being killed after the server answered but before the queue forgot: still one invoice", async () => {
    const disk = new Disk();
    const server = new Server();
    let killed = false;
    // The first app: the request reaches the server, then the app dies before it hears the answer.
    const dying: Send = async (...args) => {
      await server.send(...args);
      killed = true;
      return new Promise(() => undefined); // never resolves: the process is gone
    };
    const first = await started(disk, dying);
    await first.add("PHOTO", "p.jpg", 4);
    void first.flush();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(killed).toBe(true);
    expect(JSON.parse(disk.data.get("invoicer.queue.v1")!)[0].state).toBe("sending");

    // The app starts again on the same disk: the item is sent again with the same key.
    const second = await started(disk, server.send);
    expect(second.snapshot.items.map((i) => i.state)).toEqual(["waiting"]);
    expect(await second.flush()).toEqual([{ id: "inv1" }]);
    expect(server.requests).toBe(2);
    expect(server.invoices).toHaveLength(1);
    expect(second.snapshot.items).toEqual([]);
  });

  it("a capture whose queue entry was never written is not sent (the index is the commit point)", async () => {
    const disk = new Disk();
    const server = new Server();
    const queue = await started(disk, server.send);
    disk.failNextWriteOf = "invoicer.queue.v1";
    await expect(queue.add("HALF", "h.jpg", 3)).rejects.toThrow("killed");
    const again = await started(disk, server.send);
    expect(again.snapshot.items).toEqual([]);
    await again.flush();
    expect(server.requests).toBe(0);
  });

  it("a refusal is shown with the API's reason, then retried with the same key or discarded", async () => {
    const disk = new Disk();
    let answer: Error | null = new ApiError(422, "The file is empty");
    const keys: string[] = [];
    const send: Send = async (_c, _f, key) => {
      keys.push(key);
      if (answer) throw answer;
      return { id: "ok" };
    };
    const queue = await started(disk, send);
    const item = await queue.add("X", "x.jpg", 1);
    await queue.flush();
    expect(queue.snapshot.items[0]).toMatchObject({ state: "failed", error: "The file is empty", attempts: 1 });
    await queue.flush();
    expect(keys).toHaveLength(1); // a failed item waits for the person

    answer = null;
    await queue.retry(item.key);
    expect(await queue.flush()).toEqual([{ id: "ok" }]);
    expect(keys).toEqual([item.key, item.key]);

    const other = await queue.add("Y", "y.jpg", 1);
    answer = new ApiError(415, "Not an image");
    await queue.flush();
    await queue.discard(other.key);
    expect(queue.snapshot.items).toEqual([]);
    expect([...disk.data.keys()].filter((k) => k.includes("content"))).toEqual([]);
  });

  it("the server's own trouble is retried later, not shown as a refusal", async () => {
    const disk = new Disk();
    let fail = true;
    const queue = await started(disk, async () => {
      if (fail) throw new ApiError(503, "The database is not reachable");
      return { id: "later" };
    });
    await queue.add("Z", "z.jpg", 1);
    await queue.flush();
    expect(queue.snapshot.items[0]).toMatchObject({ state: "waiting" });
    fail = false;
    expect(await queue.flush()).toEqual([{ id: "later" }]);
  });

  it("two flushes at once share one pass, so nothing is sent twice", async () => {
    const disk = new Disk();
    const server = new Server();
    const queue = await started(disk, server.send);
    await queue.add("ONE", "1.jpg", 3);
    const [a, b] = await Promise.all([queue.flush(), queue.flush()]);
    expect(a).toBe(b);
    expect(server.requests).toBe(1);
  });

  it("keys are unique per capture", async () => {
    const queue = await started(new Disk(), new Server().send);
    const keys = new Set<string>();
    for (let i = 0; i < 50; i += 1) keys.add((await queue.add("A", "a.jpg", 1)).key);
    expect(keys.size).toBe(50);
    for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9._:-]{8,128}$/);
  });
});

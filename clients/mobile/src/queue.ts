/**
 * The offline queue: every capture is written to the device before it is sent, and sent exactly once.
 *
 * Each upload gets its `Idempotency-Key` when it is queued, and keeps it for every attempt, so an app killed
 * after the server answered but before the queue forgot the item sends again and gets the first invoice back,
 * never a second one. The content is written before the index entry that names it (the index is the commit
 * point); an item found `sending` after a restart was interrupted and is simply sent again with its key.
 */
import { ApiError } from "@invoicer/sdk";

export interface KeyValueStore {
  getItem(key: string): Promise<string | null>;
  setItem(key: string, value: string): Promise<void>;
  removeItem(key: string): Promise<void>;
}

export type QueuedState = "waiting" | "sending" | "failed";

export interface QueuedUpload {
  /** Also the Idempotency-Key. */
  key: string;
  filename: string;
  bytes: number;
  createdAt: string;
  state: QueuedState;
  attempts: number;
  /** Why it failed, in the API's words (failed items wait for retry or discard). */
  error: string | null;
}

export interface SentInvoice {
  id: string;
}

export type Send = (
  contentBase64: string,
  filename: string,
  idempotencyKey: string,
  onProgress: (fraction: number) => void,
) => Promise<SentInvoice>;

export interface QueueSnapshot {
  items: readonly QueuedUpload[];
  /** Upload progress of the item being sent, 0..1. */
  progress: Record<string, number>;
  /** The last flush stopped because the network is away. */
  offline: boolean;
}

const INDEX_KEY = "invoicer.queue.v1";
/** The photos' entries start with this, so a store can keep them apart from the small ones. */
export const CONTENT_PREFIX = "invoicer.queue.v1.content.";
const contentKey = (key: string) => `${CONTENT_PREFIX}${key}`;

export function newIdempotencyKey(): string {
  const random = globalThis.crypto?.randomUUID?.();
  if (random) return random;
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join("");
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${((Math.random() * 4) | 8).toString(16)}${hex(3)}-${hex(12)}`;
}

/** A failure worth trying again later (the network, the server's own trouble), as opposed to a refusal. */
export function isTransient(error: unknown): boolean {
  if (error instanceof ApiError) return error.status >= 500 || error.status === 408 || error.status === 429;
  return true;
}

export class UploadQueue {
  private items: QueuedUpload[] = [];
  private progress: Record<string, number> = {};
  private offline = false;
  private flushing: Promise<SentInvoice[]> | null = null;
  private readonly listeners = new Set<(snapshot: QueueSnapshot) => void>();
  private readonly sentListeners = new Set<(item: QueuedUpload, invoice: SentInvoice) => void>();

  constructor(
    private readonly store: KeyValueStore,
    private readonly send: Send,
  ) {}

  get snapshot(): QueueSnapshot {
    return { items: this.items, progress: this.progress, offline: this.offline };
  }

  subscribe(listener: (snapshot: QueueSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onSent(listener: (item: QueuedUpload, invoice: SentInvoice) => void): () => void {
    this.sentListeners.add(listener);
    return () => this.sentListeners.delete(listener);
  }

  private emit(): void {
    const snapshot = this.snapshot;
    for (const listener of this.listeners) listener(snapshot);
  }

  private async persist(): Promise<void> {
    await this.store.setItem(INDEX_KEY, JSON.stringify(this.items));
    this.emit();
  }

  private async update(key: string, change: Partial<QueuedUpload>): Promise<void> {
    this.items = this.items.map((item) => (item.key === key ? { ...item, ...change } : item));
    await this.persist();
  }

  /** Read the queue the device kept; an item that was being sent when the app died is sent again. */
  async load(): Promise<void> {
    const raw = await this.store.getItem(INDEX_KEY);
    let items: QueuedUpload[] = [];
    try {
      items = raw ? (JSON.parse(raw) as QueuedUpload[]) : [];
    } catch {
      items = []; // a damaged index: the content entries it named are unreachable, nothing is sent twice
    }
    this.items = items.map((item) => (item.state === "sending" ? { ...item, state: "waiting" } : item));
    this.emit();
  }

  /** Keep a capture on the device; it is sent by the next `flush`. */
  async add(contentBase64: string, filename: string, bytes: number): Promise<QueuedUpload> {
    const item: QueuedUpload = {
      key: newIdempotencyKey(),
      filename,
      bytes,
      createdAt: new Date().toISOString(),
      state: "waiting",
      attempts: 0,
      error: null,
    };
    await this.store.setItem(contentKey(item.key), contentBase64);
    this.items = [...this.items, item];
    await this.persist();
    return item;
  }

  /** Send every waiting item, oldest first; concurrent callers share one pass. Resolves with what was sent. */
  flush(): Promise<SentInvoice[]> {
    this.flushing ??= this.doFlush().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async doFlush(): Promise<SentInvoice[]> {
    const sent: SentInvoice[] = [];
    this.offline = false;
    for (const item of [...this.items]) {
      const current = this.items.find((i) => i.key === item.key);
      if (!current || current.state !== "waiting") continue;
      const content = await this.store.getItem(contentKey(item.key));
      if (content === null) {
        await this.update(item.key, { state: "failed", error: "The photo was lost on the device; discard it" });
        continue;
      }
      await this.update(item.key, { state: "sending", attempts: current.attempts + 1 });
      try {
        const invoice = await this.send(content, item.filename, item.key, (fraction) => {
          this.progress = { ...this.progress, [item.key]: fraction };
          this.emit();
        });
        await this.forget(item.key);
        sent.push(invoice);
        for (const listener of this.sentListeners) listener(item, invoice);
      } catch (error) {
        const { [item.key]: _, ...rest } = this.progress;
        this.progress = rest;
        if (isTransient(error)) {
          this.offline = !(error instanceof ApiError);
          await this.update(item.key, { state: "waiting", error: error instanceof Error ? error.message : null });
          break; // the network or the server is away: try the rest later, in order
        }
        await this.update(item.key, { state: "failed", error: (error as ApiError).detail });
      }
    }
    this.emit();
    return sent;
  }

  private async forget(key: string): Promise<void> {
    this.items = this.items.filter((item) => item.key !== key);
    const { [key]: _, ...rest } = this.progress;
    this.progress = rest;
    await this.persist(); // the index first: content without an index entry is never sent
    await this.store.removeItem(contentKey(key));
  }

  /** A failed item goes back in line, with the same key. */
  async retry(key: string): Promise<void> {
    await this.update(key, { state: "waiting", error: null });
  }

  async discard(key: string): Promise<void> {
    await this.forget(key);
  }
}

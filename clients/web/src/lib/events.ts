/** Applying live events to what the app already holds, so rows change in place without a refetch. */
import type { InvoiceDeletedEvent, InvoiceStatusEvent } from "@invoicer/sdk";

export interface ListItem {
  id: string;
  status: string;
  previous_status?: string | null;
  updated_at: string;
  error?: { code: string; message: string } | null;
  values?: Record<string, unknown>;
}

export interface ListPage<T extends ListItem> {
  items: T[];
  next_cursor?: string | null;
}

/** One invoice after a status event; an older event than what we hold changes nothing. */
export function applyStatus<T extends ListItem>(item: T, event: InvoiceStatusEvent): T {
  if (item.id !== event.id || event.updated_at < item.updated_at) return item;
  const values = { ...(item.values ?? {}) };
  if (event.summary) {
    for (const [key, value] of Object.entries(event.summary)) if (value !== null) values[key] = value;
  }
  return {
    ...item,
    status: event.status,
    previous_status: event.previous_status,
    updated_at: event.updated_at,
    error: event.status === "failed" ? (event.error ?? item.error ?? null) : null,
    values,
  };
}

export function applyStatusToPage<T extends ListItem, P extends ListPage<T>>(page: P, event: InvoiceStatusEvent): P {
  if (!page.items.some((item) => item.id === event.id)) return page;
  return { ...page, items: page.items.map((item) => applyStatus(item, event)) };
}

export function applyDeleteToPage<T extends ListItem, P extends ListPage<T>>(page: P, event: InvoiceDeletedEvent): P {
  if (!page.items.some((item) => item.id === event.id)) return page;
  return { ...page, items: page.items.filter((item) => item.id !== event.id) };
}

/** A bounded feed, newest first, one line per event id. */
export function pushActivity<T extends { event_id: string }>(feed: T[], event: T, limit = 50): T[] {
  if (feed.some((entry) => entry.event_id === event.event_id)) return feed;
  return [event, ...feed].slice(0, limit);
}

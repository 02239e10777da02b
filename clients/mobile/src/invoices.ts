/**
 * "My invoices" as a reducer: the list a page load returned, moved by live events. Pure, so the order of
 * events, replays after a reconnect and events about invoices not on screen are all tested without a server.
 */
import type { ApiClient, components, InvoiceDeletedEvent, InvoiceStatusEvent, InvoiceUpdatedEvent } from "@invoicer/sdk";
import type { MethodResponse } from "openapi-fetch";

/** An invoice exactly as the typed client reads `GET /invoices/{id}`. */
export type Invoice = MethodResponse<ApiClient, "get", "/api/v1/invoices/{invoice_id}">;
/** A row of `GET /invoices`: state, review and current values, without the extraction. */
export type InvoiceSummary = components["schemas"]["InvoiceSummary"];
/** What the list holds: a row as the list sent it, or the whole invoice once it was fetched. */
export type ListedInvoice = InvoiceSummary | Invoice;
export type InvoiceStatus = components["schemas"]["InvoiceStatus"];

export interface InvoicesState {
  items: ListedInvoice[];
  /** Invoices an event named that the list does not hold, or whose fields changed: fetch these. */
  stale: string[];
}

export type InvoicesAction =
  | { type: "loaded"; items: ListedInvoice[] }
  | { type: "fetched"; invoice: Invoice }
  | { type: "status"; event: InvoiceStatusEvent }
  | { type: "updated"; event: InvoiceUpdatedEvent }
  | { type: "deleted"; event: InvoiceDeletedEvent | { id: string } };

export const initialInvoices: InvoicesState = { items: [], stale: [] };

const newestFirst = (a: ListedInvoice, b: ListedInvoice) => (b.created_at ?? "").localeCompare(a.created_at ?? "");

function withStale(stale: string[], id: string): string[] {
  return stale.includes(id) ? stale : [...stale, id];
}

export function invoicesReducer(state: InvoicesState, action: InvoicesAction): InvoicesState {
  switch (action.type) {
    case "loaded":
      return { items: [...action.items].sort(newestFirst), stale: [] };
    case "fetched": {
      const others = state.items.filter((item) => item.id !== action.invoice.id);
      return {
        items: [...others, action.invoice].sort(newestFirst),
        stale: state.stale.filter((id) => id !== action.invoice.id),
      };
    }
    case "status": {
      const { event } = action;
      const known = state.items.find((item) => item.id === event.id);
      if (!known) return { ...state, stale: withStale(state.stale, event.id) };
      // Events can arrive twice or late around a reconnect: an older event never undoes a newer state.
      if (known.updated_at && event.updated_at < known.updated_at) return state;
      const moved: ListedInvoice = {
        ...known,
        status: event.status as InvoiceStatus,
        previous_status: (event.previous_status as InvoiceStatus | null) ?? null,
        updated_at: event.updated_at,
        error: event.error ?? null,
      };
      const finished = event.status === "processed" || event.status === "failed";
      return {
        items: state.items.map((item) => (item.id === event.id ? moved : item)),
        // The final state carries a summary only; the fields and the review state come with the invoice.
        stale: finished ? withStale(state.stale, event.id) : state.stale,
      };
    }
    case "updated":
      return { ...state, stale: withStale(state.stale, action.event.id) };
    case "deleted":
      return {
        items: state.items.filter((item) => item.id !== action.event.id),
        stale: state.stale.filter((id) => id !== action.event.id),
      };
    default:
      return state;
  }
}

/** A line for the list: what the invoice is, once it is known. */
export function invoiceTitle(invoice: ListedInvoice): string {
  const vendor = valueOf(invoice, "vendor_name");
  return typeof vendor === "string" && vendor ? vendor : invoice.filename;
}

export function valueOf(invoice: ListedInvoice, field: string): unknown {
  const values = invoice.values as Record<string, unknown> | undefined;
  if (values && field in values) return values[field];
  const fields = extractedFields(invoice);
  return fields?.[field]?.value ?? null;
}

/** The machine's confidence in a field: known once the whole invoice was fetched (a list row has none). */
export function confidenceOf(invoice: ListedInvoice, field: string): number | null {
  const confidence = extractedFields(invoice)?.[field]?.confidence;
  return typeof confidence === "number" ? confidence : null;
}

/** Whether a person corrected the field: known once the whole invoice was fetched. */
export function correctedField(invoice: ListedInvoice, field: string): boolean {
  return "corrections" in invoice && Boolean(invoice.corrections && field in invoice.corrections);
}

function extractedFields(invoice: ListedInvoice): Record<string, { value?: unknown; confidence?: number } | null | undefined> | undefined {
  if (!("extraction" in invoice)) return undefined;
  return invoice.extraction?.fields as Record<string, { value?: unknown; confidence?: number } | null | undefined> | undefined;
}

/** Below this a field is marked doubtful and the invoice needs review (the design's threshold). */
export const DOUBTFUL_BELOW = 0.8;

export const FIELDS: readonly { name: string; label: string }[] = [
  { name: "vendor_name", label: "Vendor" },
  { name: "invoice_number", label: "Number" },
  { name: "invoice_date", label: "Date" },
  { name: "due_date", label: "Due" },
  { name: "currency", label: "Currency" },
  { name: "subtotal", label: "Subtotal" },
  { name: "tax", label: "Tax" },
  { name: "total", label: "Total" },
  { name: "vendor_tax_id", label: "Vendor tax id" },
  { name: "customer_name", label: "Customer" },
];

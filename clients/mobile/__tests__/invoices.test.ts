import type { InvoiceStatusEvent } from "@invoicer/sdk";
import {
  confidenceOf,
  correctedField,
  initialInvoices,
  invoicesReducer,
  invoiceTitle,
  valueOf,
  type Invoice,
  type InvoiceSummary,
} from "../src/invoices";

function invoice(id: string, created: string, extra: Partial<Invoice> = {}): Invoice {
  return {
    id,
    org_id: "o",
    owner_id: "u",
    filename: `${id}.jpg`,
    content_type: "image/jpeg",
    sha256: "x",
    size: 1,
    attempts: 0,
    status: "pending",
    created_at: created,
    updated_at: created,
    ...extra,
  } as Invoice;
}

function status(id: string, next: string, at: string, previous = "pending"): InvoiceStatusEvent {
  return { event_id: `${at}-${id}-${next}`, id, status: next, previous_status: previous, updated_at: at };
}

describe("my invoices, moved by live events", () => {
  const loaded = invoicesReducer(initialInvoices, {
    type: "loaded",
    items: [invoice("a", "2026-01-01T10:00:00Z"), invoice("b", "2026-01-02T10:00:00Z")],
  });

  it("lists newest first", () => {
    expect(loaded.items.map((i) => i.id)).toEqual(["b", "a"]);
  });

  it("moves an invoice through its states and asks for the whole invoice when it is finished", () => {
    const processing = invoicesReducer(loaded, { type: "status", event: status("a", "processing", "2026-01-03T00:00:01Z") });
    expect(processing.items.find((i) => i.id === "a")?.status).toBe("processing");
    expect(processing.stale).toEqual([]);
    const done = invoicesReducer(processing, {
      type: "status",
      event: status("a", "processed", "2026-01-03T00:00:02Z", "processing"),
    });
    expect(done.items.find((i) => i.id === "a")).toMatchObject({ status: "processed", previous_status: "processing" });
    expect(done.stale).toEqual(["a"]);
    const fetched = invoicesReducer(done, { type: "fetched", invoice: invoice("a", "2026-01-01T10:00:00Z", { status: "processed" }) });
    expect(fetched.stale).toEqual([]);
  });

  it("a late or replayed event never undoes a newer state", () => {
    const done = invoicesReducer(loaded, { type: "status", event: status("a", "processed", "2026-01-03T00:00:05Z") });
    const late = invoicesReducer(done, { type: "status", event: status("a", "processing", "2026-01-03T00:00:01Z") });
    expect(late.items.find((i) => i.id === "a")?.status).toBe("processed");
  });

  it("an event about an invoice not on screen asks for it; a deletion removes it", () => {
    const unknown = invoicesReducer(loaded, { type: "status", event: status("c", "processing", "2026-01-03T00:00:01Z") });
    expect(unknown.stale).toEqual(["c"]);
    const fetched = invoicesReducer(unknown, { type: "fetched", invoice: invoice("c", "2026-01-05T00:00:00Z") });
    expect(fetched.items.map((i) => i.id)).toEqual(["c", "b", "a"]);
    const deleted = invoicesReducer(fetched, { type: "deleted", event: { id: "b" } });
    expect(deleted.items.map((i) => i.id)).toEqual(["c", "a"]);
    const corrected = invoicesReducer(deleted, {
      type: "updated",
      event: { event_id: "e", id: "a", updated_at: "2026-01-06T00:00:00Z", fields_changed: ["total"] },
    });
    expect(corrected.stale).toEqual(["a"]);
  });

  it("shows the person's value over the machine's, and the machine's confidence", () => {
    const read = invoice("d", "2026-01-01T00:00:00Z", {
      extraction: {
        ok: true,
        method: "ocr",
        pages: 1,
        fields: { vendor_name: { value: "ACME", confidence: 0.95, source: "ocr" }, total: { value: "9.99", confidence: 0.5, source: "ocr" } },
      } as Invoice["extraction"],
      values: { total: "10.99" },
    });
    expect(invoiceTitle(read)).toBe("ACME");
    expect(valueOf(read, "total")).toBe("10.99");
    expect(confidenceOf(read, "total")).toBe(0.5);
    expect(invoiceTitle(invoice("e", "2026-01-01T00:00:00Z"))).toBe("e.jpg");
  });

  it("a list row shows its values; confidence and corrections wait for the whole invoice", () => {
    const row: InvoiceSummary = { ...invoice("f", "2026-01-01T00:00:00Z"), values: { vendor_name: "ACME", total: "9.99" } };
    const listed = invoicesReducer(initialInvoices, { type: "loaded", items: [row] });
    const shown = listed.items[0]!;
    expect(invoiceTitle(shown)).toBe("ACME");
    expect(valueOf(shown, "total")).toBe("9.99");
    expect(confidenceOf(shown, "total")).toBeNull();
    expect(correctedField(shown, "total")).toBe(false);
    const whole = invoice("f", "2026-01-01T00:00:00Z", {
      values: { total: "10.99" },
      corrections: { total: { value: "10.99", by: "u", at: "2026-01-02T00:00:00Z" } },
    });
    const fetched = invoicesReducer(listed, { type: "fetched", invoice: whole });
    expect(correctedField(fetched.items[0]!, "total")).toBe(true);
    expect(valueOf(fetched.items[0]!, "total")).toBe("10.99");
  });
});

import { describe, expect, it } from "vitest";
import { fieldViews, isDoubtful, nextDoubtful } from "../src/invoice/fields";
import { sumDecimal } from "../src/lib/decimal";
import { applyDeleteToPage, applyStatus, applyStatusToPage, pushActivity } from "../src/lib/events";
import { rotatedFrame, turn } from "../src/lib/rotation";
import { checkField, parseDate, parseMoney } from "../src/lib/validation";
import type { Invoice } from "../src/app/api";

describe("money as a person types it", () => {
  it.each([
    ["1234.50", "1234.50"],
    ["1.234,50", "1234.50"],
    ["1,234.50", "1234.50"],
    ["12,5", "12.5"],
    ["€ 118.00", "118.00"],
    ["118.00 EUR", "118.00"],
    ["1,234", "1234"],
    ["-20.00", "-20.00"],
    ["", null],
  ])("%s -> %s", (input, expected) => {
    expect(parseMoney(input)).toEqual({ ok: true, value: expected });
  });

  it.each(["12.3.4", "abc", "1e5", "12.34567"])("refuses %s with a message", (input) => {
    const result = parseMoney(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(/amount/i);
  });
});

describe("dates", () => {
  it("takes ISO days that exist", () => {
    expect(parseDate("2024-02-29")).toEqual({ ok: true, value: "2024-02-29" });
    expect(parseDate("2023-02-29")).toEqual({ ok: false, message: "This day does not exist" });
    expect(parseDate("01/03/2024").ok).toBe(false);
  });

  it("checks each field by its kind", () => {
    expect(checkField("total", "12,50")).toEqual({ ok: true, value: "12.50" });
    expect(checkField("due_date", "2024-13-01").ok).toBe(false);
    expect(checkField("currency", "eur")).toEqual({ ok: true, value: "EUR" });
    expect(checkField("currency", "euro").ok).toBe(false);
    expect(checkField("vendor_name", "  ACME  ")).toEqual({ ok: true, value: "ACME" });
  });
});

describe("sums of decimal strings", () => {
  it("are exact", () => {
    expect(sumDecimal(["0.10", "0.20"])).toBe("0.30");
    expect(sumDecimal(["1234.5", "0.0001"])).toBe("1234.5001");
    expect(sumDecimal(["-5.00", "2.50"])).toBe("-2.50");
  });
});

describe("quarter turns", () => {
  it("wrap around both ways", () => {
    expect(turn(0, -1)).toBe(3);
    expect(turn(3, 1)).toBe(0);
  });

  it("swap the canvas sides on odd turns", () => {
    expect(rotatedFrame(400, 300, 1)).toMatchObject({ width: 300, height: 400, angle: Math.PI / 2 });
    expect(rotatedFrame(400, 300, 2)).toMatchObject({ width: 400, height: 300 });
    expect(rotatedFrame(400, 300, 3)).toMatchObject({ width: 300, height: 400, dx: -200, dy: -150 });
  });
});

describe("live events on a list", () => {
  const row = { id: "a", status: "pending", updated_at: "2025-03-01T12:00:00.000Z", values: {} as Record<string, unknown> };
  const event = {
    event_id: "1740830401000-a-processed",
    id: "a",
    status: "processed",
    previous_status: "processing",
    updated_at: "2025-03-01T12:00:01.000Z",
    summary: { vendor_name: "ACME", invoice_number: null, total: "118.00", currency: "EUR" },
  };

  it("changes the row in place, summary included", () => {
    const updated = applyStatus(row, event);
    expect(updated.status).toBe("processed");
    expect(updated.values).toEqual({ vendor_name: "ACME", total: "118.00", currency: "EUR" });
  });

  it("ignores an event older than the row", () => {
    expect(applyStatus({ ...row, updated_at: "2025-03-01T12:00:05.000Z" }, event)).toEqual({
      ...row,
      updated_at: "2025-03-01T12:00:05.000Z",
    });
  });

  it("leaves pages without the invoice untouched and drops deleted rows", () => {
    const page = { items: [row], next_cursor: "c" };
    expect(applyStatusToPage({ items: [], next_cursor: null }, event)).toEqual({ items: [], next_cursor: null });
    expect(applyStatusToPage(page, event).items[0]?.status).toBe("processed");
    expect(applyDeleteToPage(page, { event_id: "x", id: "a" }).items).toEqual([]);
  });

  it("keeps one feed line per event", () => {
    const feed = pushActivity([], { event_id: "1" });
    expect(pushActivity(feed, { event_id: "1" })).toHaveLength(1);
    expect(pushActivity(feed, { event_id: "2" }, 1)).toEqual([{ event_id: "2" }]);
  });
});

describe("fields of an invoice", () => {
  const invoice = {
    extraction: {
      ok: true,
      fields: {
        total: { value: "118.00", confidence: 0.55, source: "ocr", page: 1, bbox: [10, 20, 110, 40] },
        vendor_name: { value: "ACME", confidence: 0.95, source: "ocr", page: 1, bbox: [0, 0, 50, 10] },
        invoice_date: { value: "2024-03-01", confidence: 0.6, source: "ocr" },
      },
    },
    corrections: { invoice_date: { value: "2024-03-02", by: "u", at: "2025-01-01T00:00:00Z" } },
  } as unknown as Invoice;

  it("put a person's correction beside the machine's value", () => {
    const date = fieldViews(invoice).find((field) => field.name === "invoice_date")!;
    expect(date).toMatchObject({ machine: "2024-03-01", value: "2024-03-02", corrected: true, source: "person" });
  });

  it("find the next doubtful field, skipping corrected ones", () => {
    const fields = fieldViews(invoice);
    expect(fields.filter(isDoubtful).map((field) => field.name)).toEqual(["total"]);
    expect(nextDoubtful(fields, null)?.name).toBe("total");
    expect(nextDoubtful(fields, "total")?.name).toBe("total");
  });
});

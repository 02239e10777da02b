/** Checking what a person types before it is sent: money as an exact decimal string, dates as ISO days. */

export type Check = { ok: true; value: string | null } | { ok: false; message: string };

const MONEY = /^-?\d{1,12}(\.\d{1,4})?$/;

/** "1.234,50", "1,234.50", "1234.5", "€ 12" → "1234.50"-style exact strings; never through a float. */
export function parseMoney(input: string): Check {
  let text = input.trim().replace(/[\s€$£¥]|[A-Z]{3}$/g, "");
  if (text === "") return { ok: true, value: null };
  const lastComma = text.lastIndexOf(",");
  const lastDot = text.lastIndexOf(".");
  if (lastComma > -1 && lastDot > -1) {
    // The later separator is the decimal one; the other groups thousands.
    const decimal = lastComma > lastDot ? "," : ".";
    const group = decimal === "," ? "." : ",";
    text = text.split(group).join("").replace(decimal, ".");
  } else if (lastComma > -1) {
    const decimals = text.length - lastComma - 1;
    text = decimals === 3 && text.indexOf(",") === lastComma && !text.startsWith("0,") ? text.replace(",", "") : text.replace(",", ".");
  }
  if (!MONEY.test(text)) return { ok: false, message: "Enter an amount like 1234.50" };
  return { ok: true, value: text };
}

/** An ISO day (YYYY-MM-DD) that exists in the calendar. */
export function parseDate(input: string): Check {
  const text = input.trim();
  if (text === "") return { ok: true, value: null };
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return { ok: false, message: "Enter a date as YYYY-MM-DD" };
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return { ok: false, message: "This day does not exist" };
  }
  if (year < 1900 || year > 2200) return { ok: false, message: "Enter a year between 1900 and 2200" };
  return { ok: true, value: text };
}

export function parseCurrency(input: string): Check {
  const text = input.trim().toUpperCase();
  if (text === "") return { ok: true, value: null };
  if (!/^[A-Z]{3}$/.test(text)) return { ok: false, message: "Enter a three-letter currency code, like EUR" };
  return { ok: true, value: text };
}

export function parseText(input: string): Check {
  const text = input.trim();
  if (text.length > 500) return { ok: false, message: "At most 500 characters" };
  return { ok: true, value: text === "" ? null : text };
}

export type FieldKind = "money" | "date" | "currency" | "text";

export const FIELD_KINDS: Record<string, FieldKind> = {
  invoice_number: "text",
  invoice_date: "date",
  due_date: "date",
  vendor_name: "text",
  vendor_address: "text",
  vendor_tax_id: "text",
  customer_name: "text",
  currency: "currency",
  subtotal: "money",
  tax: "money",
  total: "money",
  document_type: "text",
};

export function checkField(name: string, input: string): Check {
  switch (FIELD_KINDS[name] ?? "text") {
    case "money":
      return parseMoney(input);
    case "date":
      return parseDate(input);
    case "currency":
      return parseCurrency(input);
    default:
      return parseText(input);
  }
}

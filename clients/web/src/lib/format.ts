export function formatMoney(value: unknown, currency?: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  const text = String(value);
  return typeof currency === "string" && currency ? `${text} ${currency}` : text;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export const STATUS_LABELS: Record<string, string> = {
  pending: "Pending",
  processing: "Processing",
  processed: "Processed",
  failed: "Failed",
};

export const FIELD_LABELS: Record<string, string> = {
  invoice_number: "Invoice number",
  invoice_date: "Invoice date",
  due_date: "Due date",
  vendor_name: "Vendor",
  vendor_address: "Vendor address",
  vendor_tax_id: "Vendor tax id",
  customer_name: "Customer",
  currency: "Currency",
  subtotal: "Subtotal",
  tax: "Tax",
  total: "Total",
  document_type: "Document type",
};

export const SOURCE_LABELS: Record<string, string> = {
  xml: "e-invoice XML",
  pdf_text: "PDF text",
  ocr: "OCR",
  llm: "LLM",
  person: "person",
};

/** A confidence as a level the colours and screen readers share. */
export function confidenceLevel(confidence: number | null | undefined): "high" | "medium" | "low" {
  if (confidence === null || confidence === undefined) return "low";
  if (confidence >= 0.8) return "high";
  if (confidence >= 0.5) return "medium";
  return "low";
}

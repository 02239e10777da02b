/** The fields of an invoice as the page shows them: the machine's reading beside a person's correction. */
import type { Invoice } from "../app/api";

export const FIELD_ORDER = [
  "vendor_name",
  "invoice_number",
  "invoice_date",
  "due_date",
  "currency",
  "subtotal",
  "tax",
  "total",
  "vendor_tax_id",
  "vendor_address",
  "customer_name",
] as const;

export const DOUBTFUL_BELOW = 0.8;

export interface FieldView {
  name: string;
  machine: unknown;
  confidence: number | null;
  source: string | null;
  page: number | null;
  bbox: [number, number, number, number] | null;
  corrected: boolean;
  correction: unknown;
  value: unknown;
}

interface MachineField {
  value?: unknown;
  confidence?: number;
  source?: string;
  page?: number | null;
  bbox?: number[] | null;
}

export function fieldViews(invoice: Invoice): FieldView[] {
  const fields = (invoice.extraction?.fields ?? {}) as Record<string, MachineField | null | undefined>;
  const corrections = invoice.corrections ?? {};
  return FIELD_ORDER.map((name) => {
    const machine = fields[name] ?? null;
    const correction = corrections[name];
    const bbox = machine?.bbox && machine.bbox.length === 4 ? (machine.bbox as [number, number, number, number]) : null;
    return {
      name,
      machine: machine?.value ?? null,
      confidence: machine?.confidence ?? null,
      source: correction ? "person" : (machine?.source ?? null),
      page: machine?.page ?? (bbox ? 1 : null),
      bbox,
      corrected: correction !== undefined,
      correction: correction?.value ?? null,
      value: correction !== undefined ? correction.value : (machine?.value ?? null),
    };
  });
}

/** A field a person should look at: found with low confidence and not corrected yet (or not found at all). */
export function isDoubtful(field: FieldView): boolean {
  if (field.corrected) return false;
  return field.confidence !== null && field.confidence < DOUBTFUL_BELOW;
}

export function nextDoubtful(fields: FieldView[], after: string | null): FieldView | null {
  const start = after ? fields.findIndex((field) => field.name === after) + 1 : 0;
  const ordered = [...fields.slice(start), ...fields.slice(0, start)];
  return ordered.find(isDoubtful) ?? null;
}

export function display(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  return String(value);
}

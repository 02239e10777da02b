import { useState } from "react";
import type { Invoice, LineItem } from "../app/api";
import { parseMoney } from "../lib/validation";
import { display } from "./fields";

type EditableItem = Pick<LineItem, "description" | "quantity" | "unit_price" | "amount">;

/** The line-item table, edited as a whole and sent as one correction. */
export function LineItems({ invoice, saving, onSave }: { invoice: Invoice; saving: boolean; onSave: (items: EditableItem[]) => void }) {
  const corrected = (invoice.corrections?.line_items?.value ?? null) as EditableItem[] | null;
  const current: EditableItem[] = corrected ?? (invoice.extraction?.fields?.line_items ?? []);
  const [draft, setDraft] = useState<EditableItem[] | null>(null);
  const rows = draft ?? current;
  const invalid = rows.some((row) =>
    (["quantity", "unit_price", "amount"] as const).some((key) => {
      const value = row[key];
      return value !== null && value !== undefined && value !== "" && !parseMoney(String(value)).ok;
    }),
  );

  function set(index: number, key: keyof EditableItem, value: string) {
    setDraft(rows.map((row, at) => (at === index ? { ...row, [key]: value === "" ? null : value } : row)));
  }

  return (
    <section className="line-items" aria-label="Line items">
      <h2 className="card-title">
        Line items {corrected ? <span className="source">person</span> : null}
      </h2>
      {rows.length === 0 && !draft ? <p className="muted">No line items were found.</p> : null}
      {rows.length > 0 || draft ? (
        <div className="table-wrap">
          <table className="table table-compact">
            <thead>
              <tr>
                <th scope="col">Description</th>
                <th scope="col" className="num">Qty</th>
                <th scope="col" className="num">Unit price</th>
                <th scope="col" className="num">Amount</th>
                {draft ? <th scope="col"><span className="visually-hidden">Remove</span></th> : null}
              </tr>
            </thead>
            <tbody>
              {rows.map((row, index) =>
                draft ? (
                  <tr key={index}>
                    {(["description", "quantity", "unit_price", "amount"] as const).map((key) => (
                      <td key={key} className={key === "description" ? "" : "num"}>
                        <input
                          aria-label={`${key.replace("_", " ")} of line ${index + 1}`}
                          value={row[key] === null || row[key] === undefined ? "" : String(row[key])}
                          onChange={(event) => set(index, key, event.target.value)}
                        />
                      </td>
                    ))}
                    <td>
                      <button type="button" className="link-button" onClick={() => setDraft(rows.filter((_, at) => at !== index))}>
                        Remove
                      </button>
                    </td>
                  </tr>
                ) : (
                  <tr key={index}>
                    <td>{display(row.description)}</td>
                    <td className="num">{display(row.quantity)}</td>
                    <td className="num">{display(row.unit_price)}</td>
                    <td className="num">{display(row.amount)}</td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        </div>
      ) : null}
      <div className="detail-actions">
        {draft ? (
          <>
            <button type="button" className="button button-small" onClick={() => setDraft([...rows, { description: "", quantity: null, unit_price: null, amount: null }])}>
              Add line
            </button>
            <button
              type="button"
              className="button button-small button-primary"
              disabled={invalid || saving}
              onClick={() => {
                onSave(rows.map((row) => ({ ...row, quantity: norm(row.quantity), unit_price: norm(row.unit_price), amount: norm(row.amount) })));
                setDraft(null);
              }}
            >
              Save lines
            </button>
            <button type="button" className="button button-small button-ghost" onClick={() => setDraft(null)}>
              Cancel
            </button>
            {invalid ? <span className="field-error">Amounts must look like 12.50</span> : null}
          </>
        ) : (
          <button type="button" className="button button-small" onClick={() => setDraft(current.map((row) => ({ ...row })))}>
            Edit lines
          </button>
        )}
      </div>
    </section>
  );
}

function norm(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  const check = parseMoney(String(value));
  return check.ok ? check.value : null;
}

import { ApiError, errorFromResponse, unwrap } from "@invoicer/sdk";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type ChangeEvent, type KeyboardEvent } from "react";
import { api, session, type Invoice, type LineItem } from "../app/api";
import { ConfidenceBadge, ErrorNotice, StatusBadge, messageOf } from "../app/ui";
import { FIELD_LABELS, SOURCE_LABELS, formatBytes, formatDateTime } from "../lib/format";
import { checkField, parseMoney, FIELD_KINDS } from "../lib/validation";
import { display, fieldViews, nextDoubtful, type FieldView } from "./fields";
import { usePageImage } from "./usePageImage";

interface Review {
  state: "needs_review" | "confirmed" | "not_needed";
  reasons?: { code: string; message: string; field?: string | null }[];
  by?: string | null;
  at?: string | null;
}

export function reviewOf(invoice: Invoice): Review | null {
  return (invoice as { review?: Review | null }).review ?? null;
}

export interface DetailProps {
  invoice: Invoice;
  /** Increments when the person asks to edit the next doubtful field (`e` in the review queue). */
  editNextSignal?: number;
  onDeleted?: () => void;
  /** "Save and next" in the review queue. */
  onSavedAndNext?: () => void;
}

export function InvoiceDetail({ invoice, editNextSignal = 0, onDeleted, onSavedAndNext }: DetailProps) {
  const queryClient = useQueryClient();
  const fields = fieldViews(invoice);
  const [active, setActive] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const pages = Math.max(invoice.pages ?? 1, 1);

  // Only a signal sent while this invoice is shown opens an editor, not the count it mounted with.
  const handledSignal = useRef(editNextSignal);
  useEffect(() => {
    if (editNextSignal === handledSignal.current) return;
    handledSignal.current = editNextSignal;
    const next = nextDoubtful(fields, editing);
    if (next) {
      setEditing(next.name);
      setActive(next.name);
    } else {
      setNotice("No doubtful field left: every field is confident or corrected.");
    }
  }, [editNextSignal]); // eslint-disable-line react-hooks/exhaustive-deps

  // PATCH and friends answer the same public invoice (typed apart only by how the schema names its parts).
  // "Being read now" notices end when the watcher's result arrives.
  useEffect(() => {
    if (invoice.status === "processed" || invoice.status === "failed") setNotice(null);
  }, [invoice.status, invoice.updated_at]);

  const refresh = (updated?: unknown) => {
    if (updated) queryClient.setQueryData(["invoice", invoice.id], updated as Invoice);
    void queryClient.invalidateQueries({ queryKey: ["invoices", "list"] });
    void queryClient.invalidateQueries({ queryKey: ["review"] });
  };

  const correct = useMutation({
    mutationFn: async (fieldsPatch: Record<string, unknown>) =>
      unwrap(
        await api.PATCH("/api/v1/invoices/{invoice_id}", {
          params: { path: { invoice_id: invoice.id } },
          body: { fields: fieldsPatch },
        }),
      ),
    onSuccess: (updated) => refresh(updated),
  });
  const reprocess = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/v1/invoices/{invoice_id}/reprocess", { params: { path: { invoice_id: invoice.id } } })),
    onSuccess: (updated) => {
      setNotice("Sent back for extraction; this page updates when it is done.");
      refresh(updated);
    },
  });
  const remove = useMutation({
    mutationFn: async () =>
      unwrap(await api.DELETE("/api/v1/invoices/{invoice_id}", { params: { path: { invoice_id: invoice.id } } })),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: ["invoice", invoice.id] });
      refresh();
      onDeleted?.();
    },
  });
  const replace = useMutation({
    mutationFn: async (file: File) => {
      const body = new FormData();
      body.append("file", file, file.name);
      const response = await session.fetch(
        new Request(`/api/v1/invoices/${invoice.id}/file`, { method: "PUT", body }),
      );
      if (!response.ok) throw await errorFromResponse(response);
      return (await response.json()) as Invoice;
    },
    onSuccess: (updated) => {
      setNotice("New file stored; it is being read now.");
      refresh(updated);
    },
  });
  const confirm = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/v1/invoices/{invoice_id}/confirm", { params: { path: { invoice_id: invoice.id } } })),
    onSuccess: (updated) => refresh(updated),
  });

  async function download() {
    try {
      const response = await session.fetch(new Request(`/api/v1/invoices/${invoice.id}/file`));
      if (!response.ok) throw await errorFromResponse(response);
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement("a");
      link.href = url;
      link.download = invoice.filename;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      setNotice(messageOf(error));
    }
  }

  const review = reviewOf(invoice);
  const warnings = invoice.extraction?.warnings ?? [];
  const error = correct.error ?? reprocess.error ?? remove.error ?? replace.error ?? confirm.error;
  const finished = invoice.status === "processed" || invoice.status === "failed";

  return (
    <div className="detail" data-testid="invoice-detail" data-status={invoice.status}>
      <section className="document" aria-label="Document">
        {Array.from({ length: pages }, (_, index) => (
          <DocumentPage
            key={`${index + 1}-${invoice.sha256}`}
            invoiceId={invoice.id}
            version={invoice.sha256}
            number={index + 1}
            fields={fields}
            active={active}
            onSelect={setActive}
          />
        ))}
      </section>
      <section className="fields-panel" aria-label="Extracted data">
        <div className="detail-head">
          <h1 className="detail-title">{invoice.filename}</h1>
          <p className="muted">
            <StatusBadge status={invoice.status} /> {formatBytes(invoice.size)} · uploaded {formatDateTime(invoice.created_at)}
            {invoice.extraction?.method ? ` · read from ${SOURCE_LABELS[invoice.extraction.method] ?? invoice.extraction.method}` : ""}
          </p>
          {invoice.duplicate_of ? (
            <p className="notice notice-warning">
              Same file as <a href={`/invoices/${invoice.duplicate_of}`}>an earlier invoice</a>.
            </p>
          ) : null}
          {invoice.status === "failed" && invoice.error ? (
            <p className="notice notice-error" role="alert">
              Failed: {invoice.error.message}
            </p>
          ) : null}
          {!finished ? (
            <p className="notice" role="status">
              Being read now ({invoice.status})… this page updates by itself.
            </p>
          ) : null}
          {notice ? (
            <p className="notice" role="status">
              {notice}
            </p>
          ) : null}
          <ErrorNotice error={error} />
        </div>

        <ReviewBox review={review} finished={finished} confirming={confirm.isPending} onConfirm={() => confirm.mutate()} />

        {warnings.length > 0 ? (
          <div className="notice notice-warning" aria-label="Warnings">
            <strong>Check these:</strong>
            <ul>
              {warnings.map((warning) => (
                <li key={warning}>{warning}</li>
              ))}
            </ul>
          </div>
        ) : null}

        <dl className="field-list">
          {fields.map((field) => (
            <FieldRow
              key={field.name}
              field={field}
              active={active === field.name}
              editing={editing === field.name}
              saving={correct.isPending}
              onFocus={() => setActive(field.name)}
              onEdit={() => setEditing(field.name)}
              onCancel={() => setEditing(null)}
              onSave={(value, andNext) =>
                correct.mutate(
                  { [field.name]: value },
                  {
                    onSuccess: (updated) => {
                      if (andNext) {
                        const next = nextDoubtful(fieldViews(updated as Invoice), field.name);
                        setEditing(next?.name ?? null);
                        if (!next && onSavedAndNext) onSavedAndNext();
                      } else {
                        setEditing(null);
                      }
                    },
                  },
                )
              }
              onRevert={() => correct.mutate({ [field.name]: null })}
            />
          ))}
        </dl>

        <LineItems invoice={invoice} saving={correct.isPending} onSave={(items) => correct.mutate({ line_items: items })} />

        <div className="detail-actions">
          <button type="button" className="button" disabled={reprocess.isPending || !finished} onClick={() => reprocess.mutate()}>
            Reprocess
          </button>
          <label className={`button ${replace.isPending ? "button-disabled" : ""}`}>
            Replace file
            <input
              className="visually-hidden"
              type="file"
              accept="image/*,application/pdf,.xml"
              disabled={replace.isPending}
              onChange={(event: ChangeEvent<HTMLInputElement>) => {
                const file = event.target.files?.[0];
                if (file) replace.mutate(file);
                event.target.value = "";
              }}
            />
          </label>
          <button type="button" className="button" onClick={() => void download()}>
            Download original
          </button>
          <DeleteButton deleting={remove.isPending} onDelete={() => remove.mutate()} />
        </div>
      </section>
    </div>
  );
}

function ReviewBox({
  review,
  finished,
  confirming,
  onConfirm,
}: {
  review: Review | null;
  finished: boolean;
  confirming: boolean;
  onConfirm: () => void;
}) {
  if (!review) return null;
  return (
    <div className={`review-box review-${review.state}`} data-testid="review-box" data-state={review.state}>
      <div>
        <strong>
          {review.state === "needs_review" ? "Needs review" : review.state === "confirmed" ? "Confirmed" : "No review needed"}
        </strong>
        {review.state === "confirmed" && review.at ? <span className="muted"> · {formatDateTime(review.at)}</span> : null}
        {review.reasons && review.reasons.length > 0 ? (
          <ul className="reasons">
            {review.reasons.map((reason, index) => (
              <li key={`${reason.code}-${index}`}>{reason.message}</li>
            ))}
          </ul>
        ) : null}
      </div>
      {review.state === "needs_review" && finished ? (
        <button type="button" className="button button-primary" disabled={confirming} onClick={onConfirm}>
          Confirm
        </button>
      ) : null}
    </div>
  );
}

function DeleteButton({ deleting, onDelete }: { deleting: boolean; onDelete: () => void }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="button button-danger" onClick={() => setAsking(true)}>
        Delete
      </button>
    );
  }
  return (
    <span className="confirm-delete" role="group" aria-label="Confirm deletion">
      <span>Delete this invoice and its file for good?</span>
      <button type="button" className="button button-danger" disabled={deleting} onClick={onDelete} autoFocus>
        Yes, delete
      </button>
      <button type="button" className="button button-ghost" onClick={() => setAsking(false)}>
        Keep it
      </button>
    </span>
  );
}

function DocumentPage({
  invoiceId,
  version,
  number,
  fields,
  active,
  onSelect,
}: {
  invoiceId: string;
  version: string;
  number: number;
  fields: FieldView[];
  active: string | null;
  onSelect: (name: string) => void;
}) {
  const image = usePageImage(invoiceId, number, version);
  const activeBox = useRef<HTMLButtonElement | null>(null);
  useEffect(() => {
    activeBox.current?.scrollIntoView({ block: "center", behavior: "smooth" });
  }, [active]);
  if (image.error) {
    return (
      <div className="page page-missing">
        <p>{image.error instanceof ApiError ? image.error.detail : messageOf(image.error)}</p>
      </div>
    );
  }
  if (!image.data) {
    return <div className="page page-loading" aria-label={`Page ${number} loading`} />;
  }
  const { url, width, height } = image.data;
  const boxes = fields.filter((field) => field.bbox && (field.page ?? 1) === number);
  return (
    <figure className="page" data-testid="page" data-page={number}>
      <div className="page-frame">
        <img src={url} alt={`Page ${number} of the document`} data-testid="page-image" />
        {boxes.map((field) => {
          const [x0, y0, x1, y1] = field.bbox as [number, number, number, number];
          const isActive = active === field.name;
          return (
            <button
              type="button"
              key={field.name}
              ref={isActive ? activeBox : undefined}
              tabIndex={-1}
              className={`box ${isActive ? "box-active" : ""}`}
              data-testid="field-box"
              data-field={field.name}
              aria-label={`${FIELD_LABELS[field.name] ?? field.name} on the page`}
              style={{
                left: `${(x0 / width) * 100}%`,
                top: `${(y0 / height) * 100}%`,
                width: `${(Math.max(x1 - x0, 1) / width) * 100}%`,
                height: `${(Math.max(y1 - y0, 1) / height) * 100}%`,
              }}
              onClick={() => onSelect(field.name)}
            />
          );
        })}
      </div>
      <figcaption className="muted">Page {number}</figcaption>
    </figure>
  );
}

function FieldRow({
  field,
  active,
  editing,
  saving,
  onFocus,
  onEdit,
  onCancel,
  onSave,
  onRevert,
}: {
  field: FieldView;
  active: boolean;
  editing: boolean;
  saving: boolean;
  onFocus: () => void;
  onEdit: () => void;
  onCancel: () => void;
  onSave: (value: string | null, andNext: boolean) => void;
  onRevert: () => void;
}) {
  const [draft, setDraft] = useState("");
  const input = useRef<HTMLInputElement>(null);
  const label = FIELD_LABELS[field.name] ?? field.name;
  useEffect(() => {
    if (editing) {
      setDraft(field.value === null || field.value === undefined ? "" : String(field.value));
      setTimeout(() => input.current?.focus(), 0);
    }
  }, [editing]); // eslint-disable-line react-hooks/exhaustive-deps
  const check = checkField(field.name, draft);
  const inputId = `field-${field.name}`;
  const errorId = `${inputId}-error`;

  function keys(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "Escape") onCancel();
    if (event.key === "Enter") {
      event.preventDefault();
      if (check.ok) onSave(check.value, event.shiftKey);
    }
    event.stopPropagation();
  }

  return (
    <div
      className={`field-row ${active ? "field-row-active" : ""}`}
      data-testid="field-row"
      data-field={field.name}
      onMouseEnter={onFocus}
      onFocus={onFocus}
    >
      <dt>
        <label htmlFor={editing ? inputId : undefined}>{label}</label>
        <span className="field-meta">
          <ConfidenceBadge confidence={field.corrected ? 1 : field.confidence} />
          {field.source ? <span className="source">{SOURCE_LABELS[field.source] ?? field.source}</span> : null}
        </span>
      </dt>
      <dd>
        {editing ? (
          <div className="field-editor">
            <input
              id={inputId}
              ref={input}
              value={draft}
              inputMode={FIELD_KINDS[field.name] === "money" ? "decimal" : undefined}
              placeholder={FIELD_KINDS[field.name] === "date" ? "YYYY-MM-DD" : undefined}
              aria-invalid={!check.ok}
              aria-describedby={!check.ok ? errorId : undefined}
              onChange={(event) => setDraft(event.target.value)}
              onKeyDown={keys}
              data-testid="field-input"
            />
            {!check.ok ? (
              <span id={errorId} className="field-error" role="alert">
                {check.message}
              </span>
            ) : null}
            <div className="field-editor-actions">
              <button type="button" className="button button-small button-primary" disabled={!check.ok || saving} onClick={() => check.ok && onSave(check.value, false)}>
                Save
              </button>
              <button type="button" className="button button-small" disabled={!check.ok || saving} onClick={() => check.ok && onSave(check.value, true)}>
                Save and next
              </button>
              <button type="button" className="button button-small button-ghost" onClick={onCancel}>
                Cancel
              </button>
            </div>
          </div>
        ) : (
          <div className="field-value">
            <button type="button" className="value-button" onClick={onEdit} aria-label={`Edit ${label}: ${display(field.value)}`} data-testid="field-value">
              {display(field.value)}
            </button>
            {field.corrected ? (
              <span className="machine-value" data-testid="machine-value">
                machine read: {display(field.machine)}{" "}
                <button type="button" className="link-button" onClick={onRevert} disabled={saving}>
                  use it
                </button>
              </span>
            ) : null}
          </div>
        )}
      </dd>
    </div>
  );
}

type EditableItem = Pick<LineItem, "description" | "quantity" | "unit_price" | "amount">;

function LineItems({ invoice, saving, onSave }: { invoice: Invoice; saving: boolean; onSave: (items: EditableItem[]) => void }) {
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

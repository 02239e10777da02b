import { errorFromResponse, unwrap } from "@invoicer/sdk";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type ChangeEvent } from "react";
import { api, session, type Invoice } from "../app/api";
import { ErrorNotice, StatusBadge, messageOf } from "../app/ui";
import { SOURCE_LABELS, formatBytes, formatDateTime } from "../lib/format";
import { DocumentPage } from "./DocumentPage";
import { FieldRow } from "./FieldRow";
import { fieldViews, nextDoubtful } from "./fields";
import { LineItems } from "./LineItems";

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

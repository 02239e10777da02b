import { unwrap } from "@invoicer/sdk";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link } from "react-router";
import { api } from "../app/api";
import { ErrorNotice, PageHeader, Spinner, StatusBadge } from "../app/ui";
import { InvoiceDetail } from "../invoice/Detail";
import { useInvoice } from "../invoice/useInvoice";

const QUEUE_SIZE = 100;

function typing(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  return Boolean(element && (element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName)));
}

export default function Review() {
  const queryClient = useQueryClient();
  const [index, setIndex] = useState(0);
  const [editSignal, setEditSignal] = useState(0);
  const queue = useQuery({
    queryKey: ["review", "queue"],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/invoices", {
          params: { query: { review: "needs_review", sort: "created_at", limit: QUEUE_SIZE } },
        }),
      ),
  });
  const items = queue.data?.items ?? [];
  const position = Math.min(index, Math.max(items.length - 1, 0));
  const current = items[position];
  const detail = useInvoice(current?.id);

  const confirm = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.POST("/api/v1/invoices/{invoice_id}/confirm", { params: { path: { invoice_id: id } } })),
    onSuccess: (updated) => {
      // The confirmed invoice leaves the queue; the next one takes its place.
      queryClient.setQueryData(["review", "queue"], (page: typeof queue.data) =>
        page ? { ...page, items: page.items.filter((item) => item.id !== updated.id) } : page,
      );
      queryClient.setQueryData(["invoice", updated.id], updated);
      void queryClient.invalidateQueries({ queryKey: ["review"] });
      void queryClient.invalidateQueries({ queryKey: ["invoices", "list"] });
    },
  });

  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (typing(event.target) || event.metaKey || event.ctrlKey || event.altKey) return;
      if (event.key === "j") setIndex((at) => Math.min(at + 1, Math.max(items.length - 1, 0)));
      else if (event.key === "k") setIndex((at) => Math.max(at - 1, 0));
      else if (event.key === "e") setEditSignal((signal) => signal + 1);
      else if (event.key === "Enter" && current && !(event.target instanceof HTMLButtonElement || event.target instanceof HTMLAnchorElement)) {
        if (current.status === "processed" || current.status === "failed") confirm.mutate(current.id);
      } else return;
      event.preventDefault();
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [items.length, current, confirm]);

  const count = items.length;
  return (
    <>
      <PageHeader title="Review queue">
        <span className="count-pill" data-testid="review-count" aria-live="polite">
          {queue.isPending ? "…" : `${count}${queue.data?.next_cursor ? "+" : ""} to review`}
        </span>
      </PageHeader>
      <p className="muted keys">
        <kbd>j</kbd>/<kbd>k</kbd> move · <kbd>Enter</kbd> confirm · <kbd>e</kbd> edit the next doubtful field · in a field,{" "}
        <kbd>Enter</kbd> saves and <kbd>Shift</kbd>+<kbd>Enter</kbd> saves and goes to the next
      </p>
      <ErrorNotice error={queue.error ?? confirm.error} />
      {queue.isPending ? (
        <Spinner label="Loading the queue" />
      ) : count === 0 ? (
        <div className="empty" data-testid="review-empty">
          <p>Nothing needs a person right now.</p>
          <Link className="button" to="/invoices">
            See all invoices
          </Link>
        </div>
      ) : (
        <div className="review-layout">
          <ol className="review-list" aria-label="Invoices to review">
            {items.map((item, at) => (
              <li key={item.id}>
                <button
                  type="button"
                  className={`review-item ${at === position ? "review-item-current" : ""}`}
                  aria-current={at === position ? "true" : undefined}
                  onClick={() => setIndex(at)}
                  data-testid="review-item"
                >
                  <span className="review-item-name">{item.filename}</span>
                  <StatusBadge status={item.status} />
                </button>
              </li>
            ))}
          </ol>
          <div>
            {detail.data ? (
              <>
                <div className="review-actions">
                  <button
                    type="button"
                    className="button button-primary"
                    disabled={confirm.isPending}
                    onClick={() => current && confirm.mutate(current.id)}
                  >
                    Confirm and next <kbd>Enter</kbd>
                  </button>
                  <Link to={`/invoices/${detail.data.id}`}>Open on its own page</Link>
                </div>
                <InvoiceDetail
                  key={detail.data.id}
                  invoice={detail.data}
                  editNextSignal={editSignal}
                  onSavedAndNext={() => current && confirm.mutate(current.id)}
                  onDeleted={() => void queryClient.invalidateQueries({ queryKey: ["review"] })}
                />
              </>
            ) : (
              <>
                <ErrorNotice error={detail.error} />
                <Spinner label="Loading invoice" />
              </>
            )}
          </div>
        </div>
      )}
    </>
  );
}

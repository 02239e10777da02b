import { unwrap } from "@invoicer/sdk";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { api, type InvoiceSummary } from "../app/api";
import { useMe } from "../app/session";
import { ErrorNotice, PageHeader, Spinner, StatusBadge } from "../app/ui";
import { formatDateTime, formatMoney } from "../lib/format";

const PAGE_SIZE = 50;
const SORTS = {
  "-created_at": "Newest first",
  created_at: "Oldest first",
  "-updated_at": "Recently changed",
  updated_at: "Least recently changed",
} as const;
type Sort = keyof typeof SORTS;
type Status = InvoiceSummary["status"];
type ReviewState = NonNullable<InvoiceSummary["review"]>["state"];

export const REVIEW_LABELS: Record<ReviewState, string> = {
  needs_review: "Needs review",
  confirmed: "Confirmed",
  not_needed: "OK",
};

export function reviewStateOf(invoice: Pick<InvoiceSummary, "review">): ReviewState | null {
  return invoice.review?.state ?? null;
}

/** An ISO day from the date input, as the API's start-of-day or next-day boundary. */
function dayBoundary(day: string | null, next: boolean): string | undefined {
  if (!day) return undefined;
  const date = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return undefined;
  if (next) date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString();
}

function useUserNames(enabled: boolean): Map<string, string> {
  const users = useQuery({
    queryKey: ["users"],
    queryFn: async () => unwrap(await api.GET("/api/v1/users")),
    enabled,
    staleTime: 60_000,
  });
  return new Map((users.data ?? []).map((user) => [user.id, user.name || user.email]));
}

export default function Invoices() {
  const me = useMe();
  const admin = me.role === "admin";
  const [params, setParams] = useSearchParams();
  // Cursors of the pages before this one, to go back; the current cursor lives in the URL.
  const [previous, setPrevious] = useState<string[]>([]);
  const names = useUserNames(admin);

  const filters = {
    q: params.get("q") ?? "",
    status: (params.get("status") ?? "") as Status | "",
    review: (params.get("review") ?? "") as ReviewState | "",
    from: params.get("from") ?? "",
    to: params.get("to") ?? "",
    sort: (params.get("sort") ?? "-created_at") as Sort,
    cursor: params.get("cursor") ?? "",
  };

  const list = useQuery({
    queryKey: ["invoices", "list", filters],
    placeholderData: keepPreviousData,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/invoices", {
          params: {
            query: {
              q: filters.q || undefined,
              status: filters.status || undefined,
              review: filters.review || undefined,
              date_from: dayBoundary(filters.from, false),
              date_to: dayBoundary(filters.to, true),
              sort: filters.sort,
              limit: PAGE_SIZE,
              cursor: filters.cursor || undefined,
            },
          },
        }),
      ),
  });

  function applyFilters(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    for (const key of ["q", "status", "review", "from", "to", "sort"]) {
      const value = String(data.get(key) ?? "").trim();
      if (value && !(key === "sort" && value === "-created_at")) next.set(key, value);
    }
    setPrevious([]);
    setParams(next);
  }

  function goTo(cursor: string | null, back: boolean) {
    const next = new URLSearchParams(params);
    if (cursor) next.set("cursor", cursor);
    else next.delete("cursor");
    setPrevious((stack) => (back ? stack.slice(0, -1) : [...stack, filters.cursor]));
    setParams(next);
    document.getElementById("main")?.scrollTo({ top: 0 });
    window.scrollTo({ top: 0 });
  }

  const items = list.data?.items ?? [];
  const filtered = Boolean(filters.q || filters.status || filters.review || filters.from || filters.to || filters.cursor);
  return (
    <>
      <PageHeader title={admin ? "Invoices of your organization" : "Your invoices"}>
        <Link className="button button-primary" to="/upload">
          Upload
        </Link>
      </PageHeader>
      <form className="filters" onSubmit={applyFilters} role="search" key={params.toString()}>
        <label className="field field-grow">
          <span>Search</span>
          <input name="q" type="search" defaultValue={filters.q} placeholder="Vendor, number, file name…" />
        </label>
        <label className="field">
          <span>Status</span>
          <select name="status" defaultValue={filters.status}>
            <option value="">Any</option>
            <option value="pending">Pending</option>
            <option value="processing">Processing</option>
            <option value="processed">Processed</option>
            <option value="failed">Failed</option>
          </select>
        </label>
        <label className="field">
          <span>Review</span>
          <select name="review" defaultValue={filters.review}>
            <option value="">Any</option>
            <option value="needs_review">Needs review</option>
            <option value="confirmed">Confirmed</option>
            <option value="not_needed">Not needed</option>
          </select>
        </label>
        <label className="field">
          <span>From</span>
          <input name="from" type="date" defaultValue={filters.from} />
        </label>
        <label className="field">
          <span>To</span>
          <input name="to" type="date" defaultValue={filters.to} />
        </label>
        <label className="field">
          <span>Sort</span>
          <select name="sort" defaultValue={filters.sort}>
            {Object.entries(SORTS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button className="button" type="submit">
          Apply
        </button>
      </form>
      <ErrorNotice error={list.error} />
      {list.isPending ? (
        <Spinner label="Loading invoices" />
      ) : items.length === 0 ? (
        <div className="empty">
          {filtered ? (
            <p>No invoices match these filters.</p>
          ) : (
            <>
              <p>No invoices here yet.</p>
              <Link className="button button-primary" to="/upload">
                Upload your first invoice
              </Link>
            </>
          )}
        </div>
      ) : (
        <div className="table-wrap">
          <table className="table invoice-table" aria-label="Invoices" aria-busy={list.isFetching}>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Vendor</th>
                <th scope="col" className="hide-small">
                  Number
                </th>
                <th scope="col" className="hide-small">
                  Date
                </th>
                <th scope="col" className="num">
                  Total
                </th>
                <th scope="col">Status</th>
                <th scope="col" className="hide-small">
                  Review
                </th>
                {admin ? (
                  <th scope="col" className="hide-small">
                    Uploaded by
                  </th>
                ) : null}
                <th scope="col" className="hide-small">
                  Uploaded
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((invoice) => {
                const values = invoice.values ?? {};
                const review = reviewStateOf(invoice);
                return (
                  <tr key={invoice.id} data-testid="invoice-row" data-id={invoice.id} data-status={invoice.status}>
                    <td className="cell-file">
                      <Link to={`/invoices/${invoice.id}`}>{invoice.filename}</Link>
                      {invoice.duplicate_of ? <span className="badge badge-warning">Duplicate</span> : null}
                    </td>
                    <td>{String(values.vendor_name ?? "—")}</td>
                    <td className="hide-small">{String(values.invoice_number ?? "—")}</td>
                    <td className="hide-small">{String(values.invoice_date ?? "—")}</td>
                    <td className="num">{formatMoney(values.total, values.currency)}</td>
                    <td className="cell-status">
                      <StatusBadge status={invoice.status} />
                      {invoice.status === "failed" && invoice.error ? (
                        <span className="visually-hidden"> {invoice.error.message}</span>
                      ) : null}
                    </td>
                    <td className="hide-small">
                      {review ? <span className={`badge badge-review-${review}`}>{REVIEW_LABELS[review]}</span> : "—"}
                    </td>
                    {admin ? <td className="hide-small">{names.get(invoice.owner_id) ?? "—"}</td> : null}
                    <td className="hide-small">{formatDateTime(invoice.created_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages">
        <button
          type="button"
          className="button"
          disabled={!filters.cursor}
          onClick={() => goTo(previous[previous.length - 1] || null, true)}
        >
          ← Previous
        </button>
        <span className="muted" aria-live="polite">
          Page {previous.length + 1}
        </span>
        <button
          type="button"
          className="button"
          disabled={!list.data?.next_cursor}
          onClick={() => goTo(list.data?.next_cursor ?? null, false)}
        >
          Next →
        </button>
      </nav>
    </>
  );
}

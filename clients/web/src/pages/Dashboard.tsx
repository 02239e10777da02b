import { unwrap } from "@invoicer/sdk";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { Link, Navigate } from "react-router";
import { api, realtime } from "../app/api";
import { useMe } from "../app/session";
import { Card, ErrorNotice, PageHeader, Spinner, StatusBadge } from "../app/ui";
import { formatDateTime, formatMs } from "../lib/format";
import { DailyChart } from "./Chart";
import { sumDecimal } from "../lib/decimal";

type Range = "7d" | "30d" | "90d";

function Stat({ label, value, testId }: { label: string; value: string | number; testId: string }) {
  return (
    <div className="stat" data-testid={testId}>
      <span className="stat-value">{value}</span>
      <span className="stat-label">{label}</span>
    </div>
  );
}

interface Column<T> {
  header: string;
  numeric?: boolean;
  cell: (row: T) => ReactNode;
}

/** A dashboard panel: a titled card with a compact table, or a line saying why it is empty. */
function TablePanel<T>({
  title,
  rows,
  rowKey,
  columns,
  empty,
  error,
}: {
  title: string;
  rows: readonly T[];
  rowKey: (row: T) => string;
  columns: readonly Column<T>[];
  empty: ReactNode;
  error?: unknown;
}) {
  return (
    <Card title={title}>
      {error !== undefined ? <ErrorNotice error={error} /> : null}
      {rows.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <table className="table table-compact">
          <thead>
            <tr>
              {columns.map((column) => (
                <th key={column.header} scope="col" className={column.numeric ? "num" : undefined}>
                  {column.header}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={rowKey(row)}>
                {columns.map((column) => (
                  <td key={column.header} className={column.numeric ? "num" : undefined}>
                    {column.cell(row)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

export default function Dashboard() {
  const me = useMe();
  const [range, setRange] = useState<Range>("7d");
  const queryClient = useQueryClient();
  const admin = me.role === "admin";

  const stats = useQuery({
    queryKey: ["admin", "stats", range],
    enabled: admin,
    placeholderData: keepPreviousData,
    queryFn: async () => unwrap(await api.GET("/api/v1/admin/stats", { params: { query: { range } } })),
    // The first look at an organization counts its history in the background: ask again until it is done.
    refetchInterval: (query) => (query.state.data && !query.state.data.complete ? 1500 : false),
  });
  const watchers = useQuery({
    queryKey: ["admin", "watchers"],
    enabled: admin,
    refetchInterval: 15_000, // heartbeats are not events: "alive" is re-read now and then
    queryFn: async () => unwrap(await api.GET("/api/v1/admin/watchers")),
  });
  const activity = useQuery({
    queryKey: ["admin", "activity"],
    enabled: admin,
    queryFn: async () => unwrap(await api.GET("/api/v1/admin/activity", { params: { query: { limit: 30 } } })),
  });

  // Every status change refreshes the feed (at most twice a second), so it moves as things happen.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = realtime.on("invoice.status", () => {
      if (timer !== null) return;
      timer = setTimeout(() => {
        timer = null;
        void queryClient.invalidateQueries({ queryKey: ["admin", "activity"] });
        void queryClient.invalidateQueries({ queryKey: ["admin", "stats"] });
      }, 500);
    });
    return () => {
      off();
      if (timer !== null) clearTimeout(timer);
    };
  }, [queryClient]);

  const data = stats.data;
  const chartDays = useMemo(() => data?.days.map((day) => day.day) ?? [], [data]);
  const chartSeries = useMemo(
    () =>
      data
        ? [
            { label: "Uploads", values: data.days.map((day) => day.uploads), color: "#4f46e5" },
            { label: "Processed", values: data.days.map((day) => day.processed), color: "#059669" },
            { label: "Failed", values: data.days.map((day) => day.failed), color: "#dc2626" },
          ]
        : [],
    [data],
  );
  const currencyTotals = useMemo(() => {
    const totals = new Map<string, { total: number; days: number; text: string[] }>();
    for (const entry of data?.amounts ?? []) {
      const current = totals.get(entry.currency) ?? { total: 0, days: 0, text: [] };
      current.text.push(entry.total);
      current.days += 1;
      totals.set(entry.currency, current);
    }
    return [...totals.entries()].map(([currency, value]) => ({ currency, total: sumDecimal(value.text), days: value.days }));
  }, [data]);

  if (!admin) return <Navigate to="/invoices" replace />;

  return (
    <>
      <PageHeader title="Dashboard">
        <div className="segmented" role="group" aria-label="Range">
          {(["7d", "30d", "90d"] as const).map((value) => (
            <button
              key={value}
              type="button"
              className={`button button-small ${range === value ? "button-selected" : ""}`}
              aria-pressed={range === value}
              onClick={() => setRange(value)}
            >
              {value.replace("d", " days")}
            </button>
          ))}
        </div>
      </PageHeader>
      <ErrorNotice error={stats.error} />
      {!data ? (
        <Spinner label="Loading statistics" />
      ) : (
        <>
          {!data.complete ? (
            <p className="notice" role="status" data-testid="stats-counting">
              Counting the history{data.counted_from ? ` (back to ${data.counted_from} so far)` : ""}… the numbers fill in by
              themselves.
            </p>
          ) : null}
          <section className="stats" aria-label="Today and now" data-complete={data.complete}>
            <Stat label="Uploads today" value={data.cards.uploads_today} testId="card-uploads-today" />
            <Stat label={`Processed (${range})`} value={data.cards.processed} testId="card-processed" />
            <Stat label={`Failed (${range})`} value={data.cards.failed} testId="card-failed" />
            <Stat label="In queue now" value={data.cards.in_queue} testId="card-in-queue" />
            <Stat label="Needing review" value={data.cards.needs_review} testId="card-needs-review" />
            <Stat label="Median processing" value={formatMs(data.cards.median_processing_ms)} testId="card-median" />
          </section>
          <div className="grid-2">
            <Card title={`Uploads and results per day (${range})`} className="span-2">
              <DailyChart days={chartDays} series={chartSeries} title={`Uploads, processed and failed per day over ${range}`} />
              <p className="muted">
                Processing p50 {formatMs(data.processing.p50_ms)} · p95 {formatMs(data.processing.p95_ms)} — queue wait p50{" "}
                {formatMs(data.queue_wait.p50_ms)} · p95 {formatMs(data.queue_wait.p95_ms)}
              </p>
            </Card>
            <TablePanel
              title="Failures by reason"
              rows={data.failures}
              rowKey={(failure) => failure.code}
              empty="No failures in this range."
              columns={[
                {
                  header: "Reason",
                  cell: (failure) => (
                    <>
                      <code>{failure.code}</code>
                      <div className="muted">{failure.message}</div>
                    </>
                  ),
                },
                { header: "Count", numeric: true, cell: (failure) => failure.count },
              ]}
            />
            <TablePanel
              title="Top uploaders"
              rows={data.top_uploaders}
              rowKey={(uploader) => uploader.user_id}
              empty="No uploads in this range."
              columns={[
                { header: "Person", cell: (uploader) => uploader.name ?? uploader.email ?? "(removed)" },
                { header: "Uploads", numeric: true, cell: (uploader) => uploader.uploads },
              ]}
            />
            <TablePanel
              title="Amount extracted per currency"
              rows={currencyTotals}
              rowKey={(entry) => entry.currency}
              empty="No amounts in this range."
              columns={[
                { header: "Currency", cell: (entry) => entry.currency },
                { header: "Total", numeric: true, cell: (entry) => entry.total },
                { header: "Days", numeric: true, cell: (entry) => entry.days },
              ]}
            />
            <TablePanel
              title="Watchers"
              error={watchers.error}
              rows={watchers.data ?? []}
              rowKey={(watcher) => watcher.id}
              empty={
                <>
                  No watcher has reported. Start one with <code>invoicer watcher</code>.
                </>
              }
              columns={[
                {
                  header: "Watcher",
                  cell: (watcher) => (
                    <span title={watcher.id}>
                      {watcher.host}:{watcher.pid}
                    </span>
                  ),
                },
                {
                  header: "Alive",
                  cell: (watcher) => (
                    <span className={`badge ${watcher.alive ? "badge-processed" : "badge-failed"}`}>{watcher.alive ? "alive" : "silent"}</span>
                  ),
                },
                { header: "Running", numeric: true, cell: (watcher) => watcher.jobs_running },
                { header: "Last seen", cell: (watcher) => formatDateTime(watcher.last_seen) },
              ]}
            />
            <Card title="Live activity" className="span-2">
              <ErrorNotice error={activity.error} />
              <ol className="feed" aria-live="polite" data-testid="activity-feed">
                {(activity.data?.items ?? []).map((item) => (
                  <li key={`${item.invoice_id}-${item.status}-${item.at}`} className="feed-item">
                    <StatusBadge status={item.status} />{" "}
                    <Link to={`/invoices/${item.invoice_id}`}>{item.filename}</Link>{" "}
                    <span className="muted">
                      {item.owner_name ?? "someone"} · {formatDateTime(item.at)}
                    </span>
                    {item.error ? <span className="upload-error"> {item.error.message}</span> : null}
                  </li>
                ))}
              </ol>
            </Card>
          </div>
        </>
      )}
    </>
  );
}

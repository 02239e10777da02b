/** Live events into the query cache: list rows change in place, open pages refetch what changed. */
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { applyDeleteToPage, applyStatusToPage } from "../lib/events";
import { realtime, type InvoiceListPage } from "./api";

const FINAL = new Set(["processed", "failed"]);

/** Queries whose numbers an event changes, refreshed at most once a second however many events arrive. */
function throttledInvalidate(queryClient: QueryClient, keys: string[][], intervalMs = 1000): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return () => {
    if (timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
    }, intervalMs);
  };
}

export function useLiveInvoices(): void {
  const queryClient = useQueryClient();
  useEffect(() => {
    const refreshCounts = throttledInvalidate(queryClient, [["review"], ["admin", "stats"]]);
    const refreshLists = throttledInvalidate(queryClient, [["invoices", "list"]], 300);
    let wasReconnecting = false;
    const offs = [
      realtime.on("invoice.status", (event) => {
        queryClient.setQueriesData<InvoiceListPage>({ queryKey: ["invoices", "list"] }, (page) =>
          page ? applyStatusToPage(page as never, event) : page,
        );
        // A new upload (from another tab, the phone, a colleague) is not in any list yet, and a finished one has
        // a review state the event does not carry; a list fetched while the event was on its way is also older
        // than it. Fetch the lists again (throttled) in these cases.
        if ((event.previous_status === null || FINAL.has(event.status)) && !event.replayed) refreshLists();
        if (FINAL.has(event.status) || event.previous_status !== null) {
          void queryClient.invalidateQueries({ queryKey: ["invoice", event.id] });
        }
        refreshCounts();
      }),
      realtime.on("invoice.updated", (event) => {
        void queryClient.invalidateQueries({ queryKey: ["invoice", event.id] });
        void queryClient.invalidateQueries({ queryKey: ["invoices", "list"] });
        refreshCounts();
      }),
      realtime.on("invoice.deleted", (event) => {
        queryClient.setQueriesData<InvoiceListPage>({ queryKey: ["invoices", "list"] }, (page) =>
          page ? applyDeleteToPage(page as never, event) : page,
        );
        queryClient.removeQueries({ queryKey: ["invoice", event.id] });
        refreshCounts();
      }),
      realtime.onState((state) => {
        if (state === "reconnecting") wasReconnecting = true;
        if (state === "connected" && wasReconnecting) {
          // Catch-up replays status changes only; corrections and deletions are refetched.
          wasReconnecting = false;
          void queryClient.invalidateQueries();
        }
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [queryClient]);
}

import { unwrap } from "@invoicer/sdk";
import { useQuery } from "@tanstack/react-query";
import { api, type Invoice } from "../app/api";

export function useInvoice(id: string | undefined) {
  return useQuery({
    queryKey: ["invoice", id],
    enabled: Boolean(id),
    // openapi-fetch widens the tuples (boxes) of the response type; the body is the public invoice.
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/invoices/{invoice_id}", { params: { path: { invoice_id: id ?? "" } } })) as Invoice,
  });
}

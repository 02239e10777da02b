/** The one session, typed client and live connection of the app. */
import { Realtime, Session, createApiClient, type components } from "@invoicer/sdk";

export const session = new Session({ baseUrl: "", refreshTokens: "cookie" });
export const api = createApiClient(session);
export const realtime = new Realtime(session);

export type Invoice = components["schemas"]["InvoicePublic"];
/** A row of the invoice list: state, review and current values, without the extraction. */
export type InvoiceSummary = components["schemas"]["InvoiceSummary"];
export type InvoiceListPage = components["schemas"]["InvoicePage"];
export type User = components["schemas"]["UserPublic"];
export type LineItem = components["schemas"]["LineItem"];

/** The one session, typed client and live connection of the app. */
import { Realtime, Session, createApiClient, type components } from "@invoicer/sdk";

export const session = new Session({ baseUrl: "", refreshTokens: "cookie" });
export const api = createApiClient(session);
export const realtime = new Realtime(session);

export type Invoice = components["schemas"]["InvoicePublic"];
export type InvoiceListPage = components["schemas"]["InvoicePage"];
export type User = components["schemas"]["UserPublic"];
export type LineItem = components["schemas"]["LineItem"];

/** Tapping a push notification opens the invoice it is about. */
import * as Notifications from "expo-notifications";
import { useRouter } from "expo-router";
import { useEffect } from "react";

export function PushOpener() {
  const response = Notifications.useLastNotificationResponse();
  const router = useRouter();
  useEffect(() => {
    const invoiceId = response?.notification.request.content.data?.invoice_id;
    if (typeof invoiceId === "string") router.push(`/invoices/${invoiceId}`);
  }, [response, router]);
  return null;
}

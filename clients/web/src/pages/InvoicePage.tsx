import { ApiError } from "@invoicer/sdk";
import { Link, useNavigate, useParams } from "react-router";
import { ErrorNotice, Spinner } from "../app/ui";
import { InvoiceDetail } from "../invoice/Detail";
import { useInvoice } from "../invoice/useInvoice";

export default function InvoicePage() {
  const { id } = useParams();
  const navigate = useNavigate();
  const invoice = useInvoice(id);
  if (invoice.error instanceof ApiError && (invoice.error.status === 404 || invoice.error.status === 422)) {
    return (
      <div className="error-page" data-testid="not-found">
        <h1>Invoice not found</h1>
        <p>{invoice.error.detail}</p>
        <Link className="button" to="/invoices">
          Back to invoices
        </Link>
      </div>
    );
  }
  if (invoice.error) return <ErrorNotice error={invoice.error} />;
  if (!invoice.data) return <Spinner label="Loading invoice" />;
  return (
    <>
      <p className="breadcrumb">
        <Link to="/invoices">← Invoices</Link>
      </p>
      <InvoiceDetail invoice={invoice.data} onDeleted={() => navigate("/invoices", { replace: true })} />
    </>
  );
}

import { Link } from "react-router";

export default function NotFound() {
  return (
    <div className="error-page">
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <Link className="button" to="/invoices">
        Back to invoices
      </Link>
    </div>
  );
}

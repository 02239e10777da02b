import { Component, type ErrorInfo, type ReactNode } from "react";
import { Link, useRouteError } from "react-router";
import { messageOf } from "./ui";

interface State {
  error: unknown;
}

/** Never a blank screen: whatever a page throws is shown with the API's own `detail`. */
export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    console.error("page failed", error, info.componentStack);
  }

  override render() {
    if (this.state.error) {
      return (
        <div className="error-page" role="alert">
          <h1>Something went wrong</h1>
          <p>{messageOf(this.state.error)}</p>
          <p>
            <button type="button" className="button" onClick={() => this.setState({ error: null })}>
              Try again
            </button>{" "}
            <a className="button button-ghost" href="/invoices">
              Back to invoices
            </a>
          </p>
        </div>
      );
    }
    return this.props.children;
  }
}

export function RouteError() {
  const error = useRouteError();
  return (
    <main className="error-page" role="alert">
      <h1>Something went wrong</h1>
      <p>{messageOf(error)}</p>
      <Link className="button" to="/invoices">
        Back to invoices
      </Link>
    </main>
  );
}

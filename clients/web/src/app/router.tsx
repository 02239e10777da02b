import { lazy, Suspense, useEffect, useState, type ComponentType, type ReactNode } from "react";
import { createBrowserRouter, Navigate, Outlet, RouterProvider, useLocation } from "react-router";
import { NetworkError } from "@invoicer/sdk";
import { session } from "./api";
import { ErrorBoundary, RouteError } from "./ErrorBoundary";
import { Layout } from "./Layout";
import { MeProvider, useMeQuery, useSessionState } from "./session";
import { Spinner } from "./ui";

function page(load: () => Promise<{ default: ComponentType }>) {
  const Component = lazy(load);
  return (
    <Suspense fallback={<Spinner label="Loading page" />}>
      <Component />
    </Suspense>
  );
}

/** Waits for the session to be restored from the refresh cookie before deciding where a person belongs. */
function SessionGate({ children }: { children: ReactNode }) {
  const state = useSessionState();
  const [tried, setTried] = useState(false);
  const [unreachable, setUnreachable] = useState(false);
  useEffect(() => {
    if (state.state !== "unknown") {
      setTried(true);
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    // The API being down is not "signed out": keep trying, then decide.
    const attempt = () => {
      session.restore().then(
        () => {
          setUnreachable(false);
          setTried(true);
        },
        (error: unknown) => {
          if (stopped) return;
          if (error instanceof NetworkError) {
            setUnreachable(true);
            timer = setTimeout(attempt, 2000);
          } else {
            setTried(true);
          }
        },
      );
    };
    attempt();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []); // eslint-disable-line react-hooks/exhaustive-deps
  if (state.state === "unknown" && !tried) {
    return <Spinner label={unreachable ? "The server cannot be reached; retrying" : "Starting"} />;
  }
  return <>{children}</>;
}

function RequireSignIn() {
  const { state, reason } = useSessionState();
  const location = useLocation();
  const me = useMeQuery(state === "signed-in");
  if (state !== "signed-in") {
    const next = `${location.pathname}${location.search}`;
    const params = new URLSearchParams();
    if (next !== "/") params.set("next", next);
    if (reason && reason !== "signed-out") params.set("reason", reason);
    const query = params.toString();
    return <Navigate to={`/signin${query ? `?${query}` : ""}`} replace />;
  }
  if (me.error) throw me.error;
  if (!me.data) return <Spinner label="Loading your account" />;
  return (
    <MeProvider me={me.data}>
      <Layout>
        <ErrorBoundary key={location.pathname}>
          <Outlet />
        </ErrorBoundary>
      </Layout>
    </MeProvider>
  );
}

function PublicOnly() {
  const { state } = useSessionState();
  const location = useLocation();
  if (state === "signed-in") {
    const next = new URLSearchParams(location.search).get("next");
    return <Navigate to={next && next.startsWith("/") && !next.startsWith("//") ? next : "/invoices"} replace />;
  }
  return <Outlet />;
}

const router = createBrowserRouter([
  {
    element: (
      <SessionGate>
        <Outlet />
      </SessionGate>
    ),
    errorElement: <RouteError />,
    children: [
      {
        element: <PublicOnly />,
        children: [
          { path: "/signin", element: page(() => import("../pages/SignIn")) },
          { path: "/signup", element: page(() => import("../pages/SignUp")) },
        ],
      },
      {
        element: <RequireSignIn />,
        children: [
          { path: "/", element: <Navigate to="/invoices" replace /> },
          { path: "/upload", element: page(() => import("../pages/Upload")) },
          { path: "/invoices", element: page(() => import("../pages/Invoices")) },
          { path: "/invoices/:id", element: page(() => import("../pages/InvoicePage")) },
          { path: "/review", element: page(() => import("../pages/Review")) },
          { path: "/dashboard", element: page(() => import("../pages/Dashboard")) },
          { path: "/users", element: page(() => import("../pages/Users")) },
          { path: "/account", element: page(() => import("../pages/Account")) },
          { path: "*", element: page(() => import("../pages/NotFound")) },
        ],
      },
    ],
  },
]);

export function AppRouter() {
  return <RouterProvider router={router} />;
}

import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type ReactNode } from "react";
import { NavLink, useLocation, useNavigate } from "react-router";
import { realtime, session } from "./api";
import { useReconnecting } from "./connectivity";
import { useMe } from "./session";
import { useLiveInvoices } from "./live";

export function Layout({ children }: { children: ReactNode }) {
  const me = useMe();
  const reconnecting = useReconnecting();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  useLiveInvoices();
  useEffect(() => setMenuOpen(false), [location.pathname]);

  async function signOut() {
    await session.logout();
    realtime.close();
    queryClient.clear();
    navigate("/signin", { replace: true });
  }

  const admin = me.role === "admin";
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/invoices" className="brand" aria-label="Invoicer home">
          <span className="brand-mark" aria-hidden="true" />
          Invoicer
        </NavLink>
        <button
          type="button"
          className="button button-small menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((open) => !open)}
        >
          Menu
        </button>
        <nav id="main-nav" className={`nav ${menuOpen ? "nav-open" : ""}`} aria-label="Main">
          <NavLink to="/upload">Upload</NavLink>
          <NavLink to="/invoices" end>
            Invoices
          </NavLink>
          <NavLink to="/review">Review</NavLink>
          {admin ? <NavLink to="/dashboard">Dashboard</NavLink> : null}
          {admin ? <NavLink to="/users">Users</NavLink> : null}
          <NavLink to="/account" className="nav-account" title={me.email}>
            {me.name || me.email}
          </NavLink>
          <button type="button" className="button button-ghost" onClick={() => void signOut()}>
            Sign out
          </button>
        </nav>
      </header>
      {reconnecting ? (
        <div className="banner" role="status" aria-live="polite" data-testid="reconnecting">
          Reconnecting to the server… your changes will show as soon as it answers.
        </div>
      ) : null}
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

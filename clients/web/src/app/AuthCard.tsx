/** The card of the signed-out pages (sign in, sign up): brand, title, notices, the form and its one button. */
import type { FormEvent, ReactNode } from "react";

export function AuthCard({
  id,
  title,
  intro,
  error,
  busy,
  submitLabel,
  busyLabel,
  onSubmit,
  footer,
  children,
}: {
  /** Names the title element, which labels the form. */
  id: string;
  title: string;
  /** Shown under the title, before any error. */
  intro?: ReactNode;
  error: string | null;
  busy: boolean;
  submitLabel: string;
  busyLabel: string;
  onSubmit: (event: FormEvent<HTMLFormElement>) => Promise<void>;
  footer: ReactNode;
  children: ReactNode;
}) {
  return (
    <main className="auth-page">
      <form className="auth-card" onSubmit={(event) => void onSubmit(event)} aria-labelledby={id}>
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Invoicer
        </div>
        <h1 id={id}>{title}</h1>
        {intro}
        {error ? (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        ) : null}
        {children}
        <button className="button button-primary button-block" type="submit" disabled={busy}>
          {busy ? busyLabel : submitLabel}
        </button>
        <p className="muted">{footer}</p>
      </form>
    </main>
  );
}

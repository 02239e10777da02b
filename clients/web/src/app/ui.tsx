import { ApiError, NetworkError } from "@invoicer/sdk";
import type { ReactNode } from "react";
import { STATUS_LABELS, confidenceLevel } from "../lib/format";

export function Spinner({ label }: { label: string }) {
  return (
    <div className="spinner" role="status" aria-live="polite">
      <span className="spinner-dot" aria-hidden="true" />
      <span>{label}…</span>
    </div>
  );
}

/** The API's own words when it answered; a plain sentence when it could not be reached. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.detail;
  if (error instanceof NetworkError) return "The server cannot be reached; retrying…";
  if (error instanceof Error) return error.message;
  return "Something went wrong";
}

export function ErrorNotice({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <div className="notice notice-error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {messageOf(error)}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      {STATUS_LABELS[status] ?? status}
    </span>
  );
}

export function ConfidenceBadge({ confidence }: { confidence: number | null | undefined }) {
  const level = confidenceLevel(confidence);
  const text = confidence === null || confidence === undefined ? "—" : `${Math.round(confidence * 100)}%`;
  return (
    <span className={`confidence confidence-${level}`} title={`Confidence ${text} (${level})`}>
      {text}
    </span>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      {children ? <div className="page-actions">{children}</div> : null}
    </header>
  );
}

export function Card({ title, children, className }: { title?: string; children: ReactNode; className?: string }) {
  return (
    <section className={`card ${className ?? ""}`} aria-label={title}>
      {title ? <h2 className="card-title">{title}</h2> : null}
      {children}
    </section>
  );
}

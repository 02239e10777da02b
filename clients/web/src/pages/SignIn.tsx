import { ApiError } from "@invoicer/sdk";
import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { session } from "../app/api";
import { AuthCard } from "../app/AuthCard";
import { messageOf } from "../app/ui";

const REASONS: Record<string, string> = {
  revoked: "Your session was ended (signed out elsewhere or revoked). Sign in again to continue.",
  expired: "Your session expired. Sign in again to continue where you were.",
};

export default function SignIn() {
  const [params] = useSearchParams();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const reason = params.get("reason");

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await session.login(String(form.get("email") ?? ""), String(form.get("password") ?? ""));
      // PublicOnly sends the person on to `next` once the session is signed in.
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 429 && caught.retryAfter) {
        setError(`${caught.detail} (about ${Math.ceil(caught.retryAfter)} s)`);
      } else {
        setError(messageOf(caught));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthCard
      id="signin-title"
      title="Sign in"
      intro={
        reason && REASONS[reason] ? (
          <p className="notice" role="status">
            {REASONS[reason]}
          </p>
        ) : null
      }
      error={error}
      busy={busy}
      submitLabel="Sign in"
      busyLabel="Signing in…"
      onSubmit={submit}
      footer={
        <>
          New here? <Link to={`/signup${params.toString() ? `?${params.toString()}` : ""}`}>Create an organization</Link>
        </>
      }
    >
      <label className="field">
        <span>Email</span>
        <input name="email" type="email" autoComplete="username" required autoFocus />
      </label>
      <label className="field">
        <span>Password</span>
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
    </AuthCard>
  );
}

import { unwrap } from "@invoicer/sdk";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, session } from "../app/api";
import { AuthCard } from "../app/AuthCard";
import { messageOf } from "../app/ui";

export default function SignUp() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email") ?? "");
    const password = String(form.get("password") ?? "");
    setBusy(true);
    setError(null);
    try {
      unwrap(
        await api.POST("/api/v1/auth/register", {
          body: {
            email,
            password,
            name: String(form.get("name") ?? ""),
            organization: String(form.get("organization") ?? ""),
          },
        }),
      );
      await session.login(email, password);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthCard
      id="signup-title"
      title="Create your organization"
      intro={<p className="muted">You become its first admin and can invite your colleagues.</p>}
      error={error}
      busy={busy}
      submitLabel="Create organization"
      busyLabel="Creating…"
      onSubmit={submit}
      footer={
        <>
          Already have an account? <Link to="/signin">Sign in</Link>
        </>
      }
    >
      <label className="field">
        <span>Your name</span>
        <input name="name" autoComplete="name" required maxLength={200} />
      </label>
      <label className="field">
        <span>Organization</span>
        <input name="organization" autoComplete="organization" required maxLength={200} />
      </label>
      <label className="field">
        <span>Email</span>
        <input name="email" type="email" autoComplete="email" required />
      </label>
      <div className="field">
        <label htmlFor="signup-password">Password</label>
        <input
          id="signup-password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={10}
          aria-describedby="password-hint"
        />
        <small id="password-hint" className="muted">
          At least 10 characters.
        </small>
      </div>
    </AuthCard>
  );
}

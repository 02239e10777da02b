import { unwrap } from "@invoicer/sdk";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../app/api";
import { useMe } from "../app/session";
import { Card, ErrorNotice, PageHeader } from "../app/ui";

export default function Account() {
  const me = useMe();
  const [done, setDone] = useState(false);
  const change = useMutation({
    mutationFn: async (body: { old_password: string; new_password: string }) =>
      unwrap(await api.POST("/api/v1/auth/password", { body })),
    onSuccess: () => setDone(true),
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    setDone(false);
    change.mutate(
      { old_password: String(data.get("old_password") ?? ""), new_password: String(data.get("new_password") ?? "") },
      { onSuccess: () => form.reset() },
    );
  }

  return (
    <>
      <PageHeader title="Your account" />
      <div className="grid-2">
        <Card title="Profile">
          <dl className="facts">
            <dt>Name</dt>
            <dd>{me.name}</dd>
            <dt>Email</dt>
            <dd>{me.email}</dd>
            <dt>Role</dt>
            <dd>{me.role}</dd>
          </dl>
        </Card>
        <Card title="Change password">
          <form onSubmit={submit} className="stack">
            <ErrorNotice error={change.error} />
            {done ? (
              <p className="notice notice-ok" role="status">
                Password changed. Your other sessions were signed out.
              </p>
            ) : null}
            <label className="field">
              <span>Current password</span>
              <input name="old_password" type="password" autoComplete="current-password" required />
            </label>
            <label className="field">
              <span>New password</span>
              <input name="new_password" type="password" autoComplete="new-password" required minLength={10} />
            </label>
            <button className="button button-primary" type="submit" disabled={change.isPending}>
              {change.isPending ? "Changing…" : "Change password"}
            </button>
          </form>
        </Card>
      </div>
    </>
  );
}

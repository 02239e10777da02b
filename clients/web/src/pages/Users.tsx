import { unwrap } from "@invoicer/sdk";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Navigate } from "react-router";
import { api, type User } from "../app/api";
import { useMe } from "../app/session";
import { Card, ErrorNotice, PageHeader, Spinner } from "../app/ui";
import { formatDateTime } from "../lib/format";

type Role = User["role"];

export default function Users() {
  const me = useMe();
  const queryClient = useQueryClient();
  const [message, setMessage] = useState<string | null>(null);
  const users = useQuery({
    queryKey: ["users"],
    queryFn: async () => unwrap(await api.GET("/api/v1/users")),
    enabled: me.role === "admin",
  });
  const create = useMutation({
    mutationFn: async (body: { email: string; password: string; name: string; role: Role }) =>
      unwrap(await api.POST("/api/v1/users", { body })),
    onSuccess: (user) => {
      setMessage(`${user.email} can now sign in.`);
      void queryClient.invalidateQueries({ queryKey: ["users"] });
    },
  });
  const update = useMutation({
    mutationFn: async ({ id, body }: { id: string; body: { role?: Role; disabled?: boolean } }) =>
      unwrap(await api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: id } }, body })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ["users"] }),
  });

  if (me.role !== "admin") return <Navigate to="/invoices" replace />;

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    setMessage(null);
    create.mutate(
      {
        email: String(data.get("email") ?? ""),
        password: String(data.get("password") ?? ""),
        name: String(data.get("name") ?? ""),
        role: String(data.get("role") ?? "employee") as Role,
      },
      { onSuccess: () => form.reset() },
    );
  }

  return (
    <>
      <PageHeader title="Users" />
      <div className="grid-sidebar">
        <Card title="People in your organization">
          <ErrorNotice error={users.error ?? update.error} />
          {users.isPending ? (
            <Spinner label="Loading users" />
          ) : (
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col">Status</th>
                    <th scope="col">Since</th>
                  </tr>
                </thead>
                <tbody>
                  {(users.data ?? []).map((user) => (
                    <tr key={user.id}>
                      <td>{user.name}</td>
                      <td>{user.email}</td>
                      <td>
                        <select
                          aria-label={`Role of ${user.email}`}
                          value={user.role}
                          disabled={update.isPending}
                          onChange={(event) =>
                            update.mutate({ id: user.id, body: { role: event.target.value as Role } })
                          }
                        >
                          <option value="employee">Employee</option>
                          <option value="admin">Admin</option>
                        </select>
                      </td>
                      <td>
                        <button
                          type="button"
                          className={`button button-small ${user.disabled ? "" : "button-ghost"}`}
                          disabled={update.isPending || user.id === me.id}
                          onClick={() => update.mutate({ id: user.id, body: { disabled: !user.disabled } })}
                          aria-label={`${user.disabled ? "Enable" : "Disable"} ${user.email}`}
                        >
                          {user.disabled ? "Enable" : "Disable"}
                        </button>
                        {user.disabled ? <span className="badge badge-failed">Disabled</span> : null}
                      </td>
                      <td>{formatDateTime(user.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
        <Card title="Add a person">
          <form className="stack" onSubmit={submit}>
            <ErrorNotice error={create.error} />
            {message ? (
              <p className="notice notice-ok" role="status">
                {message}
              </p>
            ) : null}
            <label className="field">
              <span>Name</span>
              <input name="name" required maxLength={200} />
            </label>
            <label className="field">
              <span>Email</span>
              <input name="email" type="email" required />
            </label>
            <label className="field">
              <span>Initial password</span>
              <input name="password" type="password" autoComplete="new-password" required minLength={10} />
            </label>
            <label className="field">
              <span>Role</span>
              <select name="role" defaultValue="employee">
                <option value="employee">Employee</option>
                <option value="admin">Admin</option>
              </select>
            </label>
            <button className="button button-primary" type="submit" disabled={create.isPending}>
              Add
            </button>
          </form>
        </Card>
      </div>
    </>
  );
}

import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { ConfidenceBadge } from "../app/ui";
import { FIELD_LABELS, SOURCE_LABELS } from "../lib/format";
import { FIELD_KINDS, checkField } from "../lib/validation";
import { display, type FieldView } from "./fields";

/** A field's value, confidence and source, the machine's reading beside a correction, and its inline editor. */
export function FieldRow({
  field,
  active,
  editing,
  saving,
  onFocus,
  onEdit,
  onCancel,
  onSave,
  onRevert,
}: {
  field: FieldView;
  active: boolean;
  editing: boolean;
  saving: boolean;
  onFocus: () => void;
  onEdit: () => void;
  onCancel: () => void;
  onSave: (value: string | null, andNext: boolean) => void;
  onRevert: () => void;
}) {
  const [draft, setDraft] = useState("");
  const input = useRef<HTMLInputElement>(null);
  const label = FIELD_LABELS[field.name] ?? field.name;
  useEffect(() => {
    if (editing) {
      setDraft(field.value === null || field.value === undefined ? "" : String(field.value));
      setTimeout(() => input.current?.focus(), 0);
    }
  }, [editing]); // eslint-disable-line react-hooks/exhaustive-deps
  const check = checkField(field.name, draft);
  const inputId = `field-${field.name}`;
  const errorId = `${inputId}-error`;

  function keys(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "Escape") onCancel();
    if (event.key === "Enter") {
      event.preventDefault();
      if (check.ok) onSave(check.value, event.shiftKey);
    }
    event.stopPropagation();
  }

  return (
    <div
      className={`field-row ${active ? "field-row-active" : ""}`}
      data-testid="field-row"
      data-field={field.name}
      onMouseEnter={onFocus}
      onFocus={onFocus}
    >
      <dt>
        <label htmlFor={editing ? inputId : undefined}>{label}</label>
        <span className="field-meta">
          <ConfidenceBadge confidence={field.corrected ? 1 : field.confidence} />
          {field.source ? <span className="source">{SOURCE_LABELS[field.source] ?? field.source}</span> : null}
        </span>
      </dt>
      <dd>
        {editing ? (
          <div className="field-editor">
            <input
              id={inputId}
              ref={input}
              value={draft}
              inputMode={FIELD_KINDS[field.name] === "money" ? "decimal" : undefined}
              placeholder={FIELD_KINDS[field.name] === "date" ? "YYYY-MM-DD" : undefined}
              aria-invalid={!check.ok}
              aria-describedby={!check.ok ? errorId : undefined}
              onChange={(event) => setDraft(event.target.value)}
              onKeyDown={keys}
              data-testid="field-input"
            />
            {!check.ok ? (
              <span id={errorId} className="field-error" role="alert">
                {check.message}
              </span>
            ) : null}
            <div className="field-editor-actions">
              <button type="button" className="button button-small button-primary" disabled={!check.ok || saving} onClick={() => check.ok && onSave(check.value, false)}>
                Save
              </button>
              <button type="button" className="button button-small" disabled={!check.ok || saving} onClick={() => check.ok && onSave(check.value, true)}>
                Save and next
              </button>
              <button type="button" className="button button-small button-ghost" onClick={onCancel}>
                Cancel
              </button>
            </div>
          </div>
        ) : (
          <div className="field-value">
            <button type="button" className="value-button" onClick={onEdit} aria-label={`Edit ${label}: ${display(field.value)}`} data-testid="field-value">
              {display(field.value)}
            </button>
            {field.corrected ? (
              <span className="machine-value" data-testid="machine-value">
                machine read: {display(field.machine)}{" "}
                <button type="button" className="link-button" onClick={onRevert} disabled={saving}>
                  use it
                </button>
              </span>
            ) : null}
          </div>
        )}
      </dd>
    </div>
  );
}

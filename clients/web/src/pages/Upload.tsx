import { uploadInvoice, type InvoiceStatusEvent } from "@invoicer/sdk";
import { useEffect, useRef, useState, type ChangeEvent, type DragEvent } from "react";
import { Link } from "react-router";
import { realtime, session, type Invoice } from "../app/api";
import { PageHeader, StatusBadge, messageOf } from "../app/ui";
import { formatBytes } from "../lib/format";
import { isRotatable, rotateImageFile, turn, type QuarterTurns } from "../lib/rotation";

type Stage = "ready" | "uploading" | "uploaded" | "rejected";

interface Item {
  key: string;
  file: File;
  turns: QuarterTurns;
  preview: string | null;
  stage: Stage;
  progress: number;
  invoice: Pick<Invoice, "id" | "status" | "duplicate_of" | "error"> | null;
  error: string | null;
}

const PARALLEL_UPLOADS = 2;
const ACCEPT = "image/*,application/pdf,.pdf,.xml,application/xml,text/xml,.tif,.tiff,.heic,.heif";

let nextKey = 0;

export default function Upload() {
  const [items, setItems] = useState<Item[]>([]);
  const [dragging, setDragging] = useState(false);
  const itemsRef = useRef(items);
  itemsRef.current = items;
  // Events can arrive before the upload's own answer does; the newest per invoice is kept for that moment.
  const seen = useRef(new Map<string, InvoiceStatusEvent>());

  const patch = (key: string, change: Partial<Item>) =>
    setItems((current) => current.map((item) => (item.key === key ? { ...item, ...change } : item)));

  // Status changes of the files sent from this page, live.
  useEffect(() => {
    const off = realtime.on("invoice.status", (event: InvoiceStatusEvent) => {
      seen.current.set(event.id, event);
      setItems((current) =>
        current.map((item) =>
          item.invoice?.id === event.id
            ? { ...item, invoice: { ...item.invoice, status: event.status as Invoice["status"], error: event.error ?? null } }
            : item,
        ),
      );
    });
    return () => {
      off();
      for (const item of itemsRef.current) if (item.preview) URL.revokeObjectURL(item.preview);
    };
  }, []);

  function add(files: FileList | File[]) {
    const added: Item[] = Array.from(files).map((file) => ({
      key: `f${nextKey++}`,
      file,
      turns: 0,
      preview: isRotatable(file) ? URL.createObjectURL(file) : null,
      stage: "ready",
      progress: 0,
      invoice: null,
      error: null,
    }));
    setItems((current) => [...current, ...added]);
  }

  function onDrop(event: DragEvent<HTMLElement>) {
    event.preventDefault();
    setDragging(false);
    if (event.dataTransfer.files.length > 0) add(event.dataTransfer.files);
  }

  function onPick(event: ChangeEvent<HTMLInputElement>) {
    if (event.target.files) add(event.target.files);
    event.target.value = "";
  }

  function remove(key: string) {
    setItems((current) => {
      const item = current.find((entry) => entry.key === key);
      if (item?.preview) URL.revokeObjectURL(item.preview);
      return current.filter((entry) => entry.key !== key);
    });
  }

  async function sendOne(item: Item) {
    patch(item.key, { stage: "uploading", progress: 0, error: null });
    try {
      const file = await rotateImageFile(item.file, item.turns);
      const invoice = await uploadInvoice<Invoice>(session, file, file.name, {
        onProgress: ({ loaded, total }) => patch(item.key, { progress: total ? loaded / total : 0 }),
      });
      const latest = seen.current.get(invoice.id);
      patch(item.key, {
        stage: "uploaded",
        progress: 1,
        invoice: {
          id: invoice.id,
          status: (latest?.status as Invoice["status"] | undefined) ?? invoice.status,
          duplicate_of: invoice.duplicate_of,
          error: latest?.error ?? invoice.error,
        },
      });
    } catch (error) {
      // A rejected file shows the API's reason; the rest of the batch goes on.
      patch(item.key, { stage: "rejected", error: messageOf(error) });
    }
  }

  async function sendAll() {
    const queue = itemsRef.current.filter((item) => item.stage === "ready");
    const workers = Array.from({ length: PARALLEL_UPLOADS }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const current = itemsRef.current.find((item) => item.key === next?.key);
        if (current) await sendOne(current);
      }
    });
    await Promise.all(workers);
  }

  const ready = items.filter((item) => item.stage === "ready").length;
  const busy = items.some((item) => item.stage === "uploading");

  return (
    <>
      <PageHeader title="Upload invoices">
        {items.length > 0 ? (
          <button type="button" className="button button-ghost" disabled={busy} onClick={() => setItems([])}>
            Clear list
          </button>
        ) : null}
      </PageHeader>
      <section
        className={`dropzone ${dragging ? "dropzone-active" : ""}`}
        data-testid="dropzone"
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        aria-label="Drop files here"
      >
        <p className="dropzone-title">Drop invoices here</p>
        <p className="muted">Photos, scans, PDFs and XML e-invoices, many at once.</p>
        <div className="dropzone-actions">
          <label className="button button-primary">
            Choose files
            <input className="visually-hidden" type="file" multiple accept={ACCEPT} onChange={onPick} data-testid="file-input" />
          </label>
          <label className="button">
            Take a photo
            <input className="visually-hidden" type="file" accept="image/*" capture="environment" onChange={onPick} />
          </label>
        </div>
      </section>

      {items.length > 0 ? (
        <>
          <ul className="upload-list" aria-label="Files to upload">
            {items.map((item) => (
              <UploadRow
                key={item.key}
                item={item}
                onTurn={(by) => patch(item.key, { turns: turn(item.turns, by) })}
                onRemove={() => remove(item.key)}
              />
            ))}
          </ul>
          <div className="upload-footer">
            <button type="button" className="button button-primary" disabled={ready === 0 || busy} onClick={() => void sendAll()}>
              {ready === 0 ? "All sent" : `Upload ${ready} file${ready === 1 ? "" : "s"}`}
            </button>
            <Link to="/invoices">Go to the invoice list</Link>
          </div>
        </>
      ) : null}
    </>
  );
}

function UploadRow({ item, onTurn, onRemove }: { item: Item; onTurn: (by: 1 | -1) => void; onRemove: () => void }) {
  const status = item.invoice?.status;
  return (
    <li className="upload-item" data-testid="upload-item" data-filename={item.file.name} data-stage={item.stage}>
      <div className="upload-thumb" aria-hidden="true">
        {item.preview ? (
          <img src={item.preview} alt="" className={`turn-${item.turns}`} />
        ) : (
          <span className="upload-kind">{item.file.name.split(".").pop()?.toUpperCase() ?? "FILE"}</span>
        )}
      </div>
      <div className="upload-body">
        <div className="upload-name">
          <strong>{item.file.name}</strong> <span className="muted">{formatBytes(item.file.size)}</span>
        </div>
        {item.stage === "uploading" || item.stage === "uploaded" ? (
          <progress
            className="progress"
            max={1}
            value={item.progress}
            aria-label={`Upload progress of ${item.file.name}`}
          />
        ) : null}
        {item.stage === "rejected" ? (
          <p className="upload-error" role="alert">
            {item.error}
          </p>
        ) : null}
        {item.invoice ? (
          <p className="upload-status">
            <StatusBadge status={status ?? "pending"} />{" "}
            <Link to={`/invoices/${item.invoice.id}`}>Open</Link>
            {item.invoice.duplicate_of ? (
              <span className="badge badge-warning">
                Duplicate of <Link to={`/invoices/${item.invoice.duplicate_of}`}>an earlier invoice</Link>
              </span>
            ) : null}
            {status === "failed" && item.invoice.error ? (
              <span className="upload-error"> {item.invoice.error.message}</span>
            ) : null}
          </p>
        ) : null}
      </div>
      <div className="upload-actions">
        {item.stage === "ready" && item.preview ? (
          <>
            <button type="button" className="button button-small" onClick={() => onTurn(-1)} aria-label={`Rotate ${item.file.name} left`}>
              ⟲
            </button>
            <button type="button" className="button button-small" onClick={() => onTurn(1)} aria-label={`Rotate ${item.file.name} right`}>
              ⟳
            </button>
          </>
        ) : null}
        {item.stage === "ready" || item.stage === "rejected" ? (
          <button type="button" className="button button-small button-ghost" onClick={onRemove} aria-label={`Remove ${item.file.name}`}>
            Remove
          </button>
        ) : null}
      </div>
    </li>
  );
}

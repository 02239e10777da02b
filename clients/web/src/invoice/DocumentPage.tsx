import { ApiError } from "@invoicer/sdk";
import { useEffect, useRef } from "react";
import { messageOf } from "../app/ui";
import { FIELD_LABELS } from "../lib/format";
import type { FieldView } from "./fields";
import { usePageImage } from "./usePageImage";

/** One page image with a box over each field found on it; the active field's box is highlighted and scrolled to. */
export function DocumentPage({
  invoiceId,
  version,
  number,
  fields,
  active,
  onSelect,
}: {
  invoiceId: string;
  version: string;
  number: number;
  fields: FieldView[];
  active: string | null;
  onSelect: (name: string) => void;
}) {
  const image = usePageImage(invoiceId, number, version);
  const activeBox = useRef<HTMLButtonElement | null>(null);
  useEffect(() => {
    activeBox.current?.scrollIntoView({ block: "center", behavior: "smooth" });
  }, [active]);
  if (image.error) {
    return (
      <div className="page page-missing">
        <p>{image.error instanceof ApiError ? image.error.detail : messageOf(image.error)}</p>
      </div>
    );
  }
  if (!image.data) {
    return <div className="page page-loading" aria-label={`Page ${number} loading`} />;
  }
  const { url, width, height } = image.data;
  const boxes = fields.filter((field) => field.bbox && (field.page ?? 1) === number);
  return (
    <figure className="page" data-testid="page" data-page={number}>
      <div className="page-frame">
        <img src={url} alt={`Page ${number} of the document`} data-testid="page-image" />
        {boxes.map((field) => {
          const [x0, y0, x1, y1] = field.bbox as [number, number, number, number];
          const isActive = active === field.name;
          return (
            <button
              type="button"
              key={field.name}
              ref={isActive ? activeBox : undefined}
              tabIndex={-1}
              className={`box ${isActive ? "box-active" : ""}`}
              data-testid="field-box"
              data-field={field.name}
              aria-label={`${FIELD_LABELS[field.name] ?? field.name} on the page`}
              style={{
                left: `${(x0 / width) * 100}%`,
                top: `${(y0 / height) * 100}%`,
                width: `${(Math.max(x1 - x0, 1) / width) * 100}%`,
                height: `${(Math.max(y1 - y0, 1) / height) * 100}%`,
              }}
              onClick={() => onSelect(field.name)}
            />
          );
        })}
      </div>
      <figcaption className="muted">Page {number}</figcaption>
    </figure>
  );
}

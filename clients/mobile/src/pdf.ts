/**
 * Several photographed pages of one invoice become one upload: a PDF built on the device, one JPEG per page
 * (embedded as is, DCTDecode, so nothing is recompressed), each page sized to its image at 150 dpi.
 */
import { Size } from "./geometry";

const POINTS_PER_PIXEL = 72 / 150;

export interface JpegInfo extends Size {
  components: number;
}

/** Width, height and colour components from a JPEG's start-of-frame marker. */
export function jpegInfo(bytes: Uint8Array): JpegInfo {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error("not a JPEG");
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) {
      i += 1;
      continue;
    }
    const marker = bytes[i + 1]!;
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      return {
        height: (bytes[i + 5]! << 8) | bytes[i + 6]!,
        width: (bytes[i + 7]! << 8) | bytes[i + 8]!,
        components: bytes[i + 9]!,
      };
    }
    i += 2 + length;
  }
  throw new Error("a JPEG without a frame header");
}

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** A PDF with one page per JPEG, in order. */
export function buildPdf(jpegs: readonly Uint8Array[]): Uint8Array {
  if (jpegs.length === 0) throw new Error("a PDF needs at least one page");
  const chunks: Uint8Array[] = [];
  const offsets: number[] = [];
  let length = 0;
  const push = (chunk: Uint8Array) => {
    chunks.push(chunk);
    length += chunk.length;
  };
  const object = (id: number, parts: (string | Uint8Array)[]) => {
    offsets[id] = length;
    push(ascii(`${id} 0 obj\n`));
    for (const part of parts) push(typeof part === "string" ? ascii(part) : part);
    push(ascii("\nendobj\n"));
  };
  push(ascii("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"));
  const pageIds = jpegs.map((_, index) => 3 + index * 3);
  object(1, ["<< /Type /Catalog /Pages 2 0 R >>"]);
  object(2, [`<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(" ")}] /Count ${jpegs.length} >>`]);
  jpegs.forEach((jpeg, index) => {
    const { width, height, components } = jpegInfo(jpeg);
    const colorSpace = components === 1 ? "DeviceGray" : components === 4 ? "DeviceCMYK" : "DeviceRGB";
    const w = (width * POINTS_PER_PIXEL).toFixed(2);
    const h = (height * POINTS_PER_PIXEL).toFixed(2);
    const page = pageIds[index]!;
    const content = `q ${w} 0 0 ${h} 0 0 cm /Im0 Do Q`;
    object(page, [
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w} ${h}] `,
      `/Resources << /XObject << /Im0 ${page + 1} 0 R >> >> /Contents ${page + 2} 0 R >>`,
    ]);
    object(page + 1, [
      `<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /${colorSpace} `,
      `/BitsPerComponent 8 /Filter /DCTDecode /Length ${jpeg.length} >>\nstream\n`,
      jpeg,
      "\nendstream",
    ]);
    object(page + 2, [`<< /Length ${content.length} >>\nstream\n${content}\nendstream`]);
  });
  const count = 3 + jpegs.length * 3;
  const xref = length;
  let table = `xref\n0 ${count}\n0000000000 65535 f \n`;
  for (let id = 1; id < count; id += 1) table += `${String(offsets[id]).padStart(10, "0")} 00000 n \n`;
  push(ascii(`${table}trailer\n<< /Size ${count} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`));
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * What one invoice's pages become before they are queued: one page is one JPEG; several photographed pages
 * are one PDF built on the device (so the API extracts them as one invoice); a picked PDF is sent as it is.
 */
import { base64ToBytes, bytesToBase64, decodedLength } from "./base64";
import { buildPdf } from "./pdf";

export interface Upload {
  contentBase64: string;
  filename: string;
  bytes: number;
}

export function composeUpload(jpegsBase64: readonly string[], baseName: string): Upload {
  if (jpegsBase64.length === 0) throw new Error("nothing to send");
  if (jpegsBase64.length === 1) {
    const only = jpegsBase64[0]!;
    return { contentBase64: only, filename: `${baseName}.jpg`, bytes: decodedLength(only) };
  }
  const pdf = buildPdf(jpegsBase64.map(base64ToBytes));
  return { contentBase64: bytesToBase64(pdf), filename: `${baseName}.pdf`, bytes: pdf.length };
}

export function captureName(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `invoice-${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
}

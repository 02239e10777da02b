/** On-device preparation of a page: rotate, crop to the paper, shrink to what OCR needs, JPEG ~0.85, base64. */
import { manipulateAsync, SaveFormat, type Action } from "expo-image-manipulator";
import { base64ToBytes, decodedLength } from "./base64";
import { cropRect, fitLongSide, isWholeImage, JPEG_QUALITY, type Quad, rotatedSize, rotateQuad, type Size } from "./geometry";

export interface Page {
  uri: string;
  size: Size;
  /** Quarter turns clockwise. */
  turns: number;
  /** The crop corners in the coordinates of the rotated image. */
  quad: Quad | null;
  /** A PDF picked as a file is sent as is. */
  pdfBase64?: string;
  name: string;
}

export interface PreparedPage {
  base64: string;
  bytes: number;
  size: Size;
}

/** The manipulator's steps for a page, in order: rotate, crop, resize. */
export function pageActions(page: Page): Action[] {
  const actions: Action[] = [];
  const turned = rotatedSize(page.size, page.turns);
  if (page.turns % 4 !== 0) actions.push({ rotate: (page.turns % 4) * 90 });
  let size = turned;
  if (page.quad) {
    const rect = cropRect(page.quad, turned);
    if (!isWholeImage(rect, turned)) {
      actions.push({ crop: rect });
      size = { width: rect.width, height: rect.height };
    }
  }
  const target = fitLongSide(size);
  if (target.width !== size.width) actions.push({ resize: { width: target.width, height: target.height } });
  return actions;
}

export async function preparePage(page: Page): Promise<PreparedPage> {
  const result = await manipulateAsync(page.uri, pageActions(page), {
    compress: JPEG_QUALITY,
    format: SaveFormat.JPEG,
    base64: true,
  });
  const base64 = (result.base64 ?? "").replace(/^data:[^,]*,/, "");
  return { base64, bytes: decodedLength(base64), size: { width: result.width, height: result.height } };
}

/** The crop quad follows the page when it is turned. */
export function turnPage(page: Page, by: number): Page {
  const before = rotatedSize(page.size, page.turns);
  return { ...page, turns: (page.turns + by + 4) % 4, quad: page.quad ? rotateQuad(page.quad, before, by) : null };
}

export function jpegBytes(prepared: PreparedPage): Uint8Array {
  return base64ToBytes(prepared.base64);
}

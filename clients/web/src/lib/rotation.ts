/** Quarter turns of an image before upload: the geometry is pure, the drawing uses a canvas. */

export type QuarterTurns = 0 | 1 | 2 | 3;

export function turn(current: QuarterTurns, by: 1 | -1): QuarterTurns {
  return (((current + by) % 4) + 4) % 4 as QuarterTurns;
}

/** The canvas size and transform that draw a `width`×`height` image turned clockwise by `turns`. */
export function rotatedFrame(width: number, height: number, turns: QuarterTurns) {
  const swap = turns % 2 === 1;
  const angle = (turns * Math.PI) / 2;
  return {
    width: swap ? height : width,
    height: swap ? width : height,
    angle,
    // After translating to the canvas centre and rotating, draw the image centred on the origin.
    dx: -width / 2,
    dy: -height / 2,
  };
}

/** The file with the rotation applied (same type for PNG/WebP, JPEG otherwise); the file itself when not turned. */
export async function rotateImageFile(file: File, turns: QuarterTurns): Promise<File> {
  if (turns === 0) return file;
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const frame = rotatedFrame(bitmap.width, bitmap.height, turns);
  const canvas = document.createElement("canvas");
  canvas.width = frame.width;
  canvas.height = frame.height;
  const context = canvas.getContext("2d");
  if (!context) throw new Error("This browser cannot rotate images");
  context.translate(frame.width / 2, frame.height / 2);
  context.rotate(frame.angle);
  context.drawImage(bitmap, frame.dx, frame.dy);
  bitmap.close();
  const type = file.type === "image/png" || file.type === "image/webp" ? file.type : "image/jpeg";
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, type, 0.92));
  if (!blob) throw new Error("The rotated image could not be encoded");
  return new File([blob], file.name, { type });
}

export function isRotatable(file: File): boolean {
  return ["image/jpeg", "image/png", "image/webp", "image/bmp"].includes(file.type);
}

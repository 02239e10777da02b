/**
 * The maths behind preview, rotate, crop and resize, kept pure so it is tested without a device.
 * Coordinates are image pixels, origin top-left; a quad is four corners in the order
 * top-left, top-right, bottom-right, bottom-left.
 */
export interface Point {
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
}

export interface Rect {
  originX: number;
  originY: number;
  width: number;
  height: number;
}

export type Quad = [Point, Point, Point, Point];

/** What OCR needs: a long side of at most this many pixels. */
export const MAX_LONG_SIDE = 2500;
export const JPEG_QUALITY = 0.85;

/** Quarter turns clockwise, normalised to 0..3. */
export function normaliseTurns(turns: number): number {
  return ((Math.round(turns) % 4) + 4) % 4;
}

export function rotatedSize(size: Size, turns: number): Size {
  return normaliseTurns(turns) % 2 === 0 ? { ...size } : { width: size.height, height: size.width };
}

/** Where a pixel of an image of `size` lands after `turns` quarter turns clockwise. */
export function rotatePoint(point: Point, size: Size, turns: number): Point {
  let p = { ...point };
  let current = { ...size };
  for (let i = 0; i < normaliseTurns(turns); i += 1) {
    p = { x: current.height - p.y, y: p.x };
    current = { width: current.height, height: current.width };
  }
  return p;
}

/** Four points as top-left, top-right, bottom-right, bottom-left, whatever order they came in. */
export function orderCorners(points: readonly Point[]): Quad {
  if (points.length !== 4) throw new Error("a crop has four corners");
  const bySum = [...points].sort((a, b) => a.x + a.y - (b.x + b.y));
  const byDiff = [...points].sort((a, b) => a.x - a.y - (b.x - b.y));
  return [bySum[0]!, byDiff[3]!, bySum[3]!, byDiff[0]!];
}

export function rotateQuad(quad: Quad, size: Size, turns: number): Quad {
  return orderCorners(quad.map((p) => rotatePoint(p, size, turns)));
}

export function fullQuad(size: Size): Quad {
  return [
    { x: 0, y: 0 },
    { x: size.width, y: 0 },
    { x: size.width, y: size.height },
    { x: 0, y: size.height },
  ];
}

export function clampPoint(point: Point, size: Size): Point {
  return { x: Math.min(Math.max(point.x, 0), size.width), y: Math.min(Math.max(point.y, 0), size.height) };
}

/** The smallest whole-pixel rectangle inside the image that holds the quad (what the manipulator can crop). */
export function cropRect(quad: Quad, size: Size): Rect {
  const xs = quad.map((p) => clampPoint(p, size).x);
  const ys = quad.map((p) => clampPoint(p, size).y);
  const originX = Math.floor(Math.min(...xs));
  const originY = Math.floor(Math.min(...ys));
  return {
    originX,
    originY,
    width: Math.max(1, Math.ceil(Math.max(...xs)) - originX),
    height: Math.max(1, Math.ceil(Math.max(...ys)) - originY),
  };
}

/** True when the crop is the whole image, so no crop step is needed. */
export function isWholeImage(rect: Rect, size: Size): boolean {
  return rect.originX === 0 && rect.originY === 0 && rect.width >= size.width && rect.height >= size.height;
}

/**
 * Move one corner to where the finger is, kept inside the image and at least `minGap` pixels from the
 * neighbouring corners so the quad cannot fold over itself.
 */
export function moveCorner(quad: Quad, index: number, to: Point, size: Size, minGap = 20): Quad {
  const p = clampPoint(to, size);
  const [tl, tr, br, bl] = quad;
  const next = [...quad] as Quad;
  switch (index) {
    case 0:
      next[0] = { x: Math.min(p.x, tr.x - minGap), y: Math.min(p.y, bl.y - minGap) };
      break;
    case 1:
      next[1] = { x: Math.max(p.x, tl.x + minGap), y: Math.min(p.y, br.y - minGap) };
      break;
    case 2:
      next[2] = { x: Math.max(p.x, bl.x + minGap), y: Math.max(p.y, tr.y + minGap) };
      break;
    case 3:
      next[3] = { x: Math.min(p.x, br.x - minGap), y: Math.max(p.y, tl.y + minGap) };
      break;
    default:
      throw new Error(`no corner ${index}`);
  }
  next[index] = clampPoint(next[index]!, size);
  return next;
}

/** The size to resize to so the long side is at most `maxLongSide`; never enlarges. */
export function fitLongSide(size: Size, maxLongSide = MAX_LONG_SIDE): Size {
  const long = Math.max(size.width, size.height);
  if (long <= maxLongSide) return { ...size };
  const scale = maxLongSide / long;
  return { width: Math.max(1, Math.round(size.width * scale)), height: Math.max(1, Math.round(size.height * scale)) };
}

/** How an image of `size` is shown in a box: scaled to fit (times `zoom`), centred. */
export interface View {
  scale: number;
  offsetX: number;
  offsetY: number;
}

export function fitView(size: Size, box: Size, zoom = 1): View {
  const scale = Math.min(box.width / size.width, box.height / size.height) * zoom;
  return { scale, offsetX: (box.width - size.width * scale) / 2, offsetY: (box.height - size.height * scale) / 2 };
}

export function toScreen(point: Point, view: View): Point {
  return { x: point.x * view.scale + view.offsetX, y: point.y * view.scale + view.offsetY };
}

export function toImage(point: Point, view: View): Point {
  return { x: (point.x - view.offsetX) / view.scale, y: (point.y - view.offsetY) / view.scale };
}

import {
  cropRect,
  fitLongSide,
  fitView,
  fullQuad,
  isWholeImage,
  moveCorner,
  orderCorners,
  rotatedSize,
  rotatePoint,
  rotateQuad,
  toImage,
  toScreen,
  type Quad,
} from "../src/geometry";
import { pageActions, turnPage, type Page } from "../src/image";

const size = { width: 400, height: 300 };

describe("rotation", () => {
  it("turns a size and a point a quarter clockwise", () => {
    expect(rotatedSize(size, 1)).toEqual({ width: 300, height: 400 });
    expect(rotatedSize(size, 2)).toEqual(size);
    // The top-left corner goes to the top-right; the top-right to the bottom-right.
    expect(rotatePoint({ x: 0, y: 0 }, size, 1)).toEqual({ x: 300, y: 0 });
    expect(rotatePoint({ x: 400, y: 0 }, size, 1)).toEqual({ x: 300, y: 400 });
  });

  it("four quarter turns, or one left and one right, change nothing", () => {
    const point = { x: 37, y: 211 };
    expect(rotatePoint(point, size, 4)).toEqual(point);
    const right = rotatePoint(point, size, 1);
    expect(rotatePoint(right, rotatedSize(size, 1), -1)).toEqual(point);
  });

  it("a crop follows the page when it is turned, corners kept in order", () => {
    const quad: Quad = [
      { x: 10, y: 20 },
      { x: 390, y: 25 },
      { x: 380, y: 290 },
      { x: 15, y: 280 },
    ];
    const turned = rotateQuad(quad, size, 1);
    expect(turned[0]).toEqual({ x: 20, y: 15 }); // the old bottom-left is now top-left
    expect(cropRect(turned, rotatedSize(size, 1))).toEqual({ originX: 10, originY: 10, width: 270, height: 380 });
    expect(rotateQuad(turned, rotatedSize(size, 1), -1)).toEqual(quad);
  });

  it("orders four corners whatever order they come in", () => {
    const [tl, tr, br, bl] = fullQuad(size);
    expect(orderCorners([br, tl, bl, tr])).toEqual([tl, tr, br, bl]);
  });
});

describe("crop", () => {
  it("crops to the box around the corners, inside the image, in whole pixels", () => {
    const quad: Quad = [
      { x: -5, y: 10.4 },
      { x: 200.2, y: 12 },
      { x: 210, y: 500 },
      { x: 3, y: 250.5 },
    ];
    expect(cropRect(quad, size)).toEqual({ originX: 0, originY: 10, width: 210, height: 290 });
    expect(isWholeImage(cropRect(fullQuad(size), size), size)).toBe(true);
  });

  it("a dragged corner stays inside the image and never crosses its neighbours", () => {
    const quad = fullQuad(size);
    const dragged = moveCorner(quad, 0, { x: 1000, y: -50 }, size, 20);
    expect(dragged[0]).toEqual({ x: 380, y: 0 });
    expect(moveCorner(quad, 2, { x: 100, y: 100 }, size)[2]).toEqual({ x: 100, y: 100 });
    expect(() => moveCorner(quad, 4, { x: 0, y: 0 }, size)).toThrow();
  });
});

describe("resize and view", () => {
  it("shrinks a 12-megapixel photo to a long side of 2,500 px and never enlarges", () => {
    expect(fitLongSide({ width: 4000, height: 3000 })).toEqual({ width: 2500, height: 1875 });
    expect(fitLongSide({ width: 3000, height: 4000 })).toEqual({ width: 1875, height: 2500 });
    expect(fitLongSide({ width: 800, height: 600 })).toEqual({ width: 800, height: 600 });
  });

  it("maps between screen and image both ways, zoomed or not", () => {
    for (const zoom of [1, 2.5]) {
      const view = fitView(size, { width: 390, height: 420 }, zoom);
      const point = { x: 123, y: 45 };
      const back = toImage(toScreen(point, view), view);
      expect(back.x).toBeCloseTo(point.x);
      expect(back.y).toBeCloseTo(point.y);
    }
    expect(fitView(size, { width: 200, height: 300 }).scale).toBeCloseTo(0.5);
  });
});

describe("what a page is sent as", () => {
  const photo: Page = { uri: "file:///p.jpg", size: { width: 4032, height: 3024 }, turns: 0, quad: null, name: "p" };

  it("only resizes an untouched photo", () => {
    expect(pageActions(photo)).toEqual([{ resize: { width: 2500, height: 1875 } }]);
  });

  it("rotates, then crops in the rotated picture, then resizes", () => {
    const turned = turnPage({ ...photo, quad: fullQuad(photo.size) }, 1);
    const cropped: Page = { ...turned, quad: [{ x: 100, y: 100 }, { x: 2900, y: 100 }, { x: 2900, y: 3900 }, { x: 100, y: 3900 }] };
    expect(pageActions(cropped)).toEqual([
      { rotate: 90 },
      { crop: { originX: 100, originY: 100, width: 2800, height: 3800 } },
      { resize: { width: 1842, height: 2500 } },
    ]);
  });
});

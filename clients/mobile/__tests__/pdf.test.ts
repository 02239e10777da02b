import { base64ToBytes, bytesToBase64, decodedLength } from "../src/base64";
import { captureName, composeUpload } from "../src/compose";
import { buildPdf, jpegInfo } from "../src/pdf";

/** The smallest JPEG header that names a size: SOI, a SOF0 frame of `width`×`height`, EOI. */
function fakeJpeg(width: number, height: number, components = 3): Uint8Array {
  return new Uint8Array([
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00,
    0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, components,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xd9,
  ]);
}

const text = (bytes: Uint8Array) => Array.from(bytes, (b) => String.fromCharCode(b)).join("");

describe("base64", () => {
  it("round-trips every byte value and every padding length", () => {
    for (const length of [0, 1, 2, 3, 4, 255, 256, 1000]) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 37) % 256);
      const encoded = bytesToBase64(bytes);
      expect(encoded).toBe(btoa(String.fromCharCode(...bytes)));
      expect(Array.from(base64ToBytes(encoded))).toEqual(Array.from(bytes));
      expect(decodedLength(encoded)).toBe(length);
    }
  });

  it("accepts a data URL and line breaks", () => {
    expect(text(base64ToBytes("data:image/jpeg;base64,aGVs\nbG8="))).toBe("hello");
  });
});

describe("a PDF built on the device", () => {
  it("reads a JPEG's size and colour components", () => {
    expect(jpegInfo(fakeJpeg(2500, 1875))).toEqual({ width: 2500, height: 1875, components: 3 });
    expect(() => jpegInfo(new Uint8Array([1, 2, 3]))).toThrow("not a JPEG");
  });

  it("has one page per photo, each image embedded as is, and a cross-reference table that points at the objects", () => {
    const pages = [fakeJpeg(1500, 2000), fakeJpeg(2000, 1500, 1)];
    const pdf = buildPdf(pages);
    const body = text(pdf);
    expect(body.startsWith("%PDF-1.4")).toBe(true);
    expect(body).toContain("/Count 2");
    expect(body.match(/\/Type \/Page /g)).toHaveLength(2);
    expect(body).toContain("/MediaBox [0 0 720.00 960.00]"); // 150 dpi
    expect(body).toContain("/ColorSpace /DeviceGray");
    expect(body).toContain(text(pages[0]!));
    const xref = Number(/startxref\n(\d+)/.exec(body)![1]);
    expect(body.slice(xref, xref + 4)).toBe("xref");
    const offsets = [...body.slice(xref).matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]));
    expect(offsets).toHaveLength(8);
    offsets.forEach((offset, index) => expect(body.slice(offset).startsWith(`${index + 1} 0 obj`)).toBe(true));
  });

  it("one page is sent as its JPEG, several as one PDF", () => {
    const one = bytesToBase64(fakeJpeg(10, 10));
    expect(composeUpload([one], "x")).toEqual({ contentBase64: one, filename: "x.jpg", bytes: 34 });
    const two = composeUpload([one, one], "x");
    expect(two.filename).toBe("x.pdf");
    expect(text(base64ToBytes(two.contentBase64)).startsWith("%PDF")).toBe(true);
    expect(captureName(new Date(2026, 0, 2, 3, 4, 5))).toBe("invoice-20260102-030405");
  });
});

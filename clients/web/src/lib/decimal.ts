/** Sums decimal strings exactly (to 4 places), never through binary floating point. */
export function sumDecimal(values: string[]): string {
  const SCALE = 10000n;
  let total = 0n;
  for (const value of values) {
    const match = /^(-?)(\d+)(?:\.(\d{1,4}))?$/.exec(value.trim());
    if (!match) continue;
    const units = BigInt(match[2] ?? "0") * SCALE + BigInt((match[3] ?? "").padEnd(4, "0") || "0");
    total += match[1] === "-" ? -units : units;
  }
  const negative = total < 0n;
  const absolute = negative ? -total : total;
  const cents = (absolute % SCALE).toString().padStart(4, "0").replace(/0{1,2}$/, "");
  return `${negative ? "-" : ""}${absolute / SCALE}.${cents.length < 2 ? cents.padEnd(2, "0") : cents}`;
}

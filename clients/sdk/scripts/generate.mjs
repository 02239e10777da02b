// Regenerates src/schema.d.ts from the API's OpenAPI document, as `invoicer openapi` prints it.
// `--check` fails when the committed file is stale.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const sdk = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(sdk, "../..");
const bin = join(repo, ".venv/bin");
const target = join(sdk, "src/schema.d.ts");

function openapiDocument() {
  return execFileSync(join(bin, "invoicer"), ["openapi"], { cwd: repo, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

const work = mkdtempSync(join(tmpdir(), "invoicer-openapi-"));
const documentPath = join(work, "openapi.json");
const generatedPath = join(work, "schema.d.ts");
writeFileSync(documentPath, openapiDocument());
execFileSync(join(sdk, "../node_modules/.bin/openapi-typescript"), [documentPath, "-o", generatedPath], { stdio: "ignore" });
const generated = readFileSync(generatedPath, "utf8");
rmSync(work, { recursive: true, force: true });

if (process.argv.includes("--check")) {
  const committed = readFileSync(target, "utf8");
  if (committed !== generated) {
    console.error("clients/sdk/src/schema.d.ts is stale: run `npm run generate --workspace sdk` in clients/");
    process.exit(1);
  }
  console.log("schema.d.ts is up to date");
} else {
  writeFileSync(target, generated);
  console.log(`wrote ${target}`);
}

// Regenerates src/schema.d.ts from the API's OpenAPI document.
// The document comes from `invoicer openapi`; a checkout whose CLI predates that command
// dumps it straight from the FastAPI app. `--check` fails when the committed file is stale.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const sdk = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(sdk, "../..");
const bin = join(repo, ".venv/bin");
const target = join(sdk, "src/schema.d.ts");

function openapiDocument() {
  try {
    return execFileSync(join(bin, "invoicer"), ["openapi"], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    const script =
      "import json; from core.config import Settings; from api.main import create_app; " +
      "print(json.dumps(create_app(Settings(env='test', jwt_secret='x' * 40)).openapi()))";
    return execFileSync(join(bin, "python"), ["-c", script], { cwd: repo, encoding: "utf8" });
  }
}

const work = mkdtempSync(join(tmpdir(), "invoicer-openapi-"));
const documentPath = join(work, "openapi.json");
const generatedPath = join(work, "schema.d.ts");
writeFileSync(documentPath, openapiDocument());
execFileSync(join(sdk, "../node_modules/.bin/openapi-typescript"), [documentPath, "-o", generatedPath], { stdio: "ignore" });
const generated = readFileSync(generatedPath, "utf8");

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

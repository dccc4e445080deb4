import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { surfaceOpenApi } from "../gateway/surfaces/documents";
import { hostApi } from "../gateway/surfaces/host-api";
import { terminalApi } from "../gateway/surfaces/terminal-api";
import { loadContract } from "../gateway/transcoder/descriptors";

/**
 * `node write-openapi.js <descriptor-set> <version> <dir>`: writes each HTTP surface's OpenAPI
 * document to `<dir>/<surface>.json`, as the daemon serves it. scripts/generate.sh runs it before
 * openapi-typescript turns the documents into the typed client's types; it takes its inputs as
 * arguments because generation may write outside the checkout.
 */
function main([descriptorSet, version, dir]: string[]): void {
  if (!descriptorSet || !version || !dir) throw new Error("usage: write-openapi <descriptor-set> <version> <dir>");
  const contract = loadContract(readFileSync(descriptorSet));
  mkdirSync(dir, { recursive: true });
  for (const surface of [terminalApi, hostApi]) {
    writeFileSync(join(dir, `${surface.name}.json`), `${JSON.stringify(surfaceOpenApi(contract, surface, version), null, 2)}\n`);
  }
}

main(process.argv.slice(2));

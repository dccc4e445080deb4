import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** The installed package's root: the nearest directory above this file with ghostd's package.json. */
export const packageRoot: string = (() => {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "ghostd") return dir;
    if (dirname(dir) === dir) throw new Error("cannot find ghostd's package.json above " + __dirname);
  }
})();

export const version: string = (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }).version;

/** The FileDescriptorSet of the standard services served beside the contract (health, reflection). */
export function standardDescriptorSet(): Buffer {
  return readFileSync(join(packageRoot, "generated", "grpc.binpb"));
}

/** The contract's FileDescriptorSet, built by `npm run generate`. */
export function contractDescriptorSet(): Buffer {
  return readFileSync(join(packageRoot, "generated", "ghostd.binpb"));
}

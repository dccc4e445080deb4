import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { parseTarget, TargetError } from "../gateway/transport/targets";
import { checkVmName, ConfigError } from "./config";

/** A VM whose Host API socket the gateway serves, and the server its guest agent runs in. */
export interface VmConfig {
  readonly name: string;
  readonly target: string;
}

export interface FileConfig {
  readonly vms: readonly VmConfig[];
}

/**
 * Reads `--config FILE`, YAML:
 *
 *   vms:
 *     - name: dev
 *       target: unix:/run/dev/ghostd.sock      # or host:port, or fc-vsock:/path/v.sock:1024
 */
export function loadConfigFile(path: string): FileConfig {
  let document: unknown;
  try {
    document = parse(readFileSync(path, "utf8"), { maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(`--config ${path}: ${(err as Error).message}`);
  }
  if (document === null || document === undefined) return { vms: [] };
  if (typeof document !== "object" || Array.isArray(document)) throw new ConfigError(`--config ${path}: expected a mapping with "vms"`);
  const unknown = Object.keys(document).filter((key) => key !== "vms");
  if (unknown.length > 0) throw new ConfigError(`--config ${path}: unknown key ${unknown.map((k) => `"${k}"`).join(", ")}; only "vms" is read`);
  const vms = (document as { vms?: unknown }).vms ?? [];
  if (!Array.isArray(vms)) throw new ConfigError(`--config ${path}: "vms" must be a list`);
  return {
    vms: vms.map((vm: unknown, i) => {
      const where = `--config ${path}: vms[${i}]`;
      if (typeof vm !== "object" || vm === null) throw new ConfigError(`${where} must be a mapping with name and target`);
      const { name, target } = vm as { name?: unknown; target?: unknown };
      if (typeof name !== "string" || typeof target !== "string") throw new ConfigError(`${where} needs a name and a target, both strings`);
      try {
        parseTarget(target);
      } catch (err) {
        throw new ConfigError(`${where}: ${err instanceof TargetError ? err.message : String(err)}`);
      }
      return { name: checkVmName(name), target };
    }),
  };
}

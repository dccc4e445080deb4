import type { JsonValue } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { TrustFiles, fingerprintOf } from "../server/supervisor/packages/trust-files";
import { TrustStore } from "../server/supervisor/packages/trust";

export interface PackageCommandContext {
  /** The daemon's home, from the global --home. */
  home(): string;
  invoke(method: string, json: JsonValue): Promise<void>;
}

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

/** `ghostctl package …` (keygen, build, verify, import) and `ghostctl trust …`: the publisher's and the user's tools. */
export function addPackageCommands(program: Command, context: PackageCommandContext): void {
  const pkg = program.command("package").description("make, sign, check and import .vibeapp packages");
  pkg
    .command("keygen")
    .description("make an Ed25519 key pair: <name>.pem (private, 0600) and <name>.pub")
    .option("-o, --output <name>", "the files' name, without extension", "publisher")
    .action((flags: { output: string }) => {
      const { privateKey, publicKey } = generateKeyPairSync("ed25519");
      const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
      for (const file of [`${flags.output}.pem`, `${flags.output}.pub`]) {
        if (existsSync(file)) throw new Error(`${file} exists: keygen never overwrites a key; choose another name with -o`);
      }
      // wx all the same: a key made meanwhile is not overwritten either.
      writeFileSync(`${flags.output}.pem`, privateKey.export({ type: "pkcs8", format: "pem" }).toString(), { mode: 0o600, flag: "wx" });
      writeFileSync(`${flags.output}.pub`, publicPem, { mode: 0o644, flag: "wx" });
      print({ private_key: resolve(`${flags.output}.pem`), public_key: resolve(`${flags.output}.pub`), fingerprint: fingerprintOf(publicPem) });
    });
  pkg
    .command("build")
    .description("pack a directory into a .vibeapp, the same bytes for the same files; signed with --key")
    .argument("<dir>")
    .requiredOption("-o, --output <file>", "the package to write")
    .option("--key <private.pem>", "sign with this Ed25519 private key")
    .action(async (dir: string, flags: { output: string; key?: string }) => {
      const { buildPackage } = await import("../server/supervisor/packages/build.js");
      const built = await buildPackage(resolve(dir), resolve(flags.output), flags.key === undefined ? undefined : readFileSync(flags.key));
      print(built);
    });
  pkg
    .command("verify")
    .description("check a package as an import would, without importing it: digest, trust status, capabilities")
    .argument("<file>")
    .action(async (file: string) => {
      const staging = mkdtempSync(join(tmpdir(), "ghostctl-verify-"));
      try {
        const { inspectPackage } = await import("../server/supervisor/packages/inspect.js");
        const found = await inspectPackage(resolve(file), staging, new TrustStore(join(context.home(), "trust")));
        print({ app_id: found.appId, name: found.name, version: found.version, digest: found.digest, trust_status: found.trustStatus, capabilities: found.capabilities, ...(found.keyProblem ? { key_problem: found.keyProblem } : {}) });
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    });
  pkg
    .command("import")
    .description("import a package into the daemon (ImportPackage)")
    .argument("<file>")
    .option("--verify", "fail unless a signature present verifies by a key that is not revoked")
    .option("--replace", "replace an imported package of the same id and version whose content differs")
    .action(async (file: string, flags: { verify?: boolean; replace?: boolean }) => {
      await context.invoke("Supervisor/ImportPackage", { package_data_path: resolve(file), verify_signature: flags.verify === true, replace: flags.replace === true });
    });
  addTrustCommands(program, context);
}

function addTrustCommands(program: Command, context: PackageCommandContext): void {
  const trust = program.command("trust").description("the keys whose packages import as signed_trusted ($GHOSTD_HOME/trust)");
  const files = (): TrustFiles => new TrustFiles(join(context.home(), "trust"));
  trust.command("add").description("trust a publisher's public key").argument("<public.pem>").action((key: string) => print(files().add(readFileSync(key))));
  trust.command("revoke").description("revoke a key: its packages fail an import that verifies signatures").argument("<public.pem>").action((key: string) => print(files().revoke(readFileSync(key))));
  trust
    .command("remove")
    .description("stop trusting a key (it is not revoked)")
    .argument("<public.pem>")
    .action((key: string) => print({ removed: files().remove(readFileSync(key)), fingerprint: fingerprintOf(readFileSync(key)) }));
  trust.command("list").description("every trusted and revoked key, one JSON line each").action(() => files().list().forEach(print));
}

import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, renameSync, rmSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { syncDirectory, syncWritten } from "../../durability";
import { KeyedSerial } from "../../serial";
import type { PackageRecords, PackageRow } from "../registry";
import { supervisorError } from "../reasons";
import { DEFAULT_LIMITS, type PackageLimits } from "./entry-rules";
import { inspectPackage, type Inspection } from "./inspect";
import { TrustStore } from "./trust";

export interface ImportRequest {
  readonly path: string;
  readonly verifySignature: boolean;
  readonly replace: boolean;
}

export type ImportedPackage = Omit<Inspection, "keyProblem"> & { readonly packagePath: string };

const STAGING = ".staging";
/** A replaced version waits beside the new one under this name until the new one is in place. */
const REPLACED = /^\.(.+)\.replaced-[0-9a-f-]+$/;

/**
 * `$GHOSTD_HOME/packages`: imported packages at `<app_id>/<version>/`, each registered with the
 * answer its import gave. A package is unpacked into `.staging/` and reaches its place by rename
 * only once every check held; until then, and on any failure, nothing of it is anywhere else.
 */
export class PackageLibrary {
  readonly root: string;
  readonly trust: TrustStore;
  /** Placements one at a time: two imports of one version must not swap directories under each other. */
  private readonly placing = new KeyedSerial();

  constructor(
    home: string,
    private readonly records: PackageRecords,
    private readonly limits: PackageLimits = DEFAULT_LIMITS,
  ) {
    this.root = join(home, "packages");
    this.trust = new TrustStore(join(home, "trust"));
    this.recover();
  }

  async import(request: ImportRequest): Promise<ImportedPackage> {
    if (!isAbsolute(request.path)) throw supervisorError("INVALID_ARGUMENT", `package_data_path must be an absolute path on the daemon's machine, not ${JSON.stringify(request.path)}`);
    await mkdir(join(this.root, STAGING), { recursive: true, mode: 0o700 });
    const staging = await mkdtemp(join(this.root, STAGING, "import-"));
    // mkdtemp makes it 0700; once in place it is the package's root, read by services that may run as another user.
    await chmod(staging, 0o755);
    try {
      const inspection = await inspectPackage(request.path, staging, this.trust, this.limits);
      refuseUnverified(inspection, request.verifySignature);
      return await this.placing.run(`${inspection.appId}/${inspection.version}`, () => this.place(staging, inspection, request.replace));
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** The package moves from staging to its place, unless the same content is there already. */
  private async place(staging: string, inspection: Inspection, replace: boolean): Promise<ImportedPackage> {
    const target = join(this.root, inspection.appId, inspection.version);
    const known = this.records.get(inspection.appId, inspection.version);
    const answer = importedPackage(inspection, target);
    if (known && existsSync(target)) {
      if (known.digest === inspection.digest) {
        this.records.record(rowOf(answer));
        return answer;
      }
      if (!replace) {
        throw supervisorError("CONFLICT", `${inspection.appId} ${inspection.version} is imported already with other content (${known.digest}, this is ${inspection.digest}); import it with replace to swap it`, {
          imported_digest: known.digest,
        });
      }
    }
    await syncWritten(staging, () => []);
    await swapIn(staging, target);
    this.records.record(rowOf(answer));
    return answer;
  }

  /** What a crash left: staging directories go, a replaced version with no successor in place comes back. */
  private recover(): void {
    rmSync(join(this.root, STAGING), { recursive: true, force: true });
    for (const app of listDirectory(this.root)) {
      const dir = join(this.root, app);
      for (const name of listDirectory(dir)) {
        const version = REPLACED.exec(name)?.[1];
        if (version === undefined) continue;
        if (existsSync(join(dir, version))) rmSync(join(dir, name), { recursive: true, force: true });
        else renameSync(join(dir, name), join(dir, version));
      }
    }
  }
}

/** With verify_signature, a signature that is there must hold, by a key that is a key and is not revoked. */
function refuseUnverified(inspection: Inspection, verify: boolean): void {
  if (!verify) return;
  if (inspection.keyProblem !== undefined) throw supervisorError("SIGNATURE_INVALID", `the package's signature cannot be trusted: ${inspection.keyProblem}`, { digest: inspection.digest });
  if (inspection.trustStatus === "tampered") {
    throw supervisorError("TAMPERED", "the package's signature does not verify over its content: a file was changed, added or removed after it was signed", { digest: inspection.digest });
  }
}

/**
 * Renames `staging` to `target`. A version already there is first moved aside, and removed only
 * once the new one is in place; a crash between the two renames is undone at the next start.
 */
async function swapIn(staging: string, target: string): Promise<void> {
  const parent = dirname(target);
  await mkdir(parent, { recursive: true, mode: 0o755 });
  const aside = existsSync(target) ? join(parent, `.${target.slice(parent.length + 1)}.replaced-${randomUUID()}`) : undefined;
  if (aside) await rename(target, aside);
  try {
    await rename(staging, target);
  } catch (err) {
    if (aside) await rename(aside, target);
    throw err;
  }
  await syncDirectory(parent);
  if (aside) await rm(aside, { recursive: true, force: true });
}

function importedPackage(inspection: Inspection, packagePath: string): ImportedPackage {
  const { appId, name, version, trustStatus, digest, capabilities } = inspection;
  return { appId, name, version, trustStatus, digest, capabilities, packagePath };
}

function rowOf(imported: ImportedPackage): PackageRow {
  const { appId, version, name, digest, trustStatus, capabilities, packagePath } = imported;
  return { appId, version, name, digest, trustStatus, capabilities, packagePath };
}

function listDirectory(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

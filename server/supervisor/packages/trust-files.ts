import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keyBytes, publisherKey } from "./signature";

/** A key as `ghostctl trust list` shows it. */
export interface TrustedKey {
  readonly fingerprint: string;
  readonly status: "trusted" | "revoked";
  readonly file: string;
}

/** `sha256:` and the hex SHA-256 of the key's SPKI bytes: the same whatever its PEM's line breaks. */
export function fingerprintOf(pem: string | Buffer): string {
  return `sha256:${createHash("sha256").update(keyBytes(publisherKey(pem))).digest("hex")}`;
}

/**
 * Changes to `$GHOSTD_HOME/trust` (trusted) and `trust/revoked`, as `ghostctl trust` makes them.
 * A key is stored as `<fingerprint hex>.pub`, written to a temporary name and renamed, so the
 * daemon reading the store at an import never sees half a key.
 */
export class TrustFiles {
  constructor(readonly root: string) {}

  add(pem: string | Buffer): TrustedKey {
    return this.store(this.root, pem, "trusted");
  }

  /** Revoked, and no longer trusted: revoked wins anyway, but the store should not say both. */
  revoke(pem: string | Buffer): TrustedKey {
    const revoked = this.store(join(this.root, "revoked"), pem, "revoked");
    this.removeFrom(this.root, revoked.fingerprint);
    return revoked;
  }

  /** Whether a trusted key was removed; found by its bytes, whatever its file is called. */
  remove(pem: string | Buffer): boolean {
    return this.removeFrom(this.root, fingerprintOf(pem)) > 0;
  }

  list(): TrustedKey[] {
    return [...this.keysIn(this.root, "trusted"), ...this.keysIn(join(this.root, "revoked"), "revoked")];
  }

  private store(dir: string, pem: string | Buffer, status: TrustedKey["status"]): TrustedKey {
    const fingerprint = fingerprintOf(pem);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${fingerprint.slice("sha256:".length)}.pub`);
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, pem, { mode: 0o644 });
    renameSync(temporary, file);
    return { fingerprint, status, file };
  }

  private removeFrom(dir: string, fingerprint: string): number {
    const matching = this.keysIn(dir, "trusted").filter((k) => k.fingerprint === fingerprint);
    for (const key of matching) rmSync(key.file, { force: true });
    return matching.length;
  }

  private keysIn(dir: string, status: TrustedKey["status"]): TrustedKey[] {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(".pub")).sort();
    } catch {
      return [];
    }
    return names.flatMap((name) => {
      const file = join(dir, name);
      try {
        return [{ fingerprint: fingerprintOf(readFileSync(file)), status, file }];
      } catch {
        return [];
      }
    });
  }
}

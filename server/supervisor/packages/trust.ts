import type { KeyObject } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MalformedKey, keyBytes, publisherKey, signatureHolds } from "./signature";

export type TrustStatus = "signed_trusted" | "signed_untrusted" | "unsigned" | "tampered";

/** What the trust store says of a key. */
export type Standing = "trusted" | "revoked" | "unknown";

/**
 * `$GHOSTD_HOME/trust/*.pub` (trusted) and `trust/revoked/*.pub` (revoked), read when asked, so
 * `ghostctl trust` takes effect at the next import. Keys compare by their SPKI bytes; a file
 * there that is not a key is passed over (it trusts nothing), and revoked wins over trusted.
 */
export class TrustStore {
  constructor(readonly root: string) {}

  standing(key: KeyObject): Standing {
    const bytes = keyBytes(key);
    if (keysIn(join(this.root, "revoked")).some((k) => k.equals(bytes))) return "revoked";
    if (keysIn(this.root).some((k) => k.equals(bytes))) return "trusted";
    return "unknown";
  }
}

function keysIn(dir: string): Buffer[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".pub"));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      return [keyBytes(publisherKey(readFileSync(join(dir, name))))];
    } catch {
      return [];
    }
  });
}

/** The two signature files as found in the package, if they were. */
export interface SignatureFiles {
  readonly publicKey: Buffer | undefined;
  readonly signature: string | undefined;
}

export interface Judgement {
  readonly status: TrustStatus;
  /** Why a signed package fails an import that verifies signatures: the key is revoked, or not a key. */
  readonly keyProblem?: string;
}

/**
 * The trust status of docs/vibeapp-format.md. Call only with both signature files or neither
 * (one without the other is INVALID_PACKAGE before this). A malformed key verifies nothing, so
 * its package is `tampered`; a revoked key's valid signature is `signed_untrusted`; both carry a
 * keyProblem for SIGNATURE_INVALID.
 */
export function judge(list: string, files: SignatureFiles, store: TrustStore): Judgement {
  if (files.publicKey === undefined || files.signature === undefined) return { status: "unsigned" };
  let key: KeyObject;
  try {
    key = publisherKey(files.publicKey);
  } catch (err) {
    if (err instanceof MalformedKey) return { status: "tampered", keyProblem: err.message };
    throw err;
  }
  if (!signatureHolds(key, list, files.signature)) return { status: "tampered" };
  const standing = store.standing(key);
  if (standing === "revoked") return { status: "signed_untrusted", keyProblem: "the publisher's key is revoked in the trust store" };
  return { status: standing === "trusted" ? "signed_trusted" : "signed_untrusted" };
}

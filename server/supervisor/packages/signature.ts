import { createPublicKey, verify, type KeyObject } from "node:crypto";

/** A public key file that is not an Ed25519 key in PEM (SPKI): SIGNATURE_INVALID. */
export class MalformedKey extends Error {}

/** The publisher's key from `signatures/publisher.pub`. */
export function publisherKey(pem: string | Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch (err) {
    throw new MalformedKey(`signatures/publisher.pub is not a PEM public key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new MalformedKey(`signatures/publisher.pub is a ${key.asymmetricKeyType ?? "unknown"} key, not Ed25519`);
  return key;
}

/** The key's SPKI DER bytes: what the trust store compares, whatever the PEM's line breaks. */
export function keyBytes(key: KeyObject): Buffer {
  return key.export({ type: "spki", format: "der" });
}

/** Whether `signature` (base64, one line, from `signatures/package.sig`) is the key's Ed25519 signature of the content list. */
export function signatureHolds(key: KeyObject, list: string, signature: string): boolean {
  const text = signature.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return false;
  const bytes = Buffer.from(text, "base64");
  if (bytes.length !== 64) return false;
  return verify(null, Buffer.from(list, "utf8"), key, bytes);
}

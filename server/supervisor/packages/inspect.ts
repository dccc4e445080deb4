import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DomainError } from "../../errors";
import { loadPlan, type LoadedPlan } from "../plan-loader";
import { supervisorError } from "../reasons";
import { contentList, packageDigest } from "./content-list";
import { PackageRefused, SIGNATURE_FILES } from "./entry-ledger";
import { DEFAULT_LIMITS, type PackageLimits } from "./entry-rules";
import { judge, type SignatureFiles, type TrustStatus, type TrustStore } from "./trust";
import { unpack } from "./unpack";

/** A package as its bytes and the trust store tell it, once every rule of the format held. */
export interface Inspection {
  readonly appId: string;
  readonly name: string;
  readonly version: string;
  readonly trustStatus: TrustStatus;
  /** Why an import that verifies signatures refuses it: the key is revoked, or not a key. */
  readonly keyProblem?: string;
  readonly digest: string;
  readonly capabilities: string[];
}

/** The manifest a package's root holds; the format names this one file. */
export const PACKAGE_MANIFEST = "vibe.yaml";

/**
 * Unpacks the package at `archivePath` into `staging` (an empty directory the caller owns and
 * removes on failure), then checks what only the whole package can tell: its manifest, with
 * EnsureProject's validator; its signature files; its content list from the bytes written; and
 * its trust status. Every broken rule is INVALID_PACKAGE naming the entry and the rule.
 */
export async function inspectPackage(archivePath: string, staging: string, trust: TrustStore, limits: PackageLimits = DEFAULT_LIMITS): Promise<Inspection> {
  requireFile(archivePath);
  let files;
  try {
    files = await unpack(archivePath, staging, limits);
  } catch (err) {
    throw err instanceof PackageRefused ? invalidPackage(err) : err;
  }
  const signatures = signatureFiles(staging, new Set(files.map((f) => f.path)));
  const { manifest, plan } = packageManifest(staging);
  const list = contentList(files);
  const judgement = judge(list, signatures, trust);
  return {
    appId: manifest.id,
    name: manifest.name,
    version: manifest.version,
    trustStatus: judgement.status,
    ...(judgement.keyProblem === undefined ? {} : { keyProblem: judgement.keyProblem }),
    digest: packageDigest(list),
    capabilities: capabilitiesOf({ manifest, plan }),
  };
}

/**
 * What the app asks of whoever runs it, as the import reports it: `network`, `host-file-import`,
 * `secret:<NAME>` for each secret and `port:<service>/<port>` (`/udp` for UDP) for each port it
 * exposes on the host.
 */
export function capabilitiesOf({ manifest, plan }: LoadedPlan): string[] {
  const capabilities: string[] = [];
  if (manifest.security.network) capabilities.push("network");
  if (manifest.security.allowHostFileImport) capabilities.push("host-file-import");
  for (const secret of plan.secrets) capabilities.push(`secret:${secret.name}`);
  for (const service of plan.services) {
    for (const port of service.ports) {
      if (port.exposure === "auto") capabilities.push(`port:${service.name}/${port.containerPort}${port.protocol === "udp" ? "/udp" : ""}`);
    }
  }
  return capabilities;
}

function requireFile(path: string): void {
  let stats;
  try {
    stats = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw supervisorError("PATH_NOT_FOUND", `no package at ${path}`);
    throw err;
  }
  if (!stats.isFile()) throw supervisorError("INVALID_PACKAGE", `${path} is not a file: a package is one .vibeapp file`, { rule: "a package is a gzip-compressed tar archive" });
}

function invalidPackage(refused: PackageRefused): DomainError {
  const metadata: Record<string, string> = { rule: refused.rule };
  if (refused.entry !== undefined) metadata.entry = refused.entry;
  return supervisorError("INVALID_PACKAGE", `invalid package: ${refused.message}`, metadata);
}

/** Both signature files, or neither: one without the other is a package no one can judge. */
function signatureFiles(staging: string, paths: ReadonlySet<string>): SignatureFiles {
  const hasKey = paths.has(SIGNATURE_FILES.publicKey);
  const hasSignature = paths.has(SIGNATURE_FILES.signature);
  if (hasKey !== hasSignature) {
    const [present, missing] = hasKey ? [SIGNATURE_FILES.publicKey, SIGNATURE_FILES.signature] : [SIGNATURE_FILES.signature, SIGNATURE_FILES.publicKey];
    throw invalidPackage(new PackageRefused(present, `a signed package holds both signature files: ${missing} is missing`));
  }
  if (!hasKey) return { publicKey: undefined, signature: undefined };
  return { publicKey: readFileSync(join(staging, SIGNATURE_FILES.publicKey)), signature: readFileSync(join(staging, SIGNATURE_FILES.signature), "latin1") };
}

/** The root's vibe.yaml, checked as EnsureProject checks it, against the unpacked package. */
function packageManifest(staging: string): LoadedPlan {
  const path = join(staging, PACKAGE_MANIFEST);
  if (!existsSync(path)) throw invalidPackage(new PackageRefused(PACKAGE_MANIFEST, "the package's root holds vibe.yaml: it is missing"));
  try {
    return loadPlan(readFileSync(path, "utf8"), staging);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    throw supervisorError("INVALID_PACKAGE", `invalid package: ${PACKAGE_MANIFEST}: ${err.message}`, { entry: PACKAGE_MANIFEST, rule: "vibe.yaml passes the manifest's validation", cause: err.reason });
  }
}

import { TrustStatus, type ImportPackageResponse } from "../../generated/ghostd/supervisor/v1/supervisor";
import type { ImportedPackage } from "./packages/library";
import type { TrustStatus as TrustStatusName } from "./packages/trust";

/* ImportPackage's words in seed 002's contract, beside contract.ts for the lifecycle's. */

const TRUST_STATUSES: Readonly<Record<TrustStatusName, TrustStatus>> = {
  signed_trusted: TrustStatus.TRUST_STATUS_SIGNED_TRUSTED,
  signed_untrusted: TrustStatus.TRUST_STATUS_SIGNED_UNTRUSTED,
  unsigned: TrustStatus.TRUST_STATUS_UNSIGNED,
  tampered: TrustStatus.TRUST_STATUS_TAMPERED,
};

export function importPackageResponse(imported: ImportedPackage): ImportPackageResponse {
  const { appId, name, version, packagePath, capabilities, digest } = imported;
  return { appId, name, version, trustStatus: TRUST_STATUSES[imported.trustStatus], packagePath, capabilities: [...capabilities], digest };
}

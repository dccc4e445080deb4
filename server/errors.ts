import { Code } from "../generated/google/rpc/code";

export { Code };

/**
 * A failure a domain module reports: a canonical code (google.rpc.Code, the error space shared by
 * gRPC and HTTP mappings), the machine reason clients branch on (the seeds' codes), and a message
 * for people. Domain modules raise these and know nothing of how they travel.
 */
export class DomainError extends Error {
  constructor(
    readonly code: Code,
    readonly reason: string,
    message: string,
    readonly metadata: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

/**
 * A service's reasons, each with the code it travels under, as one table; the factory it returns
 * only accepts reasons from the table.
 */
export function reasons<const T extends Record<string, Code>>(table: T) {
  return Object.assign(
    (reason: keyof T & string, message: string, metadata?: Record<string, string>): DomainError =>
      new DomainError(table[reason] as Code, reason, message, metadata),
    { table },
  );
}

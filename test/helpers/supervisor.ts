import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { GetProjectLogsRequest, SupervisorClient, type LogEntry } from "../../generated/ghostd/supervisor/v1/supervisor";
import { ErrorInfo } from "../../generated/google/rpc/error_details";
import { Status } from "../../generated/google/rpc/status";
import { reasonOf } from "../../gateway/transcoder/errors";
import { processStart } from "../../server/proc";

export function supervisorClient(target: string): SupervisorClient {
  return new SupervisorClient(target, credentials.createInsecure());
}

/** A unary call as a promise: `unary((cb) => client.openProject(request, cb))`. */
export function unary<Res>(invoke: (callback: (err: ServiceError | null, response: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, response) => (err ? reject(err) : resolve(response))));
}

/** Asserts the call fails with this gRPC code and ErrorInfo reason; returns the error for more checks. */
export async function failsWith(promise: Promise<unknown>, code: number, reason: string, message?: RegExp): Promise<ServiceError> {
  const err = await promise.then(
    () => assert.fail(`expected ${reason}, and the call succeeded`),
    (e: unknown) => e as ServiceError,
  );
  assert.equal(reasonOf(err), reason, err.details);
  assert.equal(err.code, code, `${reason}: ${err.details}`);
  if (message) assert.match(err.details, message);
  return err;
}

/** The metadata of a failed call's google.rpc.ErrorInfo: the machine-readable detail beside its reason. */
export function errorMetadataOf(err: ServiceError): Record<string, string> {
  const metadata: unknown = err.metadata;
  const [details] = metadata instanceof Metadata ? metadata.get("grpc-status-details-bin") : [];
  assert.ok(Buffer.isBuffer(details), "the error carries status details");
  const info = Status.decode(details).details.find((d) => d.typeUrl === "type.googleapis.com/google.rpc.ErrorInfo");
  assert.ok(info, "the status details hold an ErrorInfo");
  return ErrorInfo.decode(info.value).metadata;
}

/** Writes a package directory: file name to content; `.sh` files are made executable. */
export function writePackage(dir: string, files: Record<string, string>): string {
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content, { mode: name.endsWith(".sh") ? 0o755 : 0o644 });
  }
  return dir;
}

/** A compose-mode manifest for a package whose services are in compose.yaml. */
export function composeManifest(id: string, volumes: readonly string[] = [], extra = ""): string {
  const declared = volumes.map((v) => `\n    - {name: ${v}, consistency: generic}`).join("");
  return `kind: vibe.app/v1\nid: ${id}\nname: Test ${id}\nversion: 1.0.0\nruntime: {mode: compose}\nstate:\n  volumes:${declared || " []"}\n${extra}`;
}

/** The tail of a project's logs over gRPC (no follow): every entry the stream sends. */
export function tailLogs(client: SupervisorClient, request: Partial<GetProjectLogsRequest>): Promise<LogEntry[]> {
  return new Promise((resolve, reject) => {
    const entries: LogEntry[] = [];
    const stream = client.getProjectLogs(GetProjectLogsRequest.fromPartial({ ...request, follow: false }));
    stream.on("data", (message: { entries: LogEntry[] }) => entries.push(...message.entries));
    stream.on("error", reject);
    stream.on("end", () => resolve(entries));
  });
}

/**
 * Follows a project's logs over gRPC until `until` holds for what arrived, then cancels the
 * stream. `during` runs once the tail has come (so the request must have some); a stream error
 * fails at once.
 */
export async function followLogs(client: SupervisorClient, request: Partial<GetProjectLogsRequest>, until: (entries: LogEntry[]) => boolean, during: () => Promise<void> = () => Promise.resolve()): Promise<LogEntry[]> {
  const stream = client.getProjectLogs(GetProjectLogsRequest.fromPartial({ ...request, follow: true }));
  const entries: LogEntry[] = [];
  let arrived: () => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    stream.on("error", (err: ServiceError) => {
      if (err.code !== status.CANCELLED) reject(err);
    });
    stream.on("end", () => reject(new Error("the log stream ended")));
  });
  failed.catch(() => undefined);
  stream.on("data", (message: { entries: LogEntry[] }) => {
    entries.push(...message.entries);
    arrived();
  });
  /** Resolves when `check` holds, checked on each message; fails with the stream or after 15 s. */
  const when = (what: string, check: () => boolean): Promise<void> =>
    Promise.race([
      failed,
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got: ${entries.map((e) => e.line).join(" | ")}`)), 15_000);
        arrived = () => {
          if (check()) {
            clearTimeout(timer);
            resolve();
          }
        };
        arrived();
      }),
    ]);
  try {
    // The tail comes first: once it is here, the server follows, and what `during` causes shows.
    await when("the first log lines", () => entries.length > 0);
    await during();
    await when("the log lines", () => until(entries));
    return entries;
  } finally {
    stream.cancel();
  }
}

/** Whether a process is still there (a zombie, exited and waiting to be reaped, is not). */
export function alive(pid: number): boolean {
  return processStart(pid) !== 0;
}

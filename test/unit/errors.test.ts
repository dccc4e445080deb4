import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import pino from "pino";
import { fromCallError, reasonOf } from "../../gateway/transcoder/errors";
import { agentError } from "../../server/agent/reasons";
import { Code, DomainError } from "../../server/errors";
import { toServiceError } from "../../server/rpc/errors";
import { supervisorError } from "../../server/supervisor/reasons";
import { terminalError } from "../../server/terminal/reasons";

// Seed 002's codes, method by method, and seed 001's error table: each must be a reason.
const SEED_002 = [
  "INVALID_MANIFEST", "PATH_NOT_FOUND", "CONFLICT", "NOT_FOUND", "IMAGE_PULL_FAILED", "ALREADY_OPEN", "NOT_OPEN", "ALREADY_RUNNING",
  "START_FAILED", "MISSING_SECRET", "NOT_RUNNING", "STILL_RUNNING", "SAVE_IN_PROGRESS", "SAVE_FAILED", "SNAPSHOT_MISMATCH",
  "RESTORE_FAILED", "DUPLICATE_FAILED", "INVALID_PACKAGE", "SIGNATURE_INVALID", "TAMPERED", "PORT_CONFLICT",
];
const SEED_001: Record<string, number> = {
  invalid_json: 400, missing_field: 400, invalid_uuid: 400, terminal_not_found: 404, no_focused_terminal: 404,
  invalid_location: 400, invalid_action: 400, action_failed: 400, permission_denied: 403,
};

const logger = pino({ level: "silent" });
const roundTrip = (err: unknown): ServiceError => toServiceError(err, logger, "/x/Y") as ServiceError;

describe("error model", () => {
  it("has every seed 002 code as a supervisor reason, INVALID_ARGUMENT for malformed requests and READER_TOO_SLOW for a stalled log follower", () => {
    assert.deepEqual(Object.keys(supervisorError.table).sort(), [...SEED_002, "INVALID_ARGUMENT", "READER_TOO_SLOW"].sort());
    assert.equal(supervisorError.table.READER_TOO_SLOW, Code.RESOURCE_EXHAUSTED);
    assert.equal(supervisorError.table.INVALID_ARGUMENT, Code.INVALID_ARGUMENT);
    assert.equal(supervisorError.table.NOT_FOUND, Code.NOT_FOUND);
    assert.equal(supervisorError.table.INVALID_MANIFEST, Code.INVALID_ARGUMENT);
    assert.equal(supervisorError.table.CONFLICT, Code.ALREADY_EXISTS);
  });

  it("has every seed 001 code as a terminal reason, with the seed's HTTP status", () => {
    for (const code of Object.keys(SEED_001)) assert.ok(code in terminalError.table, code);
    for (const [reason, status] of Object.entries(SEED_001)) {
      const failure = fromCallError(roundTrip(terminalError(reason as keyof typeof terminalError.table, "m")), {});
      assert.equal(failure.status, status, reason);
      assert.equal(failure.reason, reason);
    }
  });

  it("carries code, reason and message through grpc-status-details-bin", () => {
    const err = roundTrip(supervisorError("ALREADY_RUNNING", "project p1 is already running", { project_id: "p1" }));
    assert.equal(err.code, GrpcStatus.FAILED_PRECONDITION);
    assert.equal(err.details, "project p1 is already running");
    assert.equal(reasonOf(err), "ALREADY_RUNNING");
    const http = fromCallError(err, {});
    assert.deepEqual([http.status, http.reason, http.message], [400, "ALREADY_RUNNING", "project p1 is already running"]);
  });

  it("hides what a non-domain failure says", () => {
    const err = roundTrip(new Error("secret path /home/x leaked"));
    assert.equal(err.code, GrpcStatus.INTERNAL);
    assert.equal(err.details, "internal error");
    assert.equal(reasonOf(err), "internal");
  });

  it("lets a surface choose the status of a reason", () => {
    const err = roundTrip(agentError("exec_timeout", "killed after 1s"));
    assert.equal(fromCallError(err, {}).status, 504);
    assert.equal(fromCallError(err, { exec_timeout: 408 }).status, 408);
  });

  it("falls back to the code's name when there is no ErrorInfo", () => {
    const bare = { code: GrpcStatus.UNAVAILABLE, details: "connect failed", message: "", name: "" } as unknown as ServiceError;
    assert.deepEqual([fromCallError(bare, {}).status, fromCallError(bare, {}).reason], [503, "unavailable"]);
    assert.ok(new DomainError(Code.NOT_FOUND, "x", "y") instanceof Error);
  });

  it("sends a message cut inside an emoji, or quoting a lone surrogate, as text grpc-js can put in a trailer", () => {
    for (const quoted of ["😀".repeat(1000), "a\ud800b", "\udfff".repeat(2000)]) {
      const err = roundTrip(new DomainError(Code.INVALID_ARGUMENT, "invalid_argument", `"${quoted}" is not valid`));
      // grpc-js sends grpc-message through encodeURI, which throws on a lone surrogate: the call was never answered.
      assert.doesNotThrow(() => encodeURI(err.details), quoted.slice(0, 10));
      assert.ok(err.details.length < 1100);
    }
    assert.match(roundTrip(new DomainError(Code.INVALID_ARGUMENT, "invalid_argument", "😀".repeat(1000))).details, /^(😀)+… \(\d+ more characters\)$/u);
  });
});

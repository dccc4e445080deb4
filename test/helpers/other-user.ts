import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { program, requireTools } from "./tools";

const execFileAsync = promisify(execFile);

/** The system user the security tests run clients (and a daemon) as. */
export const TEST_USER = "ghostd-sec-test";

export interface OtherUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/**
 * A user other than the one running the tests, made when missing. Making one and running a
 * process as it needs root: elsewhere the test skips itself. A root machine without useradd
 * skips, or in CI fails, naming the package that provides it.
 */
export async function otherUser(context: Mocha.Context): Promise<OtherUser> {
  if (process.getuid?.() !== 0) {
    console.log("      skipped: running a client as another user needs root");
    context.skip();
  }
  let found = await lookup();
  if (!found) {
    requireTools(context, [program("useradd", "passwd")]);
    // Two test files may race to make it: the loser finds it made.
    await execFileAsync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER]).catch(() => undefined);
    found = await lookup();
  }
  if (!found) throw new Error(`could not make the user ${TEST_USER}`);
  return found;
}

async function lookup(): Promise<OtherUser | undefined> {
  try {
    const uid = Number((await execFileAsync("id", ["-u", TEST_USER])).stdout.trim());
    const gid = Number((await execFileAsync("id", ["-g", TEST_USER])).stdout.trim());
    return { name: TEST_USER, uid, gid };
  } catch {
    return undefined;
  }
}

/** Runs a program as `user` and gives its standard output; a failing exit is not an error here. */
export async function runAs(user: OtherUser, file: string, args: readonly string[]): Promise<string> {
  const options = { uid: user.uid, gid: user.gid, cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/" }, timeout: 20_000 };
  try {
    return (await execFileAsync(file, [...args], options)).stdout;
  } catch (err) {
    const failed = err as { stdout?: string; stderr?: string; code?: unknown };
    if (typeof failed.stdout === "string" && failed.stdout !== "") return failed.stdout;
    throw new Error(`${file} ${args.join(" ")} as ${user.name} failed (${String(failed.code)}): ${failed.stderr ?? ""}`, { cause: err });
  }
}

/**
 * A gRPC call made with Node's own http2 (no package a foreign user may not read): prints
 * `{"status": <grpc-status>, "message": ...}`, or `{"error": <code>}` when it cannot connect.
 * An empty request message is all Health/Check and Health/Watch need.
 */
const GRPC_CALL = `
const http2 = require("node:http2");
const [target, path] = process.argv.slice(1);
const done = (result) => { console.log(JSON.stringify(result)); process.exit(0); };
const session = http2.connect("http://" + target);
session.on("error", (err) => done({ error: err.code }));
const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
let status;
let message;
const take = (headers) => {
  if (headers["grpc-status"] !== undefined) { status = Number(headers["grpc-status"]); message = decodeURIComponent(headers["grpc-message"] ?? ""); }
};
req.on("response", take);
req.on("trailers", take);
req.on("data", () => undefined);
req.on("close", () => done(status === undefined ? { error: "no status" } : { status, message }));
req.on("error", () => undefined);
req.end(Buffer.alloc(5));
`;

export async function grpcCallAs(user: OtherUser, target: string, path: string): Promise<{ status?: number; message?: string; error?: string }> {
  return JSON.parse(await runAs(user, process.execPath, ["-e", GRPC_CALL, target, path])) as { status?: number; message?: string; error?: string };
}

/** What connecting to a Unix socket as `user` gives: "connected", or the error code (EACCES). */
const UNIX_CONNECT = `
const socket = require("node:net").connect(process.argv[1]);
socket.on("connect", () => { console.log("connected"); socket.destroy(); });
socket.on("error", (err) => console.log(err.code));
`;

export async function unixConnectAs(user: OtherUser, path: string): Promise<string> {
  return (await runAs(user, process.execPath, ["-e", UNIX_CONNECT, path])).trim();
}
